"""``cjm channels``: channel mix, channel sequences, escalations and the cost to serve."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, report
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log

COSTS = "Cost to serve"


@log_command
def channels_command(
    args: LogArgs,
    channel_cost: Annotated[str | None, typer.Option(
        "--channel-cost", help="Price of an event per channel, e.g. "
        "web=0.1,chat=2,email=3,phone=6 (or channel_cost in cjm.toml). Without it, the "
        "log's cost column, if any.", rich_help_panel=COSTS, metavar="CH=PRICE,…",
        show_default=False)] = None,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Show which channels each stage uses, how journeys move between channels, the
    escalations to dearer channels, and what journeys, paths and stages cost to serve.

    Example: cjm channels examples/shop.csv --channel-cost web=0.1,chat=2,email=3,phone=6
    """
    from cjm.channels import channel_report, parse_costs
    from cjm.render.json_out import channels_json
    from cjm.render.terminal import channels_view

    costs = parse_costs(channel_cost) if channel_cost else None
    report(args, lambda log: channel_report(log, costs), channels_json,
           lambda result, log: channels_view(result, log, top or 10), json_out, quiet,
           lambda: open_log(args, engine, spark_remote, spark_master))
