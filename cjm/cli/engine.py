"""The engine options of the commands that run on Spark (all but ``cjm explore``).

Declared without importing PySpark, so that ``--help`` stays fast.
"""

from collections.abc import Collection
from typing import Annotated, Any

import typer

from cjm.cli.common import LogArgs

ENGINE_PANEL = "Engine"

Engine = Annotated[str | None, typer.Option(
    "--engine", help="Where to read and aggregate: duckdb (this machine) or spark. "
    "(default: $CJM_ENGINE, else duckdb)", rich_help_panel=ENGINE_PANEL, metavar="ENGINE",
    show_default=False)]
SparkRemote = Annotated[str | None, typer.Option(
    "--spark-remote", help="With --engine spark: a Spark Connect server, sc://host:15002. "
    "(default: $CJM_SPARK_REMOTE)", rich_help_panel=ENGINE_PANEL, metavar="URL",
    show_default=False)]
SparkMaster = Annotated[str | None, typer.Option(
    "--spark-master", help="With --engine spark: the cluster's master URL (spark://host:7077, "
    "yarn, local[4]). (default: $CJM_SPARK_MASTER, else local mode)",
    rich_help_panel=ENGINE_PANEL, metavar="URL", show_default=False)]


def read_with_spark(args: LogArgs, config, remote: str | None, master: str | None,
                    window: tuple[Any, Any] = (None, None)):
    """Read the log as ``args`` say, with Spark; DuckDB's memory options are refused."""
    from cjm.engine.spark.read import read_spark_settings

    return read_spark_settings(args.paths, args.settings(), config=config, remote=remote,
                               master=master, since=window[0], until=window[1])


def open_log(args: LogArgs, engine: str | None, remote: str | None, master: str | None,
             config=None, window: tuple[Any, Any] = (None, None),
             hold: Collection[str] | None = None):
    """The log, read by the engine chosen (--engine, else $CJM_ENGINE, else duckdb);
    ``window``: the --since/--until that between() then selects (LogArgs.window); ``hold``:
    the roles the command reads, for DuckDB to hold no other (LogArgs.read)."""
    from cjm.config import chosen_engine, find_config

    config = config if config is not None else find_config()
    if chosen_engine(engine) == "spark":
        return read_with_spark(args, config, remote, master, window)
    return args.read(config, engine="duckdb", window=window, hold=hold)
