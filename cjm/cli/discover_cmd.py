"""``cjm discover``: the journey map, paths, dead-ends and gaps."""

from pathlib import Path
from typing import Annotated

import typer

from cjm.cli import mapout
from cjm.cli.common import LogArgs, log_command, stderr, stdout

ANALYSIS = "Goals and gaps"
GATES = "CI gates"


@log_command
def discover_command(
    args: LogArgs,
    output: mapout.Output = None,
    no_map: mapout.NoMap = False,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: mapout.Quiet = False,
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
    view: mapout.View = None,
    node_label: mapout.NodeLabel = "journeys",
    stages: mapout.Stages = "100%",
    paths: mapout.Paths = None,
    min_count: mapout.MinCount = 1,
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
    from cjm.render.json_out import journey_json
    from cjm.units import parse_rate, parse_share, parse_span

    config = find_config()
    goal = goal or list(config.get("goals", []))
    goal_share = goal_share or config.get("goal_share", GOAL_SHARE)
    still_active = still_active or config.get("still_active")
    handoff_column = handoff_column or config.get("handoff_column")
    view = view or config.get("view", "both")
    top = top or int(config.get("top", 10))
    mapout.check_view(view, node_label)
    chosen = mapout.targets(args.paths, output, no_map, json_out, "journey")
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
            log, goals=goal or (),
            use_outcome=True if (args.outcome or config.get("outcome")) and not goal else None,
            goal_share=parse_share(goal_share, "--goal-share"),
            still_active=parse_span(still_active, "--still-active") if still_active else None,
            handoff_column=handoff_column,
        )
        graph = build_map(jm, **mapout.simplify(stages, paths, min_count))
        title = ", ".join(Path(f.path).name for f in log.files)
        written = mapout.write(graph, chosen, lambda: journey_json(jm, graph), json_out, view,
                               node_label, title)
    from cjm.render.terminal import discover_view, notes_and_warnings

    if not quiet and json_out != "-":
        stdout().print(discover_view(jm, graph if chosen else None, top, written))
    for line in notes_and_warnings(log, jm.notes):  # after the summary, where a reader's eye ends
        stderr().print(line)
    check_gates(jm, dead_end_rate=dead_end_gate, median_duration=gates["median"],
                p90_duration=gates["p90"])
    args.check_strict(log)

