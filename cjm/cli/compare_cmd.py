"""``cjm compare``: two logs, two segments, or the last two periods, side by side."""

from pathlib import Path
from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, stderr, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log
from cjm.errors import UsageError

TEST = "Testing"


@log_command
def compare_command(
    args: LogArgs,
    by: options.By = None,
    period: options.Period = None,
    values: options.Values = None,
    where: options.Where = None,
    goal: options.Goal = None,
    min_count: Annotated[int, typer.Option(
        "--min-count", help="Test a share only when A and B together count this many.",
        rich_help_panel=TEST, min=1)] = 20,
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Significance level, after Holm's correction for the number of tests.",
        rich_help_panel=TEST, min=0.0001, max=0.5)] = 0.05,
    stages: mapout.Stages = None,
    paths: mapout.Paths = None,
    max_edges: mapout.MaxEdges = None,
    output: mapout.Output = None,
    no_map: mapout.NoMap = False,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Compare two sets of journeys: two logs (cjm compare a.csv b.csv), two values of a
    segment (--by segment --values vip,new) or two periods (--period quarter): changed
    transitions, goal and dead-end rates, new and vanished paths, and a difference map.

    Example: cjm compare examples/shop.csv --period quarter --values 2024-Q2,2024-Q3
    """
    from cjm.compare import compare, compare_map
    from cjm.journeys import discover
    from cjm.options import map_arguments
    from cjm.render.json_out import compare_json
    from cjm.render.terminal import compare_view, notes_and_warnings

    chosen = mapout.targets(args.paths, output, no_map, json_out, "compare")
    pair = [v.strip() for v in values.split(",")] if values else None
    if pair is not None and len(pair) != 2:
        raise UsageError("--values: give exactly two values, A first: --values vip,new")
    if by and period:
        raise UsageError("compare either --by a role or by --period, not both")
    logs = []
    try:
        def read(given: LogArgs):
            return open_log(given, engine, spark_remote, spark_master)

        sides = _sides(args, by, period, pair, logs, where or [], read)
        a = discover(sides[0], goals=goal or (), use_outcome=None if not goal else False)
        # B is measured against A's goals, so that the rates compare.
        if a.goals.source == "outcome" and "outcome" not in sides[1].mapping:
            raise UsageError(
                f"B {sides[1].label or 'B'} has no outcome column, which A's goal rate counts "
                f"({a.goals.outcome_column})",
                "Map the same column in both with --outcome COLUMN, or compare goal stages "
                "with --goal STAGE.")
        b = discover(sides[1], goals=a.goals.stages, use_outcome=a.goals.source == "outcome",
                     infer_goals=False)
        result = compare(a, b, sides[0].label or "A", sides[1].label or "B",
                         min_count=min_count, alpha=alpha)
        # Its --min-count is the testing threshold: the map hides no transition for it.
        graph = compare_map(result, **map_arguments(stages, paths, max_edges=max_edges))
        title = f"{result.label_a} → {result.label_b}"
        written = mapout.write(graph, chosen, lambda: compare_json(result, graph), json_out,
                               "frequency", "journeys", title)
        if not quiet and json_out != "-":
            stdout().print(compare_view(result, top or 10, written, graph))
        for log in logs:
            for line in notes_and_warnings(log):
                stderr().print(line)
            args.check_strict(log)
    finally:
        for log in logs:
            log.close()


def _sides(args: LogArgs, by, period, pair, logs: list, where: list[str], read):
    """The two sets of journeys, A then B; the logs opened (by ``read``) go into ``logs``."""
    from dataclasses import replace

    from cjm.segments import sides, where_all

    if len(args.paths) == 2 and not by and not period:
        if where:
            raise UsageError("--where goes with --by or --period on one log")
        if pair is not None:
            raise UsageError("--values picks segment values or periods; two logs are "
                             "compared as they are")
        for path in args.paths:
            log = read(replace(args, paths=[path]))
            logs.append(log)
            log.label = Path(path).name
        return logs
    if len(args.paths) != 1 and (by or period):
        raise UsageError("with --by or --period, give one log (several files: one glob)")
    if not by and not period:
        raise UsageError("give two logs, or one log with --by ROLE --values A,B, or with "
                         "--period quarter", "Example: cjm compare a.csv b.csv")
    log = read(args)
    logs.append(log)
    return sides(where_all(log, where), by, period, pair)

