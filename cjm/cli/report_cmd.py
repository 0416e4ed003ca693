"""``cjm report``: one HTML page for people, Markdown with Mermaid for pipelines; or many
reports from one config file."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cjm.cli import mapout
from cjm.cli.common import LogArgs, log_command, stderr, stdout, write_each
from cjm.errors import UsageError

CONTENT = "Sections"
SLICES = "Segments and periods"
GATES = "CI gates"

@log_command(optional=True)
def report_command(
    args: LogArgs,
    output: Annotated[list[str] | None, typer.Option(
        "-o", "--output", help="The report: .html (one self-contained page) or .md (Markdown "
        "with Mermaid diagrams). Repeat for both. (default: <log>.report.html)",
        rich_help_panel="Output", metavar="FILE", show_default=False)] = None,
    assets: Annotated[str | None, typer.Option(
        "--assets", help="Also write each map as SVG and PNG into this folder, linked from the "
        "Markdown.", rich_help_panel="Output", metavar="DIR", show_default=False)] = None,
    title: Annotated[str | None, typer.Option(
        "--title", help="The report's title. (default: the log's file name)",
        rich_help_panel="Output", show_default=False)] = None,
    config_file: Annotated[str | None, typer.Option(
        "--config", help="Run every report a TOML file lists (see docs/report.md); no LOG "
        "then.", rich_help_panel="Output", metavar="FILE.toml", show_default=False)] = None,
    quiet: mapout.Quiet = False,
    goal: Annotated[list[str] | None, typer.Option(
        "--goal", help="A goal stage (repeatable). (default: as cjm discover decides)",
        rich_help_panel=CONTENT, metavar="STAGE", show_default=False)] = None,
    goal_share: Annotated[str | None, typer.Option(
        "--goal-share", help="For inferred goals: share of the journeys reaching a stage that "
        "must end there. (default: 80%)", rich_help_panel=CONTENT, show_default=False)] = None,
    still_active: Annotated[str | None, typer.Option(
        "--still-active", help="Journeys whose last event is this close to the end of the log "
        "are open, not dead-ends (e.g. 14d).", rich_help_panel=CONTENT, metavar="SPAN",
        show_default=False)] = None,
    handoff_column: Annotated[str | None, typer.Option(
        "--handoff-column", help="What a hand-off changes: channel, device or department.",
        rich_help_panel=CONTENT, show_default=False)] = None,
    funnel: Annotated[str | None, typer.Option(
        "--funnel", help="Add a funnel of these stages, in order.", rich_help_panel=CONTENT,
        metavar="A,B,C", show_default=False)] = None,
    within: Annotated[str | None, typer.Option(
        "--within", help="With --funnel: every step within this span of the first (7d).",
        rich_help_panel=CONTENT, metavar="SPAN", show_default=False)] = None,
    order: Annotated[str, typer.Option(
        "--order", help="With --funnel: strict: the steps in this order; any: all of them, in "
        "any order.", rich_help_panel=CONTENT)] = "strict",
    compare_by: Annotated[str | None, typer.Option(
        "--compare-by", help="Add a comparison of two values of a role; give them with "
        "--compare-values.", rich_help_panel=CONTENT, show_default=False)] = None,
    compare_period: Annotated[str | None, typer.Option(
        "--compare-period", help="Add a comparison of two periods (day, week, month, quarter, "
        "year): the last two, or --compare-values.", rich_help_panel=CONTENT,
        show_default=False)] = None,
    compare_values: Annotated[str | None, typer.Option(
        "--compare-values", help="The two values or periods to compare, A first: vip,new or "
        "2024-Q2,2024-Q3.", rich_help_panel=CONTENT, metavar="A,B", show_default=False)] = None,
    design: Annotated[str | None, typer.Option(
        "--design", help="Add a conformance check against this designed journey (YAML, BPMN, "
        "PNML).", rich_help_panel=CONTENT, metavar="FILE", show_default=False)] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="A section per value of a role (segment, channel, device, department, "
        "outcome), at each journey's first event.", rich_help_panel=SLICES,
        show_default=False)] = None,
    top_values: Annotated[int | None, typer.Option(
        "--top-values", help="With --by: the most frequent values, the rest as 'other'.",
        rich_help_panel=SLICES, min=1, show_default=False)] = None,
    period: Annotated[str | None, typer.Option(
        "--period", help="A section per day, week, month, quarter or year.",
        rich_help_panel=SLICES, show_default=False)] = None,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="Only journeys whose role has this value at their first event "
        "(repeatable).", rich_help_panel=SLICES, metavar="ROLE=VALUE", show_default=False)
    ] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only journeys that start on or after this date.",
        rich_help_panel=SLICES, metavar="DATE", show_default=False)] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Only journeys that start before this date.", rich_help_panel=SLICES,
        metavar="DATE", show_default=False)] = None,
    top: mapout.Top = None,
    view: mapout.View = None,
    stages: mapout.Stages = None,
    paths: mapout.Paths = None,
    min_count: mapout.MinCount = 1,
    max_edges: mapout.MaxEdges = None,
    fail_on_dead_end_rate: Annotated[str | None, typer.Option(
        "--fail-on-dead-end-rate", help="Exit 1 (after writing the report) when the dead-end "
        "rate exceeds this.", rich_help_panel=GATES, metavar="RATE", show_default=False)
    ] = None,
) -> None:
    """Write a report: overview, journey map, paths, dead-ends, gaps and hand-offs, and on
    request sections per segment, a funnel, a comparison and a conformance check.

    HTML is one file that opens offline and prints well; Markdown suits CI job summaries and
    pull-request comments, its maps drawn by Mermaid.

    Example: cjm report examples/shop.csv -o report.html --by segment
    """
    values = {k: v for k, v in locals().items()
              if k not in ("args", "output", "assets", "config_file", "quiet")}
    if config_file:
        if args.paths:
            raise UsageError("give LOG files or --config, not both")
        flags = _flags_given(args, values) + (["-o"] if output else []) + \
            (["--assets"] if assets else [])
        if flags:
            raise UsageError(f"--config runs the reports its file describes; {flags[0]} "
                             "belongs in the file", "Write it as a key of [defaults] or of "
                             "a [[report]] entry (see docs/report.md).")
        from cjm.cli.report_batch import run_batch

        run_batch(Path(config_file), quiet)
        return
    if not args.paths:
        raise UsageError("give a LOG file, or --config FILE.toml",
                         "Example: cjm report examples/shop.csv -o report.html")
    targets = [Path(o) for o in output] if output else [Path(f"{_stem(args)}.report.html")]
    produce(args, values, targets, assets, None if quiet else _announce)


def _announce(written: list[Path]) -> None:
    for path in written:
        stdout().print(f"Wrote {path}", highlight=False, markup=False)


def _flags_given(args: LogArgs, values: dict[str, Any]) -> list[str]:
    """The options given beyond their defaults, as flags (--goal-share)."""
    from dataclasses import fields

    defaults = {"order": "strict", "min_count": 1}
    given = [k for k, v in values.items() if v not in (None, False, []) and
             v != defaults.get(k)]
    given += [f.name for f in fields(LogArgs)
              if f.name not in ("paths", "debug") and getattr(args, f.name) != f.default]
    return ["--" + name.replace("_", "-") for name in given]


def _stem(args: LogArgs) -> str:
    from cjm.cli.common import log_stem

    return log_stem(args.paths)


def produce(args: LogArgs, values: dict[str, Any], targets: list[Path], assets: str | None,
            announce: Callable[[list[Path]], None] | None = None) -> list[Path]:
    """Read the log, build the report, write every target and ``announce`` them; then apply
    the gate to the whole log and to each segment or period, naming the one that broke it."""
    from cjm.gates import check_each, gate_notes
    from cjm.render.terminal import notes_and_warnings
    from cjm.report import build_report, report_format, write_report

    for target in targets:
        report_format(target)
    options, gate = report_options(values)
    if args.outcome and not options.goals:  # --outcome names the column that marks success
        options.use_outcome = True
    written: list[Path] = []
    with args.read() as log:
        report = build_report(log, options)
        write_each(targets, lambda target: written.extend(write_report(report, target, assets)))
    if announce:
        announce(written)
    for line in notes_and_warnings(log, gate_notes(report.journey_map, gate)):
        stderr().print(line)
    check_each([(None, report.journey_map), *((s.label, s.journey_map) for s in report.slices)],
               dead_end_rate=gate)
    args.check_strict(log)
    return written


def report_options(values: dict[str, Any]):
    """ReportOptions from the flags (or a config entry's keys), and the dead-end gate;
    cjm.toml gives the defaults that the flags leave open."""
    from cjm.config import find_config
    from cjm.journeys import GOAL_SHARE
    from cjm.report import ReportOptions
    from cjm.units import parse_date, parse_rate, parse_share, parse_span

    config = find_config()
    get = values.get
    view = get("view") or config.get("view", "both")
    mapout.check_view(view, "journeys")
    if get("by") and get("period"):
        raise UsageError("give --by or --period, not both")
    if get("compare_by") and get("compare_period"):
        raise UsageError("give --compare-by or --compare-period, not both")
    if get("order", "strict") not in ("strict", "any"):
        raise UsageError(f"--order: {get('order')!r} is not one of strict, any")
    pair = [v.strip() for v in get("compare_values").split(",")] \
        if get("compare_values") else None
    if pair is not None and len(pair) != 2:
        raise UsageError("--compare-values: give exactly two values, A first: vip,new")
    if pair and not (get("compare_by") or get("compare_period")):
        raise UsageError("--compare-values goes with --compare-by or --compare-period")
    if get("compare_by") and not pair:
        raise UsageError("--compare-by needs --compare-values A,B: the two values to compare",
                         "Example: --compare-by segment --compare-values vip,new")
    still = get("still_active") or config.get("still_active")
    goals = list(get("goal") or config.get("goals", []))
    options = ReportOptions(
        title=get("title"), goals=goals,
        goal_share=parse_share(get("goal_share") or config.get("goal_share", GOAL_SHARE),
                               "--goal-share"),
        still_active=parse_span(still, "--still-active") if still else None,
        handoff_column=get("handoff_column") or config.get("handoff_column"),
        where=list(get("where") or []),
        since=parse_date(get("since"), "--since"), until=parse_date(get("until"), "--until"),
        by=get("by"), top_values=get("top_values"), period=get("period"),
        funnel=[s.strip() for s in (get("funnel") or "").split(",") if s.strip()],
        within=parse_span(get("within"), "--within") if get("within") else None,
        funnel_order=get("order") or "strict",
        compare_by=get("compare_by"), compare_period=get("compare_period"),
        compare_values=pair, design=get("design"),
        top=get("top") or int(config.get("top", 10)), view=view,
        **mapout.simplify(get("stages"), get("paths"), get("min_count") or 1,
                           get("max_edges")),
    )
    gate = get("fail_on_dead_end_rate")
    return options, parse_rate(gate, "--fail-on-dead-end-rate") if gate is not None else None
