"""The engine options of the commands that run on Spark (``cjm discover`` so far).

Declared here, without importing PySpark, so that ``--help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cjm.config import ENGINE_VARIABLE, chosen_engine
from cjm.errors import UsageError

if TYPE_CHECKING:
    from cjm.cli.common import LogArgs

ENGINE_PANEL = "Engine"
SPARK_COMMANDS = ("discover",)  # the commands that run on Spark

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


def check_supported(command: str, engine: str | None = None) -> None:
    """A command that runs on DuckDB only refuses --engine spark (or $CJM_ENGINE=spark)."""
    if chosen_engine(engine) != "duckdb" and command not in SPARK_COMMANDS:
        listing = ", ".join(f"cjm {c}" for c in SPARK_COMMANDS)
        name = f"cjm {command}" if command else "this command"
        raise UsageError(
            f"{name} runs on DuckDB only; Spark (${ENGINE_VARIABLE}=spark) works with "
            f"{listing} so far",
            f"Unset {ENGINE_VARIABLE} (or set it to duckdb) for {name}.")


def read_with_spark(args: LogArgs, config, remote: str | None, master: str | None,
                    refused: dict[str, Any]):
    """Read the log as ``args`` say, with Spark; ``refused`` holds the options given that
    Spark does not support (flag -> value)."""
    given = [flag for flag, value in refused.items() if value not in (None, False, [], ())]
    for name, flag in (("memory_limit", "--memory-limit"), ("temp_dir", "--temp-dir"),
                       ("buckets", "--buckets")):
        if getattr(args, name, None) is not None:
            given.append(flag)
    if given:
        raise UsageError(f"{', '.join(given)}: not supported with --engine spark",
                         "Run with --engine duckdb for them; see docs/scale.md for Spark's "
                         "memory settings.")
    from cjm.spark.read import read_spark_log

    roles = {
        "case": args.case, "stage": args.stage, "timestamp": args.timestamp,
        "channel": args.channel, "device": args.device, "department": args.department,
        "segment": args.segment, "outcome": args.outcome, "cost": args.cost,
        "lifecycle": args.lifecycle_column,
    }
    return read_spark_log(
        args.paths, remote=remote, master=master,
        columns={k: v for k, v in roles.items() if v}, delimiter=args.delimiter,
        encoding=args.encoding, timezone=args.timezone, timestamp_format=args.timestamp_format,
        dayfirst=args.dayfirst, lifecycle=args.lifecycle, journey_gap=args.journey_gap,
        drop_duplicates=args.drop_duplicates, rejects=args.rejects, config=config,
        pseudonymize=args.pseudonymize, salt=args.salt,
        min_journeys=args.min_journeys,
    )


def default_stem(paths: list[str]) -> str:
    """The first input's name without its extensions, for default output names (a URI's
    last part, a table's name)."""
    name = str(paths[0]).rstrip("/").rsplit("/", 1)[-1] if paths else ""
    for suffix in (".gz", ".csv", ".tsv", ".parquet", ".txt"):
        name = name.removesuffix(suffix)
    return name or "journey"
