"""Gather everything a report shows: the results as their JSON documents and the maps.

The report renderers (HTML, Markdown) read only a ``Report``, so that both show the same
figures, and those figures are the ones ``--json`` gives.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cjm.engine.protocol import Log
from cjm.journeys import GOAL_SHARE, JourneyMap
from cjm.mapgraph import CONFIGURED, EdgeBudget, MapGraph
from cjm.progress import step
from cjm.render import graphviz
from cjm.safety import safe_name

MERMAID_STAGES = 15  # the Markdown diagram is simplified to stay legible on a hosting page
MERMAID_EDGES = 30


@dataclass
class ReportOptions:
    """What goes into a report, beyond the journey map: the flags of ``cjm report``."""

    title: str | None = None
    goals: Sequence[str] = ()
    use_outcome: bool | None = None
    goal_share: float = GOAL_SHARE
    still_active: float | None = None
    handoff_column: str | None = None
    where: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None
    top_values: int | None = None
    period: str | None = None
    funnel: Sequence[str | Sequence[str]] = ()  # steps: a stage, or stages any of which counts
    within: float | None = None
    funnel_order: str = "strict"
    attribution: str | None = None  # "stage" or "channel": add the attribution section
    compare_by: str | None = None
    compare_period: str | None = None
    compare_values: list[str] | None = None
    design: str | None = None
    timing: bool = False  # a time-to-goal section (cjm timing), per slice with --by/--period
    step_matrix: int | None = None  # a step-matrix section (cjm steps) of this many steps
    personas: str | None = None  # a personas section (cjm personas): "auto" or a number
    interactive: bool = False  # the explorer (cjm explore) as an HTML report's last section
    stages: float | None = None
    paths: float | None = None
    min_count: int = 1
    max_edges: EdgeBudget = CONFIGURED  # of the log's cjm.toml, else 80
    top: int = 10
    view: str = "both"


@dataclass
class Figure:
    """A map of the report: the full graph for the drawing, a smaller one for Mermaid."""

    title: str
    graph: MapGraph
    small: MapGraph
    view: str = "both"
    budget: graphviz.Budget | None = None  # the report's, shared by all its figures

    def dot(self) -> str:
        from cjm.render.dot import to_dot

        return to_dot(self.graph, view=self.view, title=self.title)

    @functools.cached_property
    def svg(self) -> str:
        return self.draw("svg").decode("utf-8")

    def draw(self, fmt: str) -> bytes:
        """The drawing, within the time left to the report's maps."""
        return graphviz.render(self.dot(), fmt, budget=self.budget)

    def mermaid(self) -> str:
        from cjm.render.mermaid import to_mermaid

        return to_mermaid(self.small, view=self.view)


@dataclass
class Slice:
    label: str
    journey: dict[str, Any]
    figure: Figure
    journey_map: JourneyMap


@dataclass
class Report:
    """One report: the journey map of the log, and the sections that were asked for."""

    title: str
    options: ReportOptions
    journey: dict[str, Any]  # cjm.journey/1
    journey_map: JourneyMap
    figure: Figure
    warnings: list[str] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    slice_by: str | None = None
    funnel: dict[str, Any] | None = None  # cjm.funnel/1
    attribution: dict[str, Any] | None = None  # cjm.attribution/1
    comparison: dict[str, Any] | None = None  # cjm.compare/1
    comparison_figure: Figure | None = None
    check: dict[str, Any] | None = None  # cjm.check/1
    check_figure: Figure | None = None
    timing: dict[str, Any] | None = None  # cjm.timing/1
    step_matrix: dict[str, Any] | None = None  # cjm.steps/1
    personas: dict[str, Any] | None = None  # cjm.personas/1
    explorer: str | None = None  # the explorer's page (cjm.explore), with interactive

    @property
    def figures(self) -> list[tuple[str, Figure]]:
        """Every map, with a name for its asset file."""
        named = [("map", self.figure)]
        used: set[str] = set()
        named += [(f"slice-{safe_name(s.label.split(' = ', 1)[-1], used)}", s.figure)
                  for s in self.slices]
        if self.comparison_figure:
            named.append(("comparison", self.comparison_figure))
        if self.check_figure:
            named.append(("check", self.check_figure))
        return named


