"""A database's rows as Arrow, for every engine: a DuckDB file read-only by DuckDB; SQLite,
PostgreSQL and the driver of an ``adbc:DRIVER:URI`` through ADBC (the low-level API: its
DB-API module imports pandas). The DuckDB engine scans the record batches where cjm runs;
Spark's executors yield them to Spark (cjm.engine.spark.database). Every error of a driver
or a database becomes one of cjm's, naming the source, its secrets hidden.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cjm.errors import CjmError, DataError, UsageError
from cjm.resources import classify
from cjm.sources import SCHEMES, DatabaseSource

_DRIVERS = {"sqlite": "adbc-driver-sqlite", "postgresql": "adbc-driver-postgresql"}


@contextlib.contextmanager
def connection(source: DatabaseSource) -> Iterator[Callable[[str], Any]]:
    """A function that runs SQL in the database and returns an Arrow RecordBatchReader;
    every error of the driver becomes a DataError that names the source, secrets hidden."""
    if source.scheme == "duckdb":
        import duckdb

        path = source.existing_file()
        database = guarded(source, lambda: duckdb.connect(str(path), read_only=True))
        try:
            yield lambda sql: guarded(source, lambda: database.sql(sql).to_arrow_reader())
        finally:
            database.close()
        return
    # SQLite read-only, as DuckDB opens its files; an adbc: URI goes as it is given.
    database = adbc_database(source, f"file:{quote(str(source.existing_file().resolve()))}?mode=ro"
                         if source.scheme == "sqlite" else source.connect_url)
    import adbc_driver_manager
    import pyarrow as pa

    opened: list[Any] = [database]
    try:
        connection = guarded(source, lambda: adbc_driver_manager.AdbcConnection(database))
        opened.append(connection)

        def run(sql: str):
            statement = adbc_driver_manager.AdbcStatement(connection)
            opened.append(statement)
            statement.set_sql_query(sql)
            stream, _ = guarded(source, statement.execute_query)
            return pa.RecordBatchReader._import_from_c(stream.address)

        yield run
    finally:
        for handle in reversed(opened):
            with contextlib.suppress(Exception):
                handle.close()


def adbc_database(source: DatabaseSource, uri: str):
    """The ADBC database ``uri`` with the source's driver: its scheme's package, or the
    driver of an adbc:DRIVER:URI; a driver that is not installed is a usage error."""
    if source.driver is None:
        driver = _driver(source)
        return guarded(source, lambda: driver.connect(uri))
    try:
        import adbc_driver_manager
    except ImportError:
        raise _not_installed(source) from None
    options = {"driver": _library(source.driver)} | ({"uri": uri} if uri else {})
    try:
        return adbc_driver_manager.AdbcDatabase(**options)
    except adbc_driver_manager.Error as exc:
        if exc.status_code != adbc_driver_manager.AdbcStatusCode.NOT_FOUND:
            raise failure(source, exc) from None
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


def guarded(source: DatabaseSource, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except CjmError:
        raise
    except Exception as exc:  # the driver's or the database's own errors
        raise failure(source, exc) from None


def failure(source: DatabaseSource, exc: Exception) -> CjmError:
    """A driver's error as cjm's: the database's first line, naming the source, no secret."""
    if (known := classify(exc)) is not None:
        return known
    return DataError(f"{source.name}: {source.hide(_first_line(exc))}",
                     "Check the URL, the credentials and --table/--query.")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
