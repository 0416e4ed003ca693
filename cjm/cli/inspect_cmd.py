"""``cjm inspect``: what a log holds and how it was read."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
from cjm.cli.common import OUTPUT, LogArgs, log_command, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote


@log_command
def inspect_command(
    args: LogArgs,
    json_out: mapout.JsonOut = None,
    top: Annotated[int, typer.Option(
        "--top", help="Stages to list.", rich_help_panel=OUTPUT, min=1)] = 20,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Show how a log was read: columns, counts, stages, rejected rows and warnings.

    Example: cjm inspect examples/shop.csv --rejects rejects.csv
    """
    from cjm.cli.engine import open_log
    from cjm.render.json_out import write_json
    from cjm.summary import describe

    with open_log(args, engine, spark_remote, spark_master) as log:
        description = describe(log)
        if json_out:
            write_json(description.to_dict(), json_out)
        if json_out != "-":
            from cjm.render.terminal import inspect_view

            stdout().print(inspect_view(description, top))
    args.check_strict(log)
