"""Readers: each loads one file into the engine as text columns with line numbers."""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path

from cjm.errors import UsageError
from cjm.readers.base import FileLoad, ReadOptions, Reject
from cjm.readers.delimited import load_csv
from cjm.readers.parquet import load_parquet
from cjm.readers.records import load_json, load_jsonl, load_xes
from cjm.readers.sniff import detect_format, read_sample

__all__ = ["FileLoad", "ReadOptions", "Reject", "expand_paths", "load_file"]


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files named or matched by globs, in the order given (glob matches sorted)."""
    files: list[Path] = []
    for item in paths:
        text = str(item)
        if any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"{text}: no file matches this pattern")
            files.extend(Path(m) for m in matches if Path(m).is_file())
            continue
        path = Path(text)
        if not path.exists():
            raise UsageError(f"{text}: no such file")
        if path.is_dir():
            raise UsageError(f"{text}: is a folder", f"Give files or a glob such as {text}/*.csv")
        if not path.is_file():
            # A pipe or device is read more than once (sniffing, then reading), or never ends.
            raise UsageError(f"{text}: not a regular file (a pipe or a device)",
                             "Save the data to a file first.")
        files.append(path)
    if not files:
        raise UsageError("no input files given")
    return files


def load_file(con, path: Path, index: int, options: ReadOptions, workdir: Path,
              keep: Callable[[list[str]], list[str] | None] | None = None) -> FileLoad:
    """Load ``path`` as the relation of a FileLoad. ``keep`` names, from a file's columns,
    the ones to hold (None: all); a CSV file is then parsed into those alone."""
    fmt = detect_format(path, read_sample(path, 4096))
    if fmt == "csv":
        return load_csv(con, path, index, options, workdir, keep)
    if fmt == "parquet":
        return load_parquet(con, path, index)
    if fmt == "jsonl":
        return load_jsonl(con, path, index, workdir)
    if fmt == "json":
        return load_json(con, path, index, workdir)
    return load_xes(con, path, index, workdir)
