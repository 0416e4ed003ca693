"""Which commands run on Spark; no PySpark import, so that
``--help`` stays fast (the flags are declared in cjm.cli.engine)."""

from cjm.config import ENGINE_VARIABLE, chosen_engine
from cjm.errors import UsageError

# The commands that run on Spark.
SPARK_COMMANDS = ("discover", "inspect", "funnel", "compare", "channels", "moments", "check",
                  "model", "steps", "timing", "attribution", "personas", "report")


def check_supported(command: str, engine: str | None = None) -> None:
    """A command that runs on DuckDB only refuses --engine spark (or $CJM_ENGINE=spark)."""
    if chosen_engine(engine) != "duckdb" and command not in SPARK_COMMANDS:
        listing = ", ".join(f"cjm {c}" for c in SPARK_COMMANDS)
        name = f"cjm {command}" if command else "this command"
        raise UsageError(
            f"{name} runs on DuckDB only; Spark (${ENGINE_VARIABLE}=spark) works with "
            f"{listing} so far",
            f"Unset {ENGINE_VARIABLE} (or set it to duckdb) for {name}.")
