"""``cjm discover``: the journey map, paths, dead-ends and gaps."""

from pathlib import Path
from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, stderr, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote
from cjm.errors import UsageError
from cjm.journeys import GAP_MIN_COUNT


@log_command
def discover_command(
    args: LogArgs,
    output: mapout.Output = None,
    no_map: mapout.NoMap = False,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: options.Quiet = False,
    goal: options.Goal = None,
    goal_share: options.GoalShare = None,
    still_active: options.StillActive = None,
    handoff_column: options.HandoffColumn = None,
    gap_min_count: Annotated[int, typer.Option(
        "--gap-min-count", help="Rank among the slowest transitions (the Gaps table and JSON) "
        "only those taken at least N times.", rich_help_panel=options.GOALS, min=1,
        metavar="N")] = GAP_MIN_COUNT,
    by: options.By = None,
    top_values: options.TopValues = None,
    period: options.Period = None,
    since: options.Since = None,
    until: options.Until = None,
    window: Annotated[str, typer.Option(
        "--window", help="journeys: --since/--until select journeys by their first event; "
        "events: they clip the events instead.", rich_help_panel=options.SLICES)] = "journeys",
    view: mapout.View = None,
    node_label: mapout.NodeLabel = "journeys",
    stages: mapout.Stages = None,
    paths: mapout.Paths = None,
    min_count: mapout.MinCount = 1,
    max_edges: mapout.MaxEdges = None,
    fail_on_dead_end_rate: options.FailOnDeadEndRate = None,
    fail_on_median_duration: Annotated[str | None, typer.Option(
        "--fail-on-median-duration", help="Exit 1 when the median journey lasts longer "
        "(e.g. 3d).", rich_help_panel=options.GATES, metavar="SPAN", show_default=False)] = None,
    fail_on_p90_duration: Annotated[str | None, typer.Option(
        "--fail-on-p90-duration", help="Exit 1 when the 90th percentile journey lasts longer.",
        rich_help_panel=options.GATES, metavar="SPAN", show_default=False)] = None,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Discover the journey map: stages, transitions, paths, dead-ends, gaps and hand-offs.

    Prints a summary, writes the map (SVG by default) and, with --json, the results.
    In the transitions table, % of from: of the from stage's events, the share followed by
    the to stage.

    Example: cjm discover examples/shop.csv -o shop.svg --json shop.json
    """
    from cjm.cli.engine import open_log
    from cjm.config import find_config
    from cjm.gates import check_each, gate_notes
    from cjm.journeys import discover, discover_reads
    from cjm.mapgraph import build_map
    from cjm.options import map_arguments, validate_view
    from cjm.render.json_out import journey_json
    from cjm.segments import between, by_period, by_segment
    from cjm.units import parse_date, parse_rate, parse_share, parse_span

    config = find_config()
    view = view or config.get("view", "both")
    top = top or int(config.get("top", 10))
    validate_view(view, node_label)
    chosen = mapout.targets(args.paths, output, no_map, json_out, "journey")
    dead_end_gate = (parse_rate(fail_on_dead_end_rate, "--fail-on-dead-end-rate")
                     if fail_on_dead_end_rate is not None else None)
    gates = {
        "median": parse_span(fail_on_median_duration, "--fail-on-median-duration")
        if fail_on_median_duration else None,
        "p90": parse_span(fail_on_p90_duration, "--fail-on-p90-duration")
        if fail_on_p90_duration else None,
    }
    if by and period:
        raise UsageError("give --by or --period, not both")
    if window not in ("journeys", "events"):
        raise UsageError(f"--window: {window!r} is not one of journeys, events")
    bounds = (parse_date(since, "--since"), parse_date(until, "--until"))
    simplify = map_arguments(stages, paths, min_count, max_edges)
    results: list = []
    hold = [*discover_reads(config, handoff_column), *([by] if by else [])]
    with open_log(args, engine, spark_remote, spark_master, config,
                  args.window(*bounds), hold) as whole:
        log = between(whole, *bounds, clip_events=window == "events")
        jm = discover(
            log, goals=goal or None,
            goal_share=parse_share(goal_share, "--goal-share") if goal_share else None,
            still_active=parse_span(still_active, "--still-active") if still_active else None,
            handoff_column=handoff_column, gap_min_count=gap_min_count,
        )
        title = ", ".join(Path(f.path).name for f in log.files)
        if log.label:
            title += f" ({log.label})"
        if by or period:
            slices = by_segment(log, by, top=top_values) if by else by_period(log, period)
            results = _slices(jm, slices, chosen, json_out, view, node_label, title, simplify)
        else:
            graph = build_map(jm, log=log, **simplify)
            written = mapout.write(graph, chosen, lambda: journey_json(jm, graph), json_out,
                                   view, node_label, title)
    from cjm.render.terminal import discover_view, notes_and_warnings, slices_view

    if not quiet and json_out != "-":
        if by or period:  # even when --min-journeys leaves no slice: the whole log's row
            stdout().print(slices_view(jm, results, by or period))
        else:
            stdout().print(discover_view(jm, graph if chosen else None, top, written))
    # After the summary, where a reader's eye ends.
    for line in notes_and_warnings(log, [*jm.notes, *gate_notes(jm, dead_end_gate)]):
        stderr().print(line)
    check_each([(None, jm), *((label, result) for label, result, _ in results)],
               dead_end_rate=dead_end_gate, median_duration=gates["median"],
               p90_duration=gates["p90"])
    args.check_strict(log)


def _slices(jm, slices, chosen, json_out, view, node_label, title, simplify) -> list:
    """Discover each slice as the whole was; a map per slice, one JSON for all."""
    from cjm.mapgraph import build_map
    from cjm.render.json_out import journey_json, slices_json, write_json
    from cjm.safety import safe_name
    from cjm.segments import discover_part

    results, used = [], set()
    for part in slices:
        result = discover_part(part, jm)
        graph = build_map(result, log=part, **simplify)
        name = safe_name(part.label.split(" = ", 1)[-1], used)
        targets = [t.with_name(f"{t.stem}.{name}{t.suffix}") for t in chosen]
        written = mapout.write(graph, targets, lambda r=result, g=graph: journey_json(r, g),
                               None, view, node_label, f"{title} ({part.label})")
        results.append((part.label, result, written))
    if json_out:
        write_json(slices_json(jm, results), json_out)
    return results
