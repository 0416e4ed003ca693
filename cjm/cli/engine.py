"""The engine options of the commands that run on Spark (``cjm discover``, ``cjm inspect``).

Declared without importing PySpark, so that ``--help`` stays fast.
"""

from typing import Annotated

import typer

from cjm.cli.common import LogArgs
from cjm.errors import UsageError

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
_DUCKDB_ONLY = {"memory_limit": "--memory-limit", "temp_dir": "--temp-dir",
                "buckets": "--buckets"}


def read_with_spark(args: LogArgs, config, remote: str | None, master: str | None):
    """Read the log as ``args`` say, with Spark; DuckDB's memory options are refused."""
    settings = args.settings()
    refuse_database(args.paths, settings.pop("table"), settings.pop("query"))
    given = [flag for name, flag in _DUCKDB_ONLY.items() if settings.pop(name) is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: not supported with --engine spark",
                         "Run with --engine duckdb for them; see docs/scale.md for Spark's "
                         "memory settings.")
    from cjm.config import read_arguments
    from cjm.engine.spark.read import read_spark_log

    return read_spark_log(args.paths, remote=remote, master=master,
                          **read_arguments(settings), config=config)


def refuse_database(paths: list[str], table: str | None, query: str | None) -> None:
    """Spark reads no database URL (nor --table/--query, which name what to read of one)."""
    from cjm.sources import database_source, is_database_url, redact

    for path in paths:
        if is_database_url(path):
            raise UsageError(f"{redact(path)}: --engine spark reads no database URL",
                         "Run with --engine duckdb, or cjm convert it to Parquet first "
                         "(docs/databases.md).")
    database_source(paths, table, query)  # --table or --query without a URL: refused


def open_log(args: LogArgs, engine: str | None, remote: str | None, master: str | None,
             config=None):
    """The log, read by the engine chosen (--engine, else $CJM_ENGINE, else duckdb)."""
    from cjm.config import chosen_engine, find_config

    config = config if config is not None else find_config()
    if chosen_engine(engine) == "spark":
        return read_with_spark(args, config, remote, master)
    return args.read(config, engine="duckdb")