def build_report(log: Log, options: ReportOptions | None = None) -> Report:
    """Compute every section of a report on ``log``."""
    from cjm.journeys import discover
    from cjm.mapgraph import build_map
    from cjm.render.json_out import journey_json
    from cjm.segments import between, where_all

    options = options or ReportOptions()
    chosen = where_all(log, list(options.where))
    whole = between(chosen, options.since, options.until)
    if whole is not chosen and chosen.label:  # "segment = vip, 2024-07-01 to 2024-10-01"
        whole.label = f"{chosen.label}, {whole.label}"
    jm = discover(whole, goals=options.goals, use_outcome=options.use_outcome,
                  goal_share=options.goal_share, still_active=options.still_active,
                  handoff_column=options.handoff_column)
    simplify = {"stages": options.stages, "paths": options.paths,
                "min_count": options.min_count, "max_edges": options.max_edges}
    graph = build_map(jm, log=whole, **simplify)
    title = options.title or ", ".join(Path(f.path).name for f in log.files)
    if whole.label:
        title += f" ({whole.label})"
    report = Report(title=title, options=options, journey=journey_json(jm, graph),
                    journey_map=jm, figure=_figure(jm, whole, graph, title, options.view),
                    warnings=_warnings(whole, jm))
    if options.by or options.period:
        report.slice_by = options.by or options.period
        report.slices = _slices(jm, whole, options, simplify, title)
    if options.funnel:
        report.funnel = _funnel(whole, options)
    if options.attribution:
        report.attribution = _attribution(whole, jm, options.attribution)
    if options.compare_by or options.compare_period:
        report.comparison, report.comparison_figure = _comparison(jm, whole, options)
    if options.design:
        report.check, report.check_figure = _check(whole, options, simplify, title)
    if options.timing and jm.goals.source != "none":  # the section says why it is empty
        report.timing = _timing(jm, whole, options)
    if options.step_matrix:
        report.step_matrix = _step_matrix(jm, whole, options.step_matrix)
    if options.personas:
        report.personas = _personas(jm, whole, options.personas)
    if options.interactive:
        report.explorer = _explorer(whole, options, title)
    budget = graphviz.Budget(graphviz.REPORT_SECONDS)
    for _, figure in report.figures:
        figure.budget = budget
    return report


def _figure(jm: JourneyMap, log: Log, graph: MapGraph, title: str, view: str) -> Figure:
    from cjm.mapgraph import build_map

    small = build_map(jm, max_stages=MERMAID_STAGES, max_edges=MERMAID_EDGES, log=log)
    return Figure(title, graph, small, view)


def _trimmed(graph: MapGraph, title: str, view: str) -> Figure:
    from cjm.mapgraph import trim

    return Figure(title, graph, trim(graph, MERMAID_STAGES, MERMAID_EDGES), view)


def _warnings(log: Log, jm: JourneyMap) -> list[str]:
    lines = [f"Note: {note}" for note in (*log.notes, *jm.notes)]
    for warning in log.warnings:
        example = f" (e.g. {', '.join(warning.examples[:2])})" if warning.examples else ""
        lines.append(f"Warning: {warning.message}{example}")
    return lines


def _slices(jm: JourneyMap, log: Log, options: ReportOptions, simplify: dict,
            title: str) -> list[Slice]:
    """Each segment or period, discovered as the whole was, so that the rates compare."""
    from cjm.mapgraph import build_map
    from cjm.render.json_out import journey_json
    from cjm.segments import by_period, by_segment, discover_part

    parts = (by_segment(log, options.by, top=options.top_values) if options.by
             else by_period(log, options.period))
    slices = []
    for part in parts:
        with step(f"Slice {part.label}"):
            result = discover_part(part, jm)
            graph = build_map(result, log=part, **simplify)
            slices.append(Slice(part.label, journey_json(result, graph),
                                _figure(result, part, graph, f"{title}: {part.label}",
                                        options.view),
                                result))
    return slices


