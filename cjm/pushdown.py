"""``--since``/``--until`` sent to a database as a WHERE, for every engine.

The database sends the rows of the journey ids (cases) that have a row in the window, a
superset of what cjm.segments.between() keeps in either mode: a journey whose first event
is in the window has a row there (also when --journey-gap splits a case), and a clipped
event is one. between() still selects after the read, so every figure about the journeys
is a full read's. One aggregate counts the rows left in the database (set aside by the
window, as the accounting says) and finds the first and last of their would-be events, so
that the log's span (the log's end for "still active", the empty window's message) is the
whole table's.

Sent only for a single window known when the log is read, a timestamp column of a real
timestamp or date type (a text one is parsed by cjm, with format detection that SQL cannot
repeat), and when no option decides which rows are events from every row (a lifecycle
column kept by --lifecycle complete, --collapse-repeats).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cjm.engine.semantics import EARLIEST_EVENT, LATEST_EVENT, instant
from cjm.errors import CjmError
from cjm.schema import resolve_mapping
from cjm.sql import sql_name, sql_string
from cjm.units import format_count, format_counted

KINDS = ("timestamptz", "timestamp", "date")  # a real timestamp column's type, as sent


@dataclass(frozen=True)
class WindowRead:
    """The window a read may send to a database: read_log's ``since`` and ``until``, and
    the reading options that decide whether it can."""

    since: datetime | None
    until: datetime | None
    timezone: str  # naive timestamps and dates are read in it
    given: dict[str, tuple[str, str]]  # the roles the user named
    lifecycle: str
    collapse_repeats: bool

    def plan(self, aliases: dict[str, str], kinds: dict[str, str | None]) -> Pushdown | None:
        """The WHERE for a result whose columns are ``aliases`` (cjm's name -> the
        database's) of ``kinds`` (the database's name -> one of KINDS or None); None when
        the window cannot be sent."""
        if self.collapse_repeats or (self.since is None and self.until is None):
            return None
        try:
            mapping = resolve_mapping(list(aliases), self.given, "")
            _zone(self.timezone)
        except (CjmError, KeyError, ValueError):  # the mapping's error comes after the read
            return None
        if "lifecycle" in mapping and self.lifecycle == "complete":
            return None
        case, stage, ts = (aliases[mapping.column(role) or ""]
                           for role in ("case", "stage", "timestamp"))
        kind = kinds.get(ts)
        if kind is None:
            return None
        return Pushdown(case, stage, ts, kind, self.timezone, self.since, self.until)


@dataclass(frozen=True)
class Pushdown:
    """The window as SQL over the database's columns ``case``, ``stage`` and ``timestamp``
    (of type ``kind``)."""

    case: str
    stage: str
    timestamp: str
    kind: str
    timezone: str  # a naive timestamp or a date is an instant in this zone (--timezone)
    since: datetime | None
    until: datetime | None

    def rows_sql(self, relation: str, picked: str) -> str:
        """The ``picked`` columns of the rows of the journey ids with a row in the window."""
        return f"SELECT {picked} FROM ({relation}) AS cjm_rows WHERE {sql_name(self.case)} " \
               f"IN ({self._cases(relation)})"

    def rest_sql(self, relation: str) -> str:
        """One row: the rows left in the database, and the first and last timestamp among
        those that would be events (a journey id, a stage, a timestamp in cjm's range)."""
        case, ts = sql_name(self.case), sql_name(self.timestamp)
        event = " AND ".join([*(f"nullif(trim(CAST({sql_name(c)} AS VARCHAR)), '') IS NOT NULL"
                                for c in (self.case, self.stage)),
                              f"{ts} >= {self._literal(EARLIEST_EVENT)}",
                              f"{ts} < {self._literal(LATEST_EVENT + timedelta(microseconds=1))}"])
        # NOT EXISTS, not NOT IN: PostgreSQL turns it into an anti-join, where NOT IN
        # compares each row with every id once the ids outgrow its work_mem.
        return (f"SELECT count(*) AS rows_left, min(CASE WHEN {event} THEN {ts} END) AS first_ts, "
                f"max(CASE WHEN {event} THEN {ts} END) AS last_ts FROM ({relation}) AS cjm_rows "
                f"WHERE NOT EXISTS ({self._cases(relation, '1')} "
                f"AND cjm_w.{case} = cjm_rows.{case})")

    def _cases(self, relation: str, what: str | None = None) -> str:
        """The journey ids (or ``what``) of the rows in the window, from ``cjm_w``."""
        ts, case = sql_name(self.timestamp), sql_name(self.case)
        # A bound beyond the years 1 to 9999 (in the column's frame) bounds nothing.
        since = self._literal(self.since, -1) if self.since else None
        until = self._literal(self.until, 1) if self.until else None
        where = [f"{case} IS NOT NULL", *([f"{ts} >= {since}"] if since else []),
                 *([f"{ts} < {until}"] if until else [])]
        return f"SELECT {what or case} FROM ({relation}) AS cjm_w WHERE {' AND '.join(where)}"

    def _literal(self, moment: datetime, widen: int = 0) -> str | None:
        """``moment`` as a literal of the column's type: an instant for a time zone-aware
        column; else the wall time in --timezone, as cjm reads the column, ``widen`` days
        further out in a zone other than UTC (its clock changes cannot lose a row); a date
        the first on or after that time (a date is its midnight). None beyond the years
        1 to 9999."""
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if self.kind == "timestamptz":
            return f"CAST({sql_string(moment.isoformat(sep=' '))} AS TIMESTAMP WITH TIME ZONE)"
        try:
            zone = _zone(self.timezone)
            wall = moment.astimezone(zone).replace(tzinfo=None)
            if zone is not UTC:
                wall += timedelta(days=widen)
            day = wall.date() + timedelta(days=int(wall.time() != datetime.min.time()))
        except OverflowError:
            return None
        if self.kind == "timestamp":
            return f"TIMESTAMP {sql_string(wall.isoformat(sep=' '))}"
        return f"DATE {sql_string(day.isoformat())}"


@dataclass(frozen=True)
class LeftInDatabase:
    """What a read left in the database: its rows, and the first and last timestamp (UTC)
    of those that would be events."""

    rows: int
    first: datetime | None
    last: datetime | None

    @classmethod
    def of(cls, rows: int, first: int | None, last: int | None) -> LeftInDatabase:
        """From the instants in microseconds since 1970, as the engines compute them."""
        return cls(int(rows), instant(first), instant(last))

    def note(self, read: int) -> str:
        return (f"--since/--until: {format_counted(self.rows, 'rows')} left in the database "
                f"(no row of their journey id in the window); rejected rows and warnings are "
                f"of the {format_count(read)} read")


def whole_span(first: datetime | None, last: datetime | None,
               left: LeftInDatabase | None) -> tuple[datetime | None, datetime | None]:
    """The first and last event of the whole table: those read, and those left."""
    if left is None:
        return first, last
    firsts = [t for t in (first, left.first) if t is not None]
    lasts = [t for t in (last, left.last) if t is not None]
    return (min(firsts) if firsts else None), (max(lasts) if lasts else None)


def refused_in_window(log: Any) -> bool:
    """Whether a database kept rows back for a window and every row it sent was refused:
    the read is then made again, whole, so that between() says what it says after a full
    read (no journey in the window, and the log's span), not that nothing was read."""
    return not log.events and any(f.details.get("left_in_database") for f in log.files)


def left_rows(loads: Any) -> int:
    """The rows the window left in a database, of the loads of a read (either engine's)."""
    return sum(load.left.rows for load in loads if load.left is not None)


def arrow_kind(kind: Any) -> str | None:
    """The KINDS entry of an Arrow type: a real timestamp or date, else None."""
    import pyarrow as pa

    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    return "date" if pa.types.is_date(kind) else None


def _zone(name: str):
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
