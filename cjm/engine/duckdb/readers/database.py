"""A table or query of a database (SQLite, DuckDB, PostgreSQL, any ADBC driver), read as
Arrow into DuckDB.

The database runs the query twice: once with LIMIT 0 for the columns (named as a file's
header is, so that the roles are detected alike), then for the mapped columns alone, whose
Arrow record batches (cjm.database_rows: ADBC, or DuckDB for a DuckDB file) DuckDB scans
into a table.
A row has no line: it is numbered by its position when the rows are ordered by every column
read (NULLs last), an order that depends on the rows alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from cjm.database_rows import adbc_database, connection, guarded
from cjm.engine.duckdb.readers.base import FileLoad
from cjm.engine.duckdb.readers.parquet import ORIGINAL_FILE, ORIGINAL_LINE
from cjm.errors import DataError
from cjm.files import MAX_COLUMNS, ColumnNames
from cjm.pushdown import LeftInDatabase, WindowRead, arrow_kind
from cjm.schema import Kept
from cjm.sources import DatabaseSource, row_order, table_parts
from cjm.sql import sql_name

_KEEP_TYPES = ("TIMESTAMP", "DATE")


def load_database(con, source: DatabaseSource, index: int,
                  keep: Callable[[list[str]], Kept | None] | None = None,
                  window: WindowRead | None = None) -> FileLoad:
    """The rows of ``source`` as the relation of a FileLoad; ``keep`` as for files; with a
    ``window`` that can be sent (cjm.pushdown), only the rows it can need."""
    sql = source.relation_sql()
    with connection(source) as run:
        schema = run(f"SELECT * FROM ({sql}) AS cjm_rows LIMIT 0").schema
        names = schema.names
        if len(names) > MAX_COLUMNS:
            raise DataError(f"{source.name}: {len(names):,} columns; cjm reads at most "
                            f"{MAX_COLUMNS:,}", "Select the columns the journeys need.")
        original = ORIGINAL_LINE in names  # written by cjm convert: the rows' original lines
        names = [n for n in names if n not in (ORIGINAL_LINE, ORIGINAL_FILE)]
        unique = ColumnNames()
        aliases = {unique(name, position): name for position, name in enumerate(names, 1)}
        wanted = keep(list(aliases)) if keep is not None else None
        chosen = {alias: aliases[alias] for alias in (wanted.columns if wanted else aliases)}
        picked = [f"{sql_name(name)} AS {sql_name(alias)}" for alias, name in chosen.items()]
        if original:
            picked.append(sql_name(ORIGINAL_LINE))
        plan = window.plan(aliases, {f.name: arrow_kind(f.type) for f in schema}) \
            if window is not None else None
        left = None
        if plan is not None:
            _store(con, source, run(plan.rows_sql(sql, ", ".join(picked))), f"raw_{index}",
                   list(chosen), original)
            if _count(con, f"raw_{index}"):
                left = _left(con, source, run(plan.rest_sql(sql)))
            else:  # no row in the window: the whole table gives between()'s message
                con.execute(f"DROP TABLE raw_{index}")
        if left is None:
            reader = run(f"SELECT {', '.join(picked)} FROM ({sql}) AS cjm_rows")
            _store(con, source, reader, f"raw_{index}", list(chosen), original)
    relation = f"file_{index}"
    con.execute(f"CREATE VIEW {relation} AS SELECT * FROM raw_{index}")
    rows = _count(con, relation)
    details = {"rows_are": row_order(list(chosen), original)}
    if left is not None:
        details["left_in_database"] = left.rows
    return FileLoad(source.name, source.format, relation, rows, list(chosen), [], details,
                    notes=[left.note(rows)] if left else [], left=left)


def _count(con, relation: str) -> int:
    return con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]


def _left(con, source: DatabaseSource, reader) -> LeftInDatabase:
    """The rows left in the database and their events' span, as instants read as the
    events' are (a naive timestamp or a date in the session's time zone, --timezone)."""
    con.register("cjm_left", reader)
    try:
        rows, first, last = guarded(source, lambda: con.execute(
            "SELECT rows_left, epoch_us(try_cast(first_ts AS TIMESTAMPTZ)), "
            "epoch_us(try_cast(last_ts AS TIMESTAMPTZ)) FROM cjm_left").fetchall()[0])
    finally:
        con.unregister("cjm_left")
    return LeftInDatabase.of(rows, first, last)


def _store(con, source: DatabaseSource, reader, relation: str, columns: list[str],
           original: bool) -> None:
    """Scan the Arrow batches into the table ``relation``: _line, then the columns as text
    (real timestamps and dates stay typed, as in a Parquet file)."""
    con.register(f"arrow_{relation}", reader)
    try:
        kinds = dict(con.execute(f"SELECT column_name, column_type FROM "
                                 f"(DESCRIBE arrow_{relation})").fetchall())
        select = [sql_name(c) if kinds[c].upper().startswith(_KEEP_TYPES)
                  else f"CAST({sql_name(c)} AS VARCHAR) AS {sql_name(c)}" for c in columns]
        line = (f"CAST({ORIGINAL_LINE} AS BIGINT)" if original else
                "row_number() OVER (ORDER BY "
                + ", ".join(f"{sql_name(c)} NULLS LAST" for c in columns) + ")")
        guarded(source, lambda: con.execute(
            f"CREATE TABLE {relation} AS SELECT {line} AS _line, {', '.join(select)} "
            f"FROM arrow_{relation}"))
    finally:
        con.unregister(f"arrow_{relation}")


def write_table(con, select: str, target: DatabaseSource) -> None:
    """Write the rows of ``select`` (run by ``con``) to the new table ``target.table``, as
    Arrow: DuckDB writes a DuckDB file itself, ADBC's bulk ingest the others."""
    parts = table_parts(target.table or "")
    if target.scheme == "duckdb":
        from cjm.sql import sql_string

        con.execute(f"ATTACH {sql_string(target.path)} AS cjm_target")
        try:
            guarded(target, lambda: con.execute(
                f"CREATE TABLE cjm_target.{'.'.join(sql_name(p) for p in parts)} AS {select}"))
        finally:
            con.execute("DETACH cjm_target")
        return
    database = adbc_database(target, target.path if target.scheme == "sqlite"
                             else target.connect_url)
    import adbc_driver_manager
    from adbc_driver_manager import _lib

    reader = con.sql(select).to_arrow_reader()
    options = {_lib.INGEST_OPTION_TARGET_TABLE: parts[-1],
               _lib.INGEST_OPTION_MODE: _lib.INGEST_OPTION_MODE_CREATE}
    if len(parts) > 1:
        options[adbc_driver_manager.StatementOptions.INGEST_TARGET_DB_SCHEMA.value] = parts[-2]
    with contextlib.ExitStack() as stack:
        stack.callback(database.close)
        connection = guarded(target, lambda: adbc_driver_manager.AdbcConnection(database))
        stack.callback(connection.close)
        statement = adbc_driver_manager.AdbcStatement(connection)
        stack.callback(statement.close)
        statement.set_options(**options)
        handle = _lib.ArrowArrayStreamHandle()
        reader._export_to_c(handle.address)
        statement.bind_stream(handle)
        guarded(target, statement.execute_update)
