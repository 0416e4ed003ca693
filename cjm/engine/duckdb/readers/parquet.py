"""Parquet, read in place by DuckDB; the row number in the file stands in for the line."""

from __future__ import annotations

from pathlib import Path

from cjm.engine.duckdb.readers.base import FileLoad, literal_path
from cjm.errors import DataError
from cjm.files import MAX_COLUMNS, ColumnNames
from cjm.resources import classify
from cjm.sql import sql_name, sql_string

_KEEP_TYPES = ("TIMESTAMP", "DATE")
_ROW_NUMBER = "file_row_number"  # the column DuckDB adds for file_row_number=true
ORIGINAL_LINE, ORIGINAL_FILE = "cjm_line", "cjm_file"  # cjm convert's: where a row came from


def load_parquet(con, path: Path, index: int, workdir: Path) -> FileLoad:
    readable = sql_string(str(literal_path(path, workdir, index)))
    plain = f"read_parquet({readable})"
    try:
        schema = con.execute(f"DESCRIBE SELECT * FROM {plain}").fetchall()
        rows = con.execute(f"SELECT count(*) FROM {plain}").fetchall()[0][0]
    except Exception as exc:  # duckdb's own errors: a damaged or foreign file
        if (known := classify(exc)) is not None:  # ...or the machine running out
            raise known from None
        if "no magic bytes found at end" in str(exc).lower() and _starts_as_parquet(path):
            raise DataError(f"{path}: cannot read as Parquet: the file ends early (truncated) "
                            "or is damaged: its footer, which holds the columns and where the "
                            "rows are, is missing",
                            "Check that the download or copy is complete: nothing of a "
                            "Parquet file can be read without its footer.") from None
        raise DataError(f"{path}: cannot read as Parquet: {_first_line(exc)}") from None
    if len(schema) > MAX_COLUMNS:
        raise DataError(f"{path}: {len(schema):,} columns; cjm reads at most {MAX_COLUMNS:,}",
                        "Write the file with the columns the journeys need.")
    if any(name.casefold() == _ROW_NUMBER for name, *_ in schema):
        # DuckDB cannot number the rows under another name: copy the file in its row order.
        source = f"raw_{index}"
        con.execute("SET preserve_insertion_order = true")
        _scan(con, f"CREATE TABLE {source} AS SELECT * FROM {plain}", path)
        line = "rowid + 1"
    else:
        source = f"read_parquet({readable}, file_row_number=true)"
        line = f"{_ROW_NUMBER} + 1"
    details = {"rows_are": "row numbers"}
    if any(name == ORIGINAL_LINE for name, *_ in schema):  # written by cjm convert
        line, details = ORIGINAL_LINE, {"rows_are": "lines of the original file"}
        schema = [column for column in schema if column[0] not in (ORIGINAL_LINE, ORIGINAL_FILE)]
    unique = ColumnNames()
    columns, select, text = [], [], []
    for position, (name, kind, *_) in enumerate(schema, start=1):
        # The engine folds case and owns _line and _file: give each column a name of its own.
        alias = unique(name, position)
        columns.append(alias)
        # Text first, as for every format; real timestamps stay timestamps.
        if kind.upper().startswith(_KEEP_TYPES):
            select.append(f"{sql_name(name)} AS {sql_name(alias)}")
        else:
            select.append(f"CAST({sql_name(name)} AS VARCHAR) AS {sql_name(alias)}")
            if kind.upper() == "VARCHAR":
                text.append(name)
    if text:
        # Text that is not UTF-8 fails only when read: read it now, where the file is named.
        _scan(con, "SELECT " + ", ".join(f"max(length({sql_name(n)}))" for n in text)
              + f" FROM {plain}", path)
    relation = f"file_{index}"
    con.execute(
        f"CREATE VIEW {relation} AS SELECT {line} AS _line, {', '.join(select)} FROM {source}"
    )
    return FileLoad(path, "parquet", relation, rows, columns, [], details)


def _scan(con, sql: str, path: Path) -> None:
    try:
        con.execute(sql).fetchall()
    except Exception as exc:  # duckdb's own errors: damaged pages, text that is not UTF-8
        if (known := classify(exc)) is not None:
            raise known from None
        raise DataError(f"{path}: cannot read as Parquet: {_first_line(exc)}",
                        "Check the file; text columns must hold UTF-8.") from None


def _starts_as_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
