"""A table or query of a database, read by Spark's executors: SQLite and PostgreSQL by
Spark's JDBC source, a DuckDB file and any ``adbc:DRIVER:URI`` as Arrow.

The executors read, not the driver: the database is asked for the result's columns, cjm
detects the roles from them as from a file's header, and the executors then read the
mapped columns alone (``SELECT "journey_id", … FROM (…)``). The rows are numbered as the
DuckDB engine numbers them (cjm.engine.duckdb.readers.database): by their position when
ordered by every column read, NULLs last.

JDBC: the drivers are the jars on Spark's classpath (cjm.engine.spark.session.jdbc_jars);
Spark's JDBC source asks for the columns (``WHERE 1=0``) and prunes the scan to the mapped
ones. The password goes in the ``password`` option alone, which Spark redacts in its plans,
never in the JDBC URL.

Arrow (no DuckDB JDBC driver is packaged): one task on an executor opens the database as
the DuckDB engine does (cjm.database_rows: the DuckDB file read-only, or the ADBC driver
with the credentials) and sends back the result's Arrow schema alone; then one task
(``mapInArrow``) yields the Arrow record batches of the mapped columns. The executors need
cjm, pyarrow and duckdb or the ADBC driver, and a file at the same path. The source, its
URL's password with it, is pickled into the task's function: Spark's plans show the
function's name alone (``MapInArrow partial(…)``), never its bytes. An error on an executor
comes back as cjm's own (ARROW_ERROR), its secrets hidden there.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from cjm.errors import CjmError, DataError, ResourceError, UsageError
from cjm.pushdown import LeftInDatabase, Pushdown, WindowRead, arrow_kind
from cjm.schema import Kept
from cjm.sources import HIDDEN, DatabaseSource, row_order
from cjm.sql import sql_name

ORIGINAL_LINE, ORIGINAL_FILE = "cjm_line", "cjm_file"  # cjm convert's: where a row came from
# The driver class of each database Spark's JDBC source reads, and the Debian package that
# installs its jar; the others are read as Arrow.
DRIVERS = {"sqlite": ("org.sqlite.JDBC", "libxerial-sqlite-jdbc-java"),
           "postgresql": ("org.postgresql.Driver", "libpostgresql-jdbc-java")}
# How an executor's error reaches the driver: this, then its class, message and hint as JSON.
ARROW_ERROR = "cjm-error "
_ERRORS = {kind.__name__: kind for kind in (DataError, ResourceError, UsageError)}
# cjm.pushdown's kind of each Spark type of a real timestamp column.
_KINDS = {"timestamp": "timestamptz", "timestamp_ntz": "timestamp", "date": "date"}


def jdbc_options(source: DatabaseSource) -> dict[str, str]:
    """The options of Spark's JDBC source for ``source``: its JDBC URL (never with the
    password), driver class, user and password; none for a source read as Arrow. A usage
    error for a SQLite or DuckDB file that does not exist."""
    if source.scheme not in DRIVERS:  # a DuckDB file, or any ADBC driver's adbc: URL
        if source.scheme == "duckdb":
            source.existing_file()
        return {}
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
                  keep: Callable[[list[str]], Kept | None],
                  window: WindowRead | None = None
                  ) -> tuple[Any, list[str], str, Pushdown | None]:
    """The rows of ``source`` as a DataFrame of ``_line`` and the columns that ``keep``
    picks (all when it cannot tell), in the database's own types; those columns; how
    the rows are numbered (the reading report's ``rows_are``); and the ``window`` as it
    was sent to the database (cjm.pushdown), if it could be."""
    from pyspark.sql import functions as F

    from cjm.files import ColumnNames

    with guard(source, options):
        if options:
            frame = _jdbc(spark, options, source.relation_sql())
            names = frame.columns
            kinds = {f.name: _KINDS.get(f.dataType.typeName()) for f in frame.schema.fields}
        else:
            schema = _arrow_schema(spark, source, _select(source, None))
            names, kinds = schema.names, {f.name: arrow_kind(f.type) for f in schema}
    original = ORIGINAL_LINE in names  # a table cjm convert wrote: the rows' original lines
    kept = [(i, n) for i, n in enumerate(names) if n not in (ORIGINAL_LINE, ORIGINAL_FILE)]
    unique = ColumnNames()
    aliases = {unique(name, position): i for position, (i, name) in enumerate(kept, 1)}
    plan = window.plan({a: names[i] for a, i in aliases.items()}, kinds) if window else None
    chosen = wanted.columns if (wanted := keep(list(aliases))) else list(aliases)
    read = [aliases[alias] for alias in chosen] + ([names.index(ORIGINAL_LINE)] if original
                                                    else [])
    # Named by position while read, so that any column name (dots, `_line`) is taken as is.
    if options:  # the JDBC scan reads the columns selected alone
        if plan is not None:  # every column still, in their order: the scan prunes them
            with guard(source, options):
                frame = _jdbc(spark, options, plan.rows_sql(source.relation_sql(), "*"))
        positional = frame.toDF(*[f"_c{i}" for i in range(len(names))])
    else:
        with guard(source, options):
            positional = _arrow_rows(spark, source, _select(source, [names[i] for i in read],
                                                            plan)).toDF(
                *[f"_c{i}" for i in read])
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
    return renamed, chosen, row_order(chosen, original), plan


def left_in_database(spark, source: DatabaseSource, options: dict[str, str],
                     plan: Pushdown) -> LeftInDatabase:
    """The rows ``plan`` left in the database and their events' span, asked of it by the
    executors, the timestamps read as the events' are (cjm.engine.spark.timestamps)."""
    from cjm.engine.spark.timestamps import with_native

    sql = plan.rest_sql(source.relation_sql())
    with guard(source, options):
        frame = _jdbc(spark, options, sql) if options else _arrow_rows(spark, source, sql)
        for name in ("first_ts", "last_ts"):
            frame = with_native(frame, name, frame.schema[name].dataType.typeName(),
                                f"{name}_us", plan.timezone)
        row = frame.select("rows_left", "first_ts_us", "last_ts_us").collect()[0]
    return LeftInDatabase.of(*row)


def _jdbc(spark, options: dict[str, str], sql: str):
    """The rows of ``sql``, read by Spark's JDBC source (a timestamp without zone as such)."""
    return (spark.read.format("jdbc").options(**options).option("query", sql)
            .option("preferTimestampNTZ", "true").load())


def _arrow_schema(spark, source: DatabaseSource, sql: str):
    """The Arrow schema (in the types Spark reads) of the result of ``sql``, asked of the
    database by one task on an executor. A driver that infers types from values (SQLite's)
    sees the rows the read will see first."""
    import pyarrow as pa

    found = spark.range(1, numPartitions=1).mapInArrow(
        functools.partial(_schema_batches, source, sql), "schema binary").collect()
    return pa.ipc.read_schema(pa.py_buffer(found[0][0]))


def _arrow_rows(spark, source: DatabaseSource, sql: str) -> Any:
    """The rows of ``sql``, read by one task on an executor, as Arrow record batches."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = _arrow_schema(spark, source, sql)
    return spark.range(1, numPartitions=1).mapInArrow(
        functools.partial(_row_batches, source, schema, sql),
        from_arrow_schema(schema, prefer_timestamp_ntz=True))


def _select(source: DatabaseSource, columns: list[str] | None,
            plan: Pushdown | None = None) -> str:
    """The SQL of ``columns`` of the result (only the rows ``plan`` sends); without
    columns, of no row of every column."""
    if columns is None:
        return f"SELECT * FROM ({source.relation_sql()}) AS cjm_rows LIMIT 0"
    picked = ", ".join(sql_name(c) for c in columns)
    if plan is not None:
        return plan.rows_sql(source.relation_sql(), picked)
    return f"SELECT {picked} FROM ({source.relation_sql()}) AS cjm_rows"


def _schema_batches(source: DatabaseSource, sql: str, _tasks: Iterator[Any]) -> Iterator[Any]:
    """On an executor: the Arrow schema of the result, as Spark reads it, in one cell."""
    import pyarrow as pa

    from cjm.database_rows import connection

    with _reported(source), connection(source) as run:
        found = _for_spark(run(sql).schema)
    yield pa.RecordBatch.from_pydict({"schema": [found.serialize().to_pybytes()]})


def _row_batches(source: DatabaseSource, schema, sql: str,
                 _tasks: Iterator[Any]) -> Iterator[Any]:
    """On an executor: the record batches of the result, in the types of ``schema``."""
    import pyarrow as pa

    from cjm.database_rows import connection

    with _reported(source), connection(source) as run:
        for batch in run(sql):
            yield pa.RecordBatch.from_arrays(
                [c.cast(f.type) for c, f in zip(batch.columns, schema, strict=True)],
                schema=schema)


def _for_spark(schema):
    """``schema`` in the Arrow types Spark reads: timestamps in microseconds, dates as
    date32, text as string, and as text any type Spark has none for."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_type

    def kind(found):
        if pa.types.is_timestamp(found):
            return pa.timestamp("us", found.tz)
        if pa.types.is_date(found):
            return pa.date32()
        if pa.types.is_large_string(found) or pa.types.is_dictionary(found):
            return pa.string()
        try:
            from_arrow_type(found)
        except Exception:  # pyspark's own TypeError or PySparkTypeError
            return pa.string()
        return found

    return pa.schema([pa.field(field.name, kind(field.type)) for field in schema])


@contextlib.contextmanager
def _reported(source: DatabaseSource) -> Iterator[None]:
    """On an executor: any error as cjm's (secrets hidden), in a line ``guard`` finds."""
    from cjm.database_rows import failure

    try:
        yield
    except ImportError as exc:
        error: CjmError = _not_on_executors(source, exc.name or str(exc))
    except Exception as exc:
        error = failure(source, exc)
    else:
        return
    raise RuntimeError(ARROW_ERROR + json.dumps([type(error).__name__, error.message,
                                                 error.hint])) from None


def _not_on_executors(source: DatabaseSource, module: str) -> UsageError:
    return UsageError(f"{source.name}: Spark's executors cannot import {module}",
                      "Install cjm with its drivers (pip install 'cjm[db]') in the Python "
                      "of Spark's executors (docs/databases.md#spark).")


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
        if (found := re.search(re.escape(ARROW_ERROR) + r"(\[.*\])", text)) is not None:
            kind, message, hint = json.loads(found.group(1))
            raise _ERRORS.get(kind, CjmError)(message, hint) from None
        if (missing := re.search(r"No module named '([\w.]+)'", text)) is not None:
            raise _not_on_executors(source, missing.group(1)) from None
        driver, package = DRIVERS.get(source.scheme, ("", ""))
        if driver and (f"ClassNotFoundException: {driver}" in text
                       or "No suitable driver" in text):
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
