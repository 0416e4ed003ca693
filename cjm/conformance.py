"""Designed versus actual journeys: deviations per journey, fitness and precision.

Deviations are found once per distinct path (and per slow transition for service levels),
then weighted by the journeys that took the path. Fitness and precision come from pm4py's
token-based replay of the design's Petri net, once per distinct prefix of the paths.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

from cjm.design import Design
from cjm.engine.protocol import Log
from cjm.errors import UsageError, did_you_mean
from cjm.journeys import JourneyMap
from cjm.mapgraph import END, START, MapEdge, MapGraph, MapNode, build_map
from cjm.privacy import kept, suppress, whole
from cjm.progress import step

KINDS = {
    "skipped": "required stage skipped",
    "not_in_design": "stage not in the design",
    "not_allowed": "transition not allowed",
    "repeated": "stage repeated",
    "slow": "service level breached",
    "ended_early": "journey ended before a goal",
    "not_fit": "path does not fit the model (token replay)",
}
EXACT_KINDS = {
    "log": "stage the design does not take there (alignment)",
    "model": "stage of the design skipped (alignment)",
}
ENTRY = "●"  # how a wrong first stage shows in a transition: ● → stage


@dataclass(frozen=True)
class Deviation:
    kind: str  # a key of KINDS
    detail: str  # the stage, or "a → b"
    journeys: int
    examples: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{KINDS[self.kind]}: {self.detail}"


@dataclass
class CheckResult:
    """How the actual journeys compare with the design."""

    design: Design
    journey_map: JourneyMap
    journeys: int
    conforming: int
    fitness: float
    precision: float | None
    deviations: list[Deviation]
    unused_stages: list[str]  # in the design, never in the log
    missing_stages: list[tuple[str, int]]  # in the log (with events), not in the design
    unused_transitions: list[tuple[str, str]]  # designed, never taken
    exact_fitness: float | None = None
    exact_paths: int | None = None
    exact_deviations: list[Deviation] = field(default_factory=list)  # kinds of EXACT_KINDS
    notes: list[str] = field(default_factory=list)
    # What each path breaks, and the journeys breaching a service level: per-journey verdicts.
    path_deviations: dict[tuple[str, ...], set[tuple[str, str]]] = field(default_factory=dict)
    slow_journeys: dict[str, set[str]] = field(default_factory=dict)

    def journey_verdicts(self, log: Log) -> Iterator[tuple[str, bool, list[str]]]:
        """(journey, conforms, deviation labels) for every journey of ``log`` (the log that
        was checked), in journey id order."""
        engine = log.engine("_verdicts")
        engine.prepare(None, None)
        for journey, path in engine.journey_paths():
            found = sorted(f"{KINDS[kind]}: {detail}"
                           for kind, detail in self.path_deviations[path])
            found += sorted(f"{KINDS['slow']}: {d}" for d in self.slow_journeys.get(journey, ()))
            yield journey, not found, found

    def write_journeys(self, path: str | Path, log: Log) -> int:
        """Write the verdict of every journey of ``log`` (the log that was checked) as CSV
        (journey, conforms, deviations)."""
        import csv

        if self.journey_map.log.min_journeys > 1:
            raise UsageError("--journeys writes one row per journey, which --min-journeys "
                             "forbids", "Leave out --journeys, or --min-journeys.")
        from cjm.safety import atomic_writer, neutralise_formula

        rows = 0
        with atomic_writer(Path(path), newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["journey", "conforms", "deviations"])
            for journey, conforms, found in self.journey_verdicts(log):
                writer.writerow([neutralise_formula(journey), "true" if conforms else "false",
                                 neutralise_formula("; ".join(found))])
                rows += 1
        return rows

    @property
    def conformance_rate(self) -> float:
        return self.conforming / self.journeys if self.journeys else 1.0

    @property
    def deviation_rate(self) -> float:
        return 1 - self.conformance_rate


def path_deviations(stages: tuple[str, ...], design: Design) -> set[tuple[str, str]]:
    """Every (kind, detail) by which one path departs from the design (service levels aside)."""
    found: set[tuple[str, str]] = set()
    known = design.stages
    for stage in stages:
        if stage not in known:
            found.add(("not_in_design", stage))
    seen: dict[str, int] = defaultdict(int)
    for stage in stages:
        seen[stage] += 1
        if stage in known and seen[stage] == 2 and not design.may_repeat(stage):
            found.add(("repeated", stage))
    designed = [s for s in stages if s in known]
    if designed and designed[0] not in design.starts:
        found.add(("not_allowed", f"{ENTRY} → {designed[0]}"))
    for a, b in pairwise(designed):
        if (a, b) not in design.allowed and not (a == b and known[a].repeatable):
            found.add(("not_allowed", f"{a} → {b}"))
    found |= _skipped(designed, design)
    if design.ends is None:
        if not design.goals & set(stages):
            found.add(("ended_early", stages[-1]))
    elif stages[-1] not in design.ends:
        found.add(("ended_early", stages[-1]))
    return found


def _skipped(designed: list[str], design: Design) -> set[tuple[str, str]]:
    """Required stages a journey went past without visiting."""
    required = [s for s, rule in design.stages.items() if rule.required]
    visited = set(designed)
    if design.order is not None:
        furthest = max((design.order[s] for s in designed), default=-1)
        return {("skipped", s) for s in required
                if s not in visited and design.order[s] < furthest}
    if design.goals & visited:  # no order: a journey that reached a goal must have seen all
        return {("skipped", s) for s in required if s not in visited}
    return set()


def check(journey_map: JourneyMap, design: Design, *, log: Log, exact: bool = False,
          max_paths: int = 1000) -> CheckResult:
    """Compare the journeys of ``journey_map`` (discovered from ``log``) with ``design``.

    ``exact`` adds the fitness of optimal alignments for the ``max_paths`` most frequent paths
    (slower). Every journey is checked; with ``read_log(min_journeys=K)``, the result's
    ``journey_map`` leaves out what fewer than K journeys share (see cjm.privacy).
    """
    from cjm.model import align, precision, replay

    visible, journey_map = suppress(journey_map), whole(journey_map)
    engine = log.engine("_check")
    engine.prepare(None, None)  # example journeys, waits and paths by journey come from here
    examples = engine.path_examples()
    per_path = {p.stages: path_deviations(p.stages, design) for p in journey_map.paths}
    affected: dict[tuple[str, str], int] = defaultdict(int)
    shown: dict[tuple[str, str], list[str]] = defaultdict(list)
    conforming = 0
    for p in journey_map.paths:
        for key in per_path[p.stages]:
            affected[key] += p.journeys
            shown[key].extend(examples[p.stages])
        if not per_path[p.stages]:
            conforming += p.journeys
    slow: dict[tuple[str, str], set[str]] = defaultdict(set)
    slow_journeys: dict[str, set[str]] = defaultdict(set)
    for wait in engine.slow_transitions(design.service_levels):
        slow[("slow", f"{wait.source} → {wait.target}")].add(wait.journey)
        slow_journeys[wait.journey].add(f"{wait.source} → {wait.target}")
    breached = set().union(*slow.values()) if slow else set()
    path_of: dict[str, tuple[str, ...]] = {}
    if breached:
        path_of = dict(engine.journey_paths(sorted(breached)))
        conforming -= sum(1 for j in breached if not per_path[path_of[j]])
    for key, journeys in slow.items():
        affected[key] = len(journeys)
        shown[key] = sorted(journeys)[:3]
    deviations = sorted(
        (Deviation(kind, detail, n, tuple(sorted(shown[(kind, detail)])[:3]))
         for (kind, detail), n in affected.items()),
        key=lambda d: (-d.journeys, d.kind, d.detail))

    weighted = [(p.stages, p.journeys) for p in journey_map.paths]
    net = design.petri_net()
    with step("Replaying paths"):
        replayed = replay(net, weighted)
    with step("Measuring precision"):
        precise = precision(net, weighted)
    if design.ends is not None:
        # A net is stricter than what follows what: a path conforms only if it fits.
        unfit = [p for p in journey_map.paths
                 if not per_path[p.stages] and not replayed.path_fits[p.stages]]
        for p in unfit:
            per_path[p.stages] = {("not_fit", "the journeys' paths")}
        if unfit:
            count = sum(p.journeys for p in unfit)
            ids = sorted(j for p in unfit for j in examples[p.stages])[:3]
            deviations.append(Deviation("not_fit", "the journeys' paths", count, tuple(ids)))
            deviations.sort(key=lambda d: (-d.journeys, d.kind, d.detail))
            unfit_paths = {p.stages for p in unfit}
            # Journeys already counted out for a breached service level stay counted once.
            already = sum(1 for j in breached if path_of[j] in unfit_paths)
            conforming -= count - already
    result = CheckResult(
        design=design, journey_map=visible, journeys=journey_map.journeys,
        conforming=conforming, fitness=replayed.fitness,
        precision=precise, deviations=deviations,
        unused_stages=sorted(set(design.stages) - {s.name for s in journey_map.stages}),
        missing_stages=[(s.name, s.events) for s in journey_map.stages
                        if s.name not in design.stages],
        unused_transitions=sorted(design.allowed - {(t.source, t.target)
                                                    for t in journey_map.transitions}),
        path_deviations=per_path, slow_journeys=dict(slow_journeys),
        notes=_notes(journey_map, design),
    )
    if exact:
        top = weighted[:max_paths]
        aligned = align(net, top)
        result.exact_fitness = aligned.fitness
        result.exact_paths = len(top)
        moved: dict[tuple[str, str], int] = defaultdict(int)
        moved_examples: dict[tuple[str, str], list[str]] = defaultdict(list)
        for stages, journeys in top:
            for key in set(aligned.moves[stages]):
                moved[key] += journeys
                moved_examples[key].extend(examples[stages])
        result.exact_deviations = sorted(
            (Deviation(kind, stage, n, tuple(sorted(moved_examples[(kind, stage)])[:3]))
             for (kind, stage), n in moved.items()),
            key=lambda d: (-d.journeys, d.kind, d.detail))
        if len(top) < len(weighted):
            covered = sum(n for _, n in top) / journey_map.journeys
            result.notes.append(f"exact fitness from the {len(top)} most frequent paths "
                                f"({covered:.1%} of journeys); --max-paths changes that")
    # --min-journeys: deviations that few journeys share could single a customer out.
    result.deviations = kept(result.deviations, lambda d: d.journeys, log)
    result.exact_deviations = kept(result.exact_deviations, lambda d: d.journeys, log)
    return result


def _notes(journey_map: JourneyMap, design: Design) -> list[str]:
    """Design stages that look like typos of the log's, and service levels that timed nothing
    (those the design itself never has adjacent are warned about when it is loaded)."""
    log_only = [s.name for s in journey_map.stages if s.name not in design.stages]
    seen = {s.name for s in journey_map.stages}
    notes = []
    for stage in sorted(set(design.stages) - seen):
        suggestion = did_you_mean(stage, log_only)
        if suggestion:
            notes.append(f"design stage {stage!r} never occurs in the log.{suggestion}")
    taken = {(t.source, t.target) for t in journey_map.transitions}
    notes += [f"service level {a} → {b}: no journey has {b} directly after {a}, so it timed "
              "nothing" for a, b in sorted(design.service_levels)
              if (a, b) in design.allowed and (a, b) not in taken]
    return notes


def _allowed(design: Design, source: str, target: str) -> bool:
    if source == START:
        return target not in design.stages or target in design.starts
    if target == END or source not in design.stages or target not in design.stages:
        return True  # the stage itself is the deviation, drawn as such
    return (source, target) in design.allowed or (
        source == target and design.stages[source].repeatable)


def check_map(result: CheckResult, log: Log | None = None, **simplify) -> MapGraph:
    """The journey map with the deviations drawn over it, and what was designed but unused.

    ``simplify`` takes build_map's ``stages``, ``paths``, ``min_count`` and ``recounts``;
    ``log`` is the log that was checked, which build_map needs to leave stages out.
    """
    design = result.design
    graph = build_map(result.journey_map, log=log, **simplify)
    graph.nodes = [n if n.name in design.stages else replace(n, status="deviation")
                   for n in graph.nodes]
    graph.nodes += [MapNode(s, 0, 0, s in design.goals, 0.0, False, "unused")
                    for s in result.unused_stages]
    # Hand-offs are not drawn here: orange means a deviation on this map. A transition whose
    # service level some journeys breached is a deviation too.
    slow = {tuple(d.detail.split(" → ", 1)) for d in result.deviations if d.kind == "slow"}
    graph.edges = [replace(e, handoff_share=0.0, status="" if _allowed(design, e.source, e.target)
                           and (e.source, e.target) not in slow else "deviation")
                   for e in graph.edges]
    shown = {n.name for n in graph.nodes}
    graph.edges += [MapEdge(a, b, 0, None, 0.0, "unused")
                    for a, b in result.unused_transitions if a in shown and b in shown]
    return graph
