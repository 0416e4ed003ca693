"""What every reader hands back: a table of text columns with line numbers, and its rejects."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cjm.pushdown import LeftInDatabase


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files: every field has a flag of the same name."""

    delimiter: str | None = None
    encoding: str | None = None


@dataclass
class Reject:
    """A row that could not be used, where it was, and why."""

    line: int
    reason: str
    content: str = ""


@dataclass
class FileLoad:
    """One file loaded into the engine as the relation ``relation``.

    The relation has the columns ``_line`` (the line where the row starts; for Parquet the row
    number) and the file's own columns, all as text except a Parquet file's own timestamps.

    A file read in place, in the one pass that makes the events, has a ``scan`` instead: a
    query of its columns and ``_row`` (the row's print) in file order, whose relation only
    peeks at the rows (no lines, the rejects skipped). That pass gives each row the
    provisional line of its number + 2. After it, ``finish(con, rows parsed)`` sets ``rows``
    and ``rejects`` and returns a query of (provisional, line) for the rows whose line
    differs, or None.
    """

    path: Path | str  # a database's name (cjm.sources.DatabaseSource.name) is no Path
    format: str
    relation: str
    rows: int
    columns: list[str]
    rejects: list[Reject] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scan: str | None = None
    finish: Callable[[Any, int], str | None] | None = None
    left: LeftInDatabase | None = None  # rows --since/--until left in a database


_PATTERN = frozenset("*?[]{}")  # what DuckDB's readers take as a glob in a file's name


def literal_path(path: Path, workdir: Path, index: int) -> Path:
    """``path`` as DuckDB reads exactly it: DuckDB globs the names it is given, so a file
    named ``shop[1].csv`` would be read as ``shop1.csv``; such a file is given as a link of
    a plain name in ``workdir`` (a copy where links cannot be made)."""
    if not _PATTERN & set(str(path)):
        return path
    link = workdir / f"input_{index}"  # the readers tell formats by content, not by name
    try:
        link.symlink_to(path.resolve())
    except OSError:
        shutil.copyfile(path, link)
    return link
