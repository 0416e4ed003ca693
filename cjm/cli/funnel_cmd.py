"""``cjm funnel``: journeys through a chosen sequence of stages, and where the others went."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, stderr, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote


@log_command
def funnel_command(
    args: LogArgs,
    steps: Annotated[str, typer.Option(
        "--steps", help="The funnel's steps, in order, separated by commas; a step may accept "
        "any of several stages, separated by '|' (cart,courier|pickup,paid).",
        rich_help_panel=options.FUNNEL, metavar="A,B|C,D", show_default=False)],
    within: options.Within = None,
    order: options.Order = "strict",
    by: options.By = None,
    top_values: options.TopValues = None,
    json_out: mapout.JsonOut = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Show how many journeys pass each step of a funnel, the conversion from step to step,
    the time it takes, and where the journeys that dropped out went instead.

    Example: cjm funnel examples/shop.csv --steps "View Product,Add to Cart,Checkout,Purchase"
    --within 7d
    """
    from cjm.cli.engine import open_log
    from cjm.funnel import funnel, parse_steps
    from cjm.render.json_out import funnel_json, funnels_json, write_json
    from cjm.render.terminal import funnel_view, notes_and_warnings
    from cjm.segments import by_segment
    from cjm.units import parse_span

    names = parse_steps(steps)
    span = parse_span(within, "--within") if within else None
    with open_log(args, engine, spark_remote, spark_master) as log:
        parts = by_segment(log, by, top=top_values) if by else [log]
        results = [(part, funnel(part, names, within=span, order=order)) for part in parts]
        if json_out:
            first, result = results[0]
            write_json(funnels_json(by, results) if by else funnel_json(result, first),
                       json_out)
        if not quiet and json_out != "-":
            for part, result in results:
                stdout().print(funnel_view(result, part))
    for line in notes_and_warnings(log):
        stderr().print(line)
    args.check_strict(log)
