"""What every reader hands back: a table of text columns with line numbers, and its rejects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    query of ``_line`` (provisional: the row's number + 2), its columns and ``_row`` (the
    row's print), whose relation only peeks at the rows (no lines, the rejects skipped).
    After that pass, ``finish(con, rows parsed)`` sets ``rows`` and ``rejects`` and returns
    a query of (provisional, line) for the rows whose line differs, or None.
    """

    path: Path
    format: str
    relation: str
    rows: int
    columns: list[str]
    rejects: list[Reject] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scan: str | None = None
    finish: Callable[[Any, int], str | None] | None = None


RESERVED_COLUMNS = ("_line", "_file", "_row")  # the engine's own columns
# More columns than this is no event log but a broken export; refusing it beats a long wait.
MAX_COLUMNS = 20_000


class ColumnNames:
    """Unique column names for a file: the engine folds case, and reserves _line and _file."""

    def __init__(self) -> None:
        self.taken = {name.casefold() for name in RESERVED_COLUMNS}
        self.names: dict[str, str] = {}

    def __call__(self, raw: str, position: int | None = None) -> str:
        """The column name for a header or key ``raw`` (the same raw key, the same name)."""
        if position is None and raw in self.names:
            return self.names[raw]
        base = raw.strip() or (f"column{position}" if position is not None else "column")
        name, n = base, 1
        while name.casefold() in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name.casefold())
        if position is None:
            self.names[raw] = name
        return name


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
