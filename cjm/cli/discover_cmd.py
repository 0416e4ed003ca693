"""``cjm discover``: the journey map, paths, dead-ends and gaps."""

from pathlib import Path
from typing import Annotated

import typer

from cjm.cli.common import OUTPUT, LogArgs, log_command, stderr, stdout, warn
from cjm.errors import UsageError

ANALYSIS = "Goals and gaps"
MAP = "Map"
GATES = "CI gates"
OUTPUT_FORMATS = ("svg", "png", "pdf", "dot", "json")


@log_command
def discover_command(
    args: LogArgs,
    output: Annotated[list[str] | None, typer.Option(
        "-o", "--output", help="Write the map (svg, png, pdf, dot) or the JSON (json); the "
        "extension names the format. Repeat for several. (default: <log>.journey.svg)",
        rich_help_panel=OUTPUT, metavar="FILE", show_default=False)] = None,
    no_map: Annotated[bool, typer.Option(
        "--no-map", help="Write no map file.", rich_help_panel=OUTPUT)] = False,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="Write the results as JSON to FILE, or to stdout alone with '-'.",
        rich_help_panel=OUTPUT, metavar="FILE|-", show_default=False)] = None,
    top: Annotated[int | None, typer.Option(
        "--top", help="Rows in each table. (default: 10)", rich_help_panel=OUTPUT, min=1,
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print no summary.", rich_help_panel=OUTPUT)] = False,
    goal: Annotated[list[str] | None, typer.Option(
        "--goal", help="A goal stage (repeatable). (default: the outcome column when it "
        "holds yes/no values, else inferred)", rich_help_panel=ANALYSIS, metavar="STAGE",
        show_default=False)] = None,
    goal_share: Annotated[str | None, typer.Option(
        "--goal-share", help="For inferred goals: share of the journeys reaching a stage that "
        "must end there. (default: 80%)", rich_help_panel=ANALYSIS,
        show_default=False)] = None,
    still_active: Annotated[str | None, typer.Option(
        "--still-active", help="Journeys whose last event is this close to the end of the log "
        "are open, not dead-ends (e.g. 14d).", rich_help_panel=ANALYSIS, metavar="SPAN",
        show_default=False)] = None,
    handoff_column: Annotated[str | None, typer.Option(
        "--handoff-column", help="What a hand-off changes: channel, device or department. "
        "(default: channel)", rich_help_panel=ANALYSIS, show_default=False)] = None,
    view: Annotated[str | None, typer.Option(
        "--view", help="Edge labels: frequency, performance (median wait) or both. "
        "(default: both)", rich_help_panel=MAP, show_default=False)] = None,
    node_label: Annotated[str, typer.Option(
        "--node-label", help="Stage sizes in journeys or events.", rich_help_panel=MAP,
    )] = "journeys",
    stages: Annotated[str, typer.Option(
        "--stages", help="Keep the most frequent stages covering this share of events.",
        rich_help_panel=MAP)] = "100%",
    paths: Annotated[str | None, typer.Option(
        "--paths", help="Keep the strongest transitions carrying this share of the traffic, "
        "and those that keep every stage connected. (default: 100%, or 90% above 60 "
        "transitions)", rich_help_panel=MAP, show_default=False)] = None,
    min_count: Annotated[int, typer.Option(
        "--min-count", help="Hide transitions taken fewer times than this.",
        rich_help_panel=MAP, min=1)] = 1,
    fail_on_dead_end_rate: Annotated[str | None, typer.Option(
        "--fail-on-dead-end-rate", help="Exit 1 when the dead-end rate exceeds this (30% or "
        "0.3).", rich_help_panel=GATES, metavar="RATE", show_default=False)] = None,
    fail_on_median_duration: Annotated[str | None, typer.Option(
        "--fail-on-median-duration", help="Exit 1 when the median journey lasts longer "
        "(e.g. 3d).", rich_help_panel=GATES, metavar="SPAN", show_default=False)] = None,
    fail_on_p90_duration: Annotated[str | None, typer.Option(
        "--fail-on-p90-duration", help="Exit 1 when the 90th percentile journey lasts longer.",
        rich_help_panel=GATES, metavar="SPAN", show_default=False)] = None,
) -> None:
    """Discover the journey map: stages, transitions, paths, dead-ends, gaps and hand-offs.

    Prints a summary, writes the map (SVG by default) and, with --json, the results.

    Example: cjm discover examples/shop.csv -o shop.svg --json shop.json
    """
    from cjm.config import find_config
    from cjm.gates import check_gates
    from cjm.journeys import GOAL_SHARE, discover
    from cjm.mapgraph import build_map
    from cjm.units import parse_rate, parse_share, parse_span

    config = find_config()
    goal = goal or list(config.get("goals", []))
    goal_share = goal_share or config.get("goal_share", GOAL_SHARE)
    still_active = still_active or config.get("still_active")
    handoff_column = handoff_column or config.get("handoff_column")
    view = view or config.get("view", "both")
    top = top or int(config.get("top", 10))
    if view not in ("frequency", "performance", "both"):
        raise UsageError(f"--view: {view!r} is not one of frequency, performance, both")
    if node_label not in ("journeys", "events"):
        raise UsageError(f"--node-label: {node_label!r} is not one of journeys, events")
    # With the JSON on stdout the caller pipes it: no map file unless -o asks for one.
    targets = _targets(args.paths, output, no_map or (json_out == "-" and not output))
    dead_end_gate = (parse_rate(fail_on_dead_end_rate, "--fail-on-dead-end-rate")
                     if fail_on_dead_end_rate is not None else None)
    gates = {
        "median": parse_span(fail_on_median_duration, "--fail-on-median-duration")
        if fail_on_median_duration else None,
        "p90": parse_span(fail_on_p90_duration, "--fail-on-p90-duration")
        if fail_on_p90_duration else None,
    }
    with args.read(config) as log:
        jm = discover(
            log, goals=goal or (), use_outcome=True if args.outcome and not goal else None,
            goal_share=parse_share(goal_share, "--goal-share"),
            still_active=parse_span(still_active, "--still-active") if still_active else None,
            handoff_column=handoff_column,
        )
        graph = build_map(jm, stages=parse_share(stages, "--stages"),
                          paths=parse_share(paths, "--paths") if paths else None,
                          min_count=min_count)
        written = _write(jm, graph, targets, json_out, view, node_label)
    from cjm.render.terminal import discover_view, notes_and_warnings

    if not quiet and json_out != "-":
        stdout().print(discover_view(jm, graph if targets else None, top, written))
    for line in notes_and_warnings(log):  # after the summary, where a reader's eye ends
        stderr().print(line)
    check_gates(jm, dead_end_rate=dead_end_gate, median_duration=gates["median"],
                p90_duration=gates["p90"])
    args.check_strict(log)


def _targets(paths: list[str], output: list[str] | None, no_map: bool) -> list[Path]:
    if output:
        targets = [Path(o) for o in output]
    elif no_map:
        targets = []
    else:
        from cjm.readers import expand_paths

        first = expand_paths(paths)[0].name
        for suffix in (".gz", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".xes",
                       ".txt"):
            first = first.removesuffix(suffix)
        targets = [Path(f"{first or 'journey'}.journey.svg")]
    for target in targets:
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in OUTPUT_FORMATS:
            raise UsageError(f"-o {target}: cannot tell the format from the extension",
                             "Use .svg, .png, .pdf, .dot or .json.")
    return targets


def _write(jm, graph, targets, json_out, view, node_label) -> list[Path]:
    from cjm.render.dot import to_dot
    from cjm.render.graphviz import render
    from cjm.render.json_out import journey_json, write_json
    from cjm.safety import write_bytes, write_text

    written = []
    title = ", ".join(Path(f.path).name for f in jm.log.files)
    dot = None
    for target in targets:
        fmt = target.suffix.lower().lstrip(".")
        if fmt == "json":
            write_json(journey_json(jm, graph), target)
        else:
            dot = dot or to_dot(graph, view=view, node_label=node_label, title=title)
            if fmt == "dot":
                write_text(target, dot)
            else:
                write_bytes(target, render(dot, fmt))
        written.append(target)
    if json_out:
        write_json(journey_json(jm, graph), json_out)
        if json_out != "-":
            written.append(Path(json_out))
    if len(graph.nodes) > 80 and targets:
        warn(f"the map shows {len(graph.nodes)} stages; --stages 80% makes it easier to read")
    return written

