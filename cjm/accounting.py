"""What every engine reports of a log it read: files, rows, events, rejects, roles.

Every row read is either an event, a reject (with its file, line and reason) or set aside by
an option the user chose (lifecycle, duplicates, or --since/--until, which leave rows in a
database: cjm.pushdown): rows = events + rejected + filtered, per file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from cjm.config import ROLE_KEYS, Config
from cjm.errors import DataError, UsageError
from cjm.quality import QualityWarning
from cjm.schema import OPTIONAL_ROLES, ROLES, Mapping
from cjm.timestamps import TimestampFormat
from cjm.units import format_count, format_counted

LIFECYCLE_MODES = ("complete", "all")
WITHHELD = "(withheld: --pseudonymize or --min-journeys)"  # a raw row may hold ids


@dataclass(frozen=True)
class FileReport:
    """The accounting of one input file."""

    path: str
    format: str
    rows: int
    events: int
    rejected: int
    filtered: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "rows": self.rows, "events": self.events,
            "rejected": self.rejected, "filtered": self.filtered, **self.details,
        }


class LogTotals:
    """The row accounting and roles of a log, whichever engine holds its events."""

    files: list[FileReport]
    mapping: Mapping

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def events_read(self) -> int:
        """The events the files gave: a log's own ``events`` may be a selection of them."""
        return sum(f.events for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def filtered(self) -> int:
        return sum(f.filtered for f in self.files)

    @property
    def roles(self) -> tuple[str, ...]:
        """The optional roles this log has (channel, segment, …)."""
        return tuple(r for r in OPTIONAL_ROLES if r in self.mapping)


@dataclass
class LogInfo(LogTotals):
    """What a log is, as plain data: how it was read and its figures, without its engine.

    Results (JourneyMap, …) hold this, so that they outlive the log and its connection.
    """

    files: list[FileReport]
    mapping: Mapping
    timestamp_format: TimestampFormat
    timezone: str
    notes: list[str]
    warnings: list[QualityWarning]
    events: int
    journeys: int
    stages: int
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    journey_gap_seconds: float | None = None
    label: str | None = None  # what a subset is: "segment = vip", "2024-Q3"
    buckets: int = 1  # discover() orders the journeys in this many groups (a log > memory)
    memory_limit: int | None = None  # bytes the whole process may hold (--memory-limit)
    min_journeys: int = 1  # --min-journeys: what fewer journeys share is left out of outputs
    private: bool = False  # pseudonyms or --min-journeys: rejected rows' content is withheld
    session_column: str | None = None  # a column naming visits, when journeys are not by it
    config: Config = field(default_factory=Config)  # the settings it was read with

    def info(self) -> LogInfo:
        """This log's plain data, apart from its engine."""
        return LogInfo(**{f.name: getattr(self, f.name) for f in fields(LogInfo)})


def given_roles(columns: dict[str, str] | None, config: Config) -> dict[str, tuple[str, str]]:
    given: dict[str, tuple[str, str]] = {}
    for role, key in zip(ROLES, ROLE_KEYS, strict=True):
        if config.get(key):
            given[role] = (str(config.get(key)), config.source)
    for role, column in (columns or {}).items():
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", "Roles: " + ", ".join(ROLES))
        if column:
            given[role] = (column, "flag")
    return given


def nothing_left(log: Any) -> DataError:
    """The error for a log that kept no event, naming the main reason and where it starts."""
    where = log.files[0].path if len(log.files) == 1 else f"{len(log.files)} files"
    counts = (f"{format_counted(log.rows, 'rows')} read, {format_count(log.rejected)} "
              f"rejected, {format_count(log.filtered)} filtered")
    reasons = log.reject_reasons(1)
    if not reasons:
        return DataError(f"{where}: no events to work with ({counts})",
                         "Check --lifecycle and --drop-duplicates." if log.filtered else None)
    top = reasons[0]
    return DataError(
        f"{where}: no events to work with ({counts}); {format_counted(top['count'], 'rows')}: "
        f"{top['reason']}, first at {top['examples'][0]}",
        "Check the column mapping and --timestamp-format; --rejects FILE.csv lists every row.",
    )


def write_rejects(rows: list[dict[str, Any]], path: str | Path) -> int:
    """Write rejects (file, line, reason, content) as CSV, atomically; returns how many."""
    import csv

    from cjm.safety import atomic_writer, neutralise_formula

    with atomic_writer(Path(path), newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "reason", "content"])
        for row in rows:
            writer.writerow([neutralise_formula(str(row[k])) for k in
                             ("file", "line", "reason", "content")])
    return len(rows)
