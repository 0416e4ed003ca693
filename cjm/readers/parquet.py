"""Parquet, read in place by DuckDB; the row number in the file stands in for the line."""

from __future__ import annotations

from pathlib import Path

from cjm.errors import DataError
from cjm.readers.base import FileLoad, sql_name, sql_string

_KEEP_TYPES = ("TIMESTAMP", "DATE")


def load_parquet(con, path: Path, index: int) -> FileLoad:
    source = f"read_parquet({sql_string(str(path))}, file_row_number=true)"
    try:
        schema = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        rows = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    except Exception as exc:  # duckdb's own errors: a damaged or foreign file
        message = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: cannot read as Parquet: {message}") from None
    columns, select = [], []
    for name, kind, *_ in schema:
        if name == "file_row_number":
            continue
        columns.append(name)
        # Text first, as for every format; real timestamps stay timestamps.
        if kind.upper().startswith(_KEEP_TYPES):
            select.append(sql_name(name))
        else:
            select.append(f"CAST({sql_name(name)} AS VARCHAR) AS {sql_name(name)}")
    relation = f"file_{index}"
    con.execute(
        f"CREATE VIEW {relation} AS SELECT file_row_number + 1 AS _line, {', '.join(select)} "
        f"FROM {source}"
    )
    return FileLoad(path, "parquet", relation, rows, columns, [], {"rows_are": "row numbers"})
