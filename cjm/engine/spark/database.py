"""A table or query of a database (SQLite, PostgreSQL), read by Spark's JDBC source.

The executors read, not the driver: Spark asks the database for the result's columns
(``WHERE 1=0``), cjm detects the roles from them as from a file's header, and the JDBC scan
then reads the mapped columns alone (``SELECT "journey_id", … FROM (…)``). The rows are
numbered as the DuckDB engine numbers them (cjm.engine.duckdb.readers.database): by their
position when ordered by every column read, NULLs last. The drivers are the JDBC jars on
Spark's classpath (cjm.engine.spark.session.jdbc_jars). The password goes in the
``password`` option alone, which Spark redacts in its plans, never in the JDBC URL.
A DuckDB file is refused: no DuckDB JDBC driver is packaged, so it is converted first.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from cjm.errors import CjmError, DataError, UsageError
from cjm.sources import HIDDEN, DatabaseSource, redact, row_order

ORIGINAL_LINE, ORIGINAL_FILE = "cjm_line", "cjm_file"  # cjm convert's: where a row came from
# The driver class of each database, and the Debian package that installs its jar.
DRIVERS = {"sqlite": ("org.sqlite.JDBC", "libxerial-sqlite-jdbc-java"),
           "postgresql": ("org.postgresql.Driver", "libpostgresql-jdbc-java")}


def jdbc_options(source: DatabaseSource) -> dict[str, str]:
    """The options of Spark's JDBC source for ``source``: its JDBC URL (never with the
    password), driver class, user and password; a usage error for a DuckDB file or a
    SQLite file that does not exist."""
    if source.scheme not in DRIVERS:  # a DuckDB file, or any ADBC driver's adbc: URL
        what = (["--table", source.table] if source.table is not None
                else ["--query", source.query or ""])
        stem = Path(source.path).stem if source.scheme == "duckdb" else source.table
        line = shlex.join(["cjm", "convert", redact(source.url), *what,
                           "-o", f"{stem or 'log'}.parquet"])
        kind = "DuckDB file" if source.scheme == "duckdb" else f"{source.url.split(':')[0]}: URL"
        raise UsageError(f"{source.name}: Spark reads no {kind} (Spark's JDBC source reads "
                         "sqlite:/// and postgresql:// URLs)",
                         f"Convert it first, then give Spark the Parquet file: {line}")
    driver = DRIVERS[source.scheme][0]
    if source.scheme == "sqlite":  # read-only (SQLITE_OPEN_READONLY), as DuckDB opens it
        # A file: URI, so that a ? or # in the file's name is not taken for parameters.
        path = quote(str(source.existing_file().resolve()))
        return {"url": f"jdbc:sqlite:file:{path}", "driver": driver, "open_mode": "1"}
    parts = urlsplit(source.connect_url)
    user, password = source.credentials()
    host = parts.hostname or "localhost"
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    database = unquote(parts.path.lstrip("/")) or user
    params = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("user", "password")]
    url = (f"jdbc:postgresql://{host}:{parts.port or 5432}/{quote(database, safe='')}"
           + (f"?{urlencode(params)}" if params else ""))
    options = {"url": url, "driver": driver, "user": user}
    if password is not None:
        options["password"] = password
    return options


def read_database(spark, source: DatabaseSource, options: dict[str, str],
                  keep: Callable[[list[str]], list[str] | None]) -> tuple[Any, list[str], str]:
    """The rows of ``source`` as a DataFrame of ``_line`` and the columns that ``keep``
    picks (all when it cannot tell), in the database's own types; those columns; and how
    the rows are numbered (the reading report's ``rows_are``)."""
    from pyspark.sql import functions as F

    from cjm.files import ColumnNames

    with guard(source, options):
        frame = (spark.read.format("jdbc").options(**options)
                 .option("query", source.relation_sql())
                 .option("preferTimestampNTZ", "true").load())  # timestamp stays without zone
        names = frame.columns
    original = ORIGINAL_LINE in names  # a table cjm convert wrote: the rows' original lines
    kept = [(i, n) for i, n in enumerate(names) if n not in (ORIGINAL_LINE, ORIGINAL_FILE)]
    unique = ColumnNames()
    aliases = {unique(name, position): i for position, (i, name) in enumerate(kept, 1)}
    chosen = keep(list(aliases)) or list(aliases)
    # Named by position while read, so that any column name (dots, `_line`) is taken as is.
    positional = frame.toDF(*[f"_c{i}" for i in range(len(names))])
    picked = [f"_c{aliases[alias]}" for alias in chosen]
    if original:
        line = F.col(f"_c{names.index(ORIGINAL_LINE)}").cast("long")
        numbered = positional.select(line.alias("_line"), *picked)
    else:
        # Without a partitioning column one task reads the whole result: sorted in that
        # task, the rows are numbered in one pass, with no sampling that could differ.
        numbered = (positional.select(*picked).coalesce(1)
                    .sortWithinPartitions(*[F.asc_nulls_last(c) for c in picked])
                    .select((F.monotonically_increasing_id() + 1).alias("_line"), *picked))
    renamed = numbered.select("_line", *[F.col(c).alias(a) for c, a in zip(picked, chosen,
                                                                             strict=True)])
    return renamed, chosen, row_order(chosen, original)


@contextlib.contextmanager
def guard(source: DatabaseSource, options: dict[str, str]) -> Iterator[None]:
    """The errors of the driver, the database and Spark as one line that names the source,
    the password hidden (a missing driver as what to install)."""
    try:
        yield
    except CjmError:
        raise
    except Exception as exc:
        text = "\n".join(_messages(exc))
        driver, package = DRIVERS[source.scheme]
        if f"ClassNotFoundException: {driver}" in text or "No suitable driver" in text:
            raise UsageError(f"{source.name}: Spark has no JDBC driver for {source.scheme} "
                             f"({driver})",
                             f"apt-get install {package}, or name its jar in $CJM_SPARK_JARS "
                             "(docs/databases.md#spark).") from None
        message = source.hide(_database_message(text))
        if options.get("password"):
            message = message.replace(options["password"], HIDDEN)
        raise DataError(f"{source.name}: {message}",
                        "Check the URL, the credentials and --table/--query.") from None


def _messages(exc: BaseException) -> list[str]:
    """The error's message, and those of the Java exceptions that caused it (in local mode
    and with a master: over Spark Connect only the server's message comes)."""
    found = [str(exc)]
    java = getattr(exc, "_origin", None) or getattr(exc, "java_exception", None)
    with contextlib.suppress(Exception):  # the JVM may be gone
        while java is not None and len(found) < 10:
            found.append(str(java.toString()))
            java = java.getCause()
    return found


def _database_message(text: str) -> str:
    """The database's own words in a Spark error: the line of the driver's exception
    (``org.postgresql.util.PSQLException: …``), else Spark's first line."""
    lines = [line.strip().removeprefix(": ") for line in text.splitlines() if line.strip()]
    for line in lines:
        for marker in ("PSQLException: ", "SQLiteException: ", "SQLException: "):
            if marker in line:
                return line.split(marker, 1)[1]
    lines = [line for line in lines if not line.startswith("An error occurred while calling")]
    return lines[0] if lines else "the database failed"
