"""Readers: each loads one file into the engine as text columns with line numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cjm.engine.duckdb.readers.base import FileLoad, ReadOptions, Reject
from cjm.engine.duckdb.readers.delimited import load_csv
from cjm.engine.duckdb.readers.parquet import load_parquet
from cjm.engine.duckdb.readers.records import load_json, load_jsonl, load_xes
from cjm.files import detect_format, read_sample
from cjm.schema import Kept

__all__ = ["FileLoad", "ReadOptions", "Reject", "load_file"]


def load_file(con, path: Path, index: int, options: ReadOptions, workdir: Path,
              keep: Callable[[list[str]], Kept | None] | None = None) -> FileLoad:
    """Load ``path`` as the relation of a FileLoad. ``keep`` gives, from a file's columns,
    the ones to hold and those the row's print covers (cjm.schema.Kept; None: all); a CSV
    file is then parsed into those alone, and the print."""
    fmt = detect_format(path, read_sample(path, 4096))
    if fmt == "csv":
        return load_csv(con, path, index, options, workdir, keep)
    if fmt == "parquet":
        return load_parquet(con, path, index, workdir)
    if fmt == "jsonl":
        return load_jsonl(con, path, index, workdir)
    if fmt == "json":
        return load_json(con, path, index, workdir)
    return load_xes(con, path, index, workdir)
