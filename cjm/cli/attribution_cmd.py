"""``cjm attribution``: each stage's (or channel's) share of the conversions."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, report
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log


@log_command
def attribution_command(
    args: LogArgs,
    by_channel: Annotated[bool, typer.Option(
        "--by-channel", help="Attribute to channels (the channel column) instead of "
        "stages.")] = False,
    goal: options.Goal = None,
    resamples: Annotated[int, typer.Option(
        "--resamples", help="Bootstrap resamples of the journeys for the 95% intervals.",
        min=100, metavar="N")] = 1000,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Attribution: each stage's (or channel's, --by-channel) share of the conversions by
    Markov-chain removal effect, next to first-touch, last-touch and linear, each with a 95%
    bootstrap interval. Touches are what journeys do before their first goal event. This is
    association, not cause: a removal effect is not incrementality.

    Example: cjm attribution examples/shop.csv --goal Purchase --by-channel
    """
    from cjm.attribution import attribution
    from cjm.render.json_out import attribution_json
    from cjm.render.terminal import attribution_view

    report(args, lambda log: attribution(log, by_channel=by_channel, goals=goal or (),
                                         resamples=resamples), attribution_json,
           lambda result, log: attribution_view(result, log, top or 10), json_out, quiet,
           lambda: open_log(args, engine, spark_remote, spark_master))
