"""A table or query of a database (SQLite, DuckDB, PostgreSQL, any ADBC driver), read as
Arrow into DuckDB.

The database runs the query twice: once with LIMIT 0 for the columns (named as a file's
header is, so that the roles are detected alike), then for the mapped columns alone, whose
Arrow record batches DuckDB scans into a table. SQLite, PostgreSQL and the driver of an
``adbc:DRIVER:URI`` are read through ADBC (the low-level API: its DB-API module imports
pandas); a DuckDB file by DuckDB, read-only.
A row has no line: it is numbered by its position when the rows are ordered by every column
read (NULLs last), an order that depends on the rows alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cjm.engine.duckdb.readers.base import FileLoad
from cjm.engine.duckdb.readers.parquet import ORIGINAL_FILE, ORIGINAL_LINE
from cjm.errors import CjmError, DataError, UsageError
from cjm.files import MAX_COLUMNS, ColumnNames
from cjm.resources import classify
from cjm.sources import SCHEMES, DatabaseSource, row_order, table_parts
from cjm.sql import sql_name

_KEEP_TYPES = ("TIMESTAMP", "DATE")
_DRIVERS = {"sqlite": "adbc-driver-sqlite", "postgresql": "adbc-driver-postgresql"}


def load_database(con, source: DatabaseSource, index: int,
                  keep: Callable[[list[str]], list[str] | None] | None = None) -> FileLoad:
    """The rows of ``source`` as the relation of a FileLoad; ``keep`` as for files."""
    sql = source.relation_sql()
    with _connection(source) as run:
        names = run(f"SELECT * FROM ({sql}) AS cjm_rows LIMIT 0").schema.names
        if len(names) > MAX_COLUMNS:
            raise DataError(f"{source.name}: {len(names):,} columns; cjm reads at most "
                            f"{MAX_COLUMNS:,}", "Select the columns the journeys need.")
        original = ORIGINAL_LINE in names  # written by cjm convert: the rows' original lines
        names = [n for n in names if n not in (ORIGINAL_LINE, ORIGINAL_FILE)]
        unique = ColumnNames()
        aliases = {unique(name, position): name for position, name in enumerate(names, 1)}
        wanted = keep(list(aliases)) if keep is not None else None
        chosen = {alias: aliases[alias] for alias in (wanted or aliases)}
        picked = [f"{sql_name(name)} AS {sql_name(alias)}" for alias, name in chosen.items()]
        if original:
            picked.append(sql_name(ORIGINAL_LINE))
        reader = run(f"SELECT {', '.join(picked)} FROM ({sql}) AS cjm_rows")
        relation = f"file_{index}"
        _store(con, source, reader, f"raw_{index}", list(chosen), original)
    con.execute(f"CREATE VIEW {relation} AS SELECT * FROM raw_{index}")
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    return FileLoad(source.name, source.format, relation, rows, list(chosen), [],
                    {"rows_are": row_order(list(chosen), original)})


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
        _guard(source, lambda: con.execute(
            f"CREATE TABLE {relation} AS SELECT {line} AS _line, {', '.join(select)} "
            f"FROM arrow_{relation}"))
    finally:
        con.unregister(f"arrow_{relation}")


@contextlib.contextmanager
def _connection(source: DatabaseSource) -> Iterator[Callable[[str], Any]]:
    """A function that runs SQL in the database and returns an Arrow RecordBatchReader;
    every error of the driver becomes a DataError that names the source, secrets hidden."""
    if source.scheme == "duckdb":
        import duckdb

        path = source.existing_file()
        database = _guard(source, lambda: duckdb.connect(str(path), read_only=True))
        try:
            yield lambda sql: _guard(source, lambda: database.sql(sql).to_arrow_reader())
        finally:
            database.close()
        return
    # SQLite read-only, as DuckDB opens its files; an adbc: URI goes as it is given.
    database = _database(source, f"file:{quote(str(source.existing_file().resolve()))}?mode=ro"
                         if source.scheme == "sqlite" else source.connect_url)
    import adbc_driver_manager
    import pyarrow as pa

    opened: list[Any] = [database]
    try:
        connection = _guard(source, lambda: adbc_driver_manager.AdbcConnection(database))
        opened.append(connection)

        def run(sql: str):
            statement = adbc_driver_manager.AdbcStatement(connection)
            opened.append(statement)
            statement.set_sql_query(sql)
            stream, _ = _guard(source, statement.execute_query)
            return pa.RecordBatchReader._import_from_c(stream.address)

        yield run
    finally:
        for handle in reversed(opened):
            with contextlib.suppress(Exception):
                handle.close()


def _database(source: DatabaseSource, uri: str):
    """The ADBC database ``uri`` with the source's driver: its scheme's package, or the
    driver of an adbc:DRIVER:URI; a driver that is not installed is a usage error."""
    if source.driver is None:
        driver = _driver(source)
        return _guard(source, lambda: driver.connect(uri))
    try:
        import adbc_driver_manager
    except ImportError:
        raise _not_installed(source) from None
    options = {"driver": _library(source.driver)} | ({"uri": uri} if uri else {})
    try:
        return adbc_driver_manager.AdbcDatabase(**options)
    except adbc_driver_manager.Error as exc:
        if exc.status_code != adbc_driver_manager.AdbcStatusCode.NOT_FOUND:
            raise _failure(source, exc) from None
    raise _not_installed(source)


def _not_installed(source: DatabaseSource) -> UsageError:
    hint = (f"Or install it with dbc (dbc install {source.format}), or name its library: "
            "adbc:/path/to/libadbc_driver_x.so:URI (docs/databases.md).")
    if any(sep in (source.driver or "") for sep in "/\\"):
        return UsageError(f"{source.name}: no ADBC driver library at {source.driver}", hint)
    return UsageError(f"{source.name}: the ADBC driver {source.driver} is not installed: "
                      f"pip install adbc-driver-{source.format.replace('_', '-')}", hint)


def _library(driver: str) -> str:
    """The library of an adbc:DRIVER: the one the pip package adbc-driver-NAME (or the
    package named) bundles, else the name or path as given, which ADBC's driver manager
    looks up (dbc's manifests, $ADBC_DRIVER_PATH, the library path)."""
    import importlib.util

    module = driver if driver.startswith("adbc_driver_") else f"adbc_driver_{driver}"
    spec = importlib.util.find_spec(module) if module.isidentifier() else None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(folder) / f"lib{module}.so"  # named so on every platform
        if bundled.is_file():
            return str(bundled)
    return driver


def _driver(source: DatabaseSource):
    import importlib

    try:
        return importlib.import_module(SCHEMES[source.scheme] or "")
    except ImportError:
        raise UsageError(f"{source.name}: reading {source.scheme} needs the "
                         f"{_DRIVERS[source.scheme]} package",
                         "pip install 'cjm[db]'") from None


def _guard(source: DatabaseSource, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except CjmError:
        raise
    except Exception as exc:  # the driver's or the database's own errors
        raise _failure(source, exc) from None


def _failure(source: DatabaseSource, exc: Exception) -> CjmError:
    """A driver's error as cjm's: the database's first line, naming the source, no secret."""
    if (known := classify(exc)) is not None:
        return known
    return DataError(f"{source.name}: {source.hide(_first_line(exc))}",
                     "Check the URL, the credentials and --table/--query.")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_table(con, select: str, target: DatabaseSource) -> None:
    """Write the rows of ``select`` (run by ``con``) to the new table ``target.table``, as
    Arrow: DuckDB writes a DuckDB file itself, ADBC's bulk ingest the others."""
    parts = table_parts(target.table or "")
    if target.scheme == "duckdb":
        from cjm.sql import sql_string

        con.execute(f"ATTACH {sql_string(target.path)} AS cjm_target")
        try:
            _guard(target, lambda: con.execute(
                f"CREATE TABLE cjm_target.{'.'.join(sql_name(p) for p in parts)} AS {select}"))
        finally:
            con.execute("DETACH cjm_target")
        return
    database = _database(target, target.path if target.scheme == "sqlite" else target.connect_url)
    import adbc_driver_manager
    from adbc_driver_manager import _lib

    reader = con.sql(select).to_arrow_reader()
    options = {_lib.INGEST_OPTION_TARGET_TABLE: parts[-1],
               _lib.INGEST_OPTION_MODE: _lib.INGEST_OPTION_MODE_CREATE}
    if len(parts) > 1:
        options[adbc_driver_manager.StatementOptions.INGEST_TARGET_DB_SCHEMA.value] = parts[-2]
    with contextlib.ExitStack() as stack:
        stack.callback(database.close)
        connection = _guard(target, lambda: adbc_driver_manager.AdbcConnection(database))
        stack.callback(connection.close)
        statement = adbc_driver_manager.AdbcStatement(connection)
        stack.callback(statement.close)
        statement.set_options(**options)
        handle = _lib.ArrowArrayStreamHandle()
        reader._export_to_c(handle.address)
        statement.bind_stream(handle)
        _guard(target, statement.execute_update)
