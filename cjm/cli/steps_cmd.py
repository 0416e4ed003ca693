"""``cjm steps``: where journeys are at each of their first N events (the step matrix)."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, stderr, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log
from cjm.errors import UsageError
from cjm.steps import STEPS


@log_command
def steps_command(
    args: LogArgs,
    max_steps: Annotated[int, typer.Option(
        "--max-steps", help="The steps (a journey's 1st, 2nd, … event) to show.", min=1,
        metavar="N")] = STEPS,
    goal: options.Goal = None,
    still_active: options.StillActive = None,
    by: options.By = None,
    period: options.Period = None,
    values: options.Values = None,
    json_out: mapout.JsonOut = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """The step matrix: for each of the first N events of the journeys, the share of them at
    each stage, and of those that have ended by then (at a goal, in a dead-end, or still
    active). With --by ROLE --values A,B (or --period), the change from A to B.

    Example: cjm steps examples/shop.csv --max-steps 8 --by segment --values new,vip
    """
    from cjm.journeys import discover
    from cjm.render.json_out import steps_difference_json, steps_json, write_json
    from cjm.render.terminal import notes_and_warnings, steps_difference_view, steps_view
    from cjm.segments import sides
    from cjm.steps import difference, step_matrix
    from cjm.units import parse_span

    if by and period:
        raise UsageError("give --by or --period, not both")
    if values and not (by or period):
        raise UsageError("--values goes with --by or --period")
    span = parse_span(still_active, "--still-active") if still_active else None
    with open_log(args, engine, spark_remote, spark_master) as log:
        if by or period:
            a_log, b_log = sides(log, by, period, values.split(",") if values else None)
            # Both groups are measured against the whole log's goals, so that they compare.
            goals = discover(log, goals=goal or None, still_active=span).goals
            a, b = (step_matrix(part, steps=max_steps, goals=goals.stages,
                                use_outcome=goals.source == "outcome", infer_goals=False,
                                still_active=span) for part in (a_log, b_log))
            result = difference(a, b)
            data = steps_difference_json(result, a_log, b_log)
            view = steps_difference_view(result, log)
        else:
            matrix = step_matrix(log, steps=max_steps, goals=goal, still_active=span)
            data, view = steps_json(matrix, log), steps_view(matrix, log)
        if json_out:
            write_json(data, json_out)
        if not quiet and json_out != "-":
            stdout().print(view)
    for line in notes_and_warnings(log):
        stderr().print(line)
    args.check_strict(log)
