"""``cjm timing``: how long journeys take to reach a goal, counting those that have not yet."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import OUTPUT, LogArgs, log_command, stderr, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log
from cjm.errors import UsageError


@log_command
def timing_command(
    args: LogArgs,
    goal: options.Goal = None,
    still_active: options.StillActive = None,
    by: options.By = None,
    top_values: options.TopValues = None,
    period: options.Period = None,
    output: Annotated[str | None, typer.Option(
        "-o", "--output", help="Write the chart (share of journeys that reached the goal over "
        "time, with its 95% band) to this SVG file.", rich_help_panel=OUTPUT,
        metavar="FILE.svg", show_default=False)] = None,
    json_out: mapout.JsonOut = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Time to goal: the Kaplan-Meier curve of the time from a journey's first event to its
    first goal event, counting journeys that have not reached it (censored at their last
    event, or at the log's end while still active); the median and the time by which 90%
    got there, with 95% intervals; per segment or period, with the log-rank test between
    them (--by, --period). With --still-active, journeys still active are censored at the
    log's end. An outcome column is the goal only when named with --outcome. This is
    association, not cause.

    Example: cjm timing examples/shop.csv --goal Purchase --by channel -o timing.svg
    """
    from pathlib import Path

    from rich.text import Text

    from cjm.render.json_out import timing_json, write_json
    from cjm.render.stepchart import step_chart
    from cjm.render.terminal import notes_and_warnings, timing_view
    from cjm.safety import printable, write_text
    from cjm.timing import timing
    from cjm.units import parse_span

    if output and Path(output).suffix.lower() != ".svg":
        raise UsageError(f"-o: {output!r} is not an .svg file",
                         "The chart is written as SVG: -o timing.svg")
    span = parse_span(still_active, "--still-active") if still_active else None
    with open_log(args, engine, spark_remote, spark_master) as log:
        result = timing(log, goals=goal or None, still_active=span, by=by, period=period,
                        top_values=top_values)
        if json_out:
            write_json(timing_json(result, log), json_out)
        if output:
            series = [(g.label, g.curve) for g in result.groups] or [("all journeys",
                                                                      result.curve)]
            goals = ", ".join(result.goals.stages) or result.goals.outcome_column or ""
            write_text(Path(output), step_chart(
                series, f"Share of journeys that reached the goal ({goals})"))
        if not quiet and json_out != "-":
            stdout().print(timing_view(result, log))
            if output:
                stdout().print(Text.assemble(("Wrote", "green"), f" {printable(output)}"))
    for line in notes_and_warnings(log, result.notes):
        stderr().print(line)
    args.check_strict(log)