def _funnel(log: Log, options: ReportOptions) -> dict[str, Any]:
    from cjm.funnel import funnel
    from cjm.render.json_out import funnel_json

    with step("Funnel"):
        result = funnel(log, list(options.funnel), within=options.within,
                        order=options.funnel_order)
        return funnel_json(result, log)


def _attribution(log: Log, jm: JourneyMap, by: str) -> dict[str, Any]:
    from cjm.attribution import attribution
    from cjm.render.json_out import attribution_json

    with step("Attribution"):
        # The report's goals, as its overview names them (none: the outcome column decides).
        result = attribution(log, by_channel=by == "channel", goals=jm.goals.stages)
        return attribution_json(result, log)


def _timing(jm: JourneyMap, log: Log, options: ReportOptions) -> dict[str, Any]:
    """The time to the report's goals, per slice when the report has slices."""
    from cjm.render.json_out import timing_json
    from cjm.timing import timing

    with step("Time to goal"):
        outcome = jm.goals.source == "outcome"
        result = timing(log, goals=None if outcome else jm.goals.stages, use_outcome=outcome,
                        still_active=jm.still_active_seconds, by=options.by,
                        period=options.period, top_values=options.top_values)
        return timing_json(result, log)


def _explorer(whole: Log, options: ReportOptions, title: str) -> str:
    """The explorer of the report's journeys, with its goals, slices and design."""
    from cjm.design import load_design
    from cjm.explore import explore

    return explore(whole, by=options.by, period=options.period, top_values=options.top_values,
                   goals=options.goals or None, handoff_column=options.handoff_column,
                   design=load_design(options.design) if options.design else None,
                   title=title)


def _step_matrix(jm: JourneyMap, log: Log, steps: int) -> dict[str, Any]:
    """The step matrix, with the report's goals."""
    from cjm.render.json_out import steps_json
    from cjm.steps import step_matrix

    with step("Step matrix"):
        outcome = jm.goals.source == "outcome"
        result = step_matrix(log, steps=steps, goals=jm.goals.stages, use_outcome=outcome,
                             infer_goals=False, still_active=jm.still_active_seconds)
        return steps_json(result, log)


def _personas(jm: JourneyMap, log: Log, k: str) -> dict[str, Any]:
    """The personas, with the report's goals."""
    from cjm.personas import parse_k, personas
    from cjm.render.json_out import personas_json

    with step("Personas"):
        outcome = jm.goals.source == "outcome"
        result = personas(log, k=parse_k(k), goals=jm.goals.stages, use_outcome=outcome,
                          infer_goals=False, still_active=jm.still_active_seconds)
        return personas_json(result, log)


def _comparison(jm: JourneyMap, log: Log, options: ReportOptions):
    from cjm.compare import compare, compare_map
    from cjm.render.json_out import compare_json
    from cjm.segments import discover_part, sides

    with step("Comparison"):
        a_log, b_log = sides(log, options.compare_by, options.compare_period,
                             options.compare_values)
        a, b = discover_part(a_log, jm), discover_part(b_log, jm)
        result = compare(a, b, a_log.label or "A", b_log.label or "B")
        graph = compare_map(result, stages=options.stages, paths=options.paths,
                            max_edges=options.max_edges)
        title = f"{result.label_a} → {result.label_b}"
        return compare_json(result), _trimmed(graph, title, "frequency")


def _check(log: Log, options: ReportOptions, simplify: dict, title: str):
    from cjm.conformance import check, check_map
    from cjm.design import load_design
    from cjm.journeys import discover
    from cjm.render.json_out import check_json

    designed = load_design(options.design)
    jm = discover(log, goals=sorted(designed.goals), use_outcome=False, infer_goals=False)
    result = check(jm, designed, log=log)
    graph = check_map(result, log=log, **simplify)
    return (check_json(result, graph),
            _trimmed(graph, f"{title} against {designed.name}", options.view))
