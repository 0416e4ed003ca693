"""Read interaction logs into an EventLog: the canonical events table, with full accounting.

Every row read is either an event, a reject (with its file, line and reason) or set aside by
an option the user chose (lifecycle, duplicates): rows = events + rejected + filtered, per file.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

from cjm.accounting import (
    LIFECYCLE_MODES,
    WITHHELD,
    FileReport,
    LogInfo,
    given_roles,
    nothing_left,
    write_rejects,
)
from cjm.config import Config, find_config
from cjm.engine.duckdb import lines
from cjm.engine.duckdb.checks import (
    PendingChecks,
    exact_duplicates,
    find_ties,
    quality_warnings,
    totals,
)
from cjm.engine.duckdb.engine import refuse_unheld
from cjm.engine.duckdb.memory import (
    budget_memory_limit,
    default_memory_limit,
    plan_buckets,
    set_resources,
)
from cjm.engine.duckdb.readers import FileLoad, ReadOptions, load_file
from cjm.engine.duckdb.readers.database import load_database
from cjm.engine.protocol import FirstValue, Paths, Reaching, Selection, StartPeriod
from cjm.engine.rows import JourneySizes, StageTotal
from cjm.engine.semantics import EARLIEST_EVENT, LATEST_EVENT
from cjm.errors import DataError, UsageError
from cjm.files import expand_paths
from cjm.privacy import check_min_journeys, pseudonym_key
from cjm.progress import step
from cjm.pushdown import WindowRead, left_rows, refused_in_window, whole_span
from cjm.quality import QualityWarning, lifecycle_rule
from cjm.resources import classify
from cjm.safety import protect
from cjm.schema import (
    Mapping,
    held_roles,
    mapped_columns,
    resolve_files,
    session_column,
)
from cjm.sources import database_source
from cjm.sql import sql_name, sql_string
from cjm.stage_rules import StageRules, stage_rules
from cjm.timestamps import detect_format
from cjm.units import format_count, format_counted, parse_span

_EARLIEST, _LATEST = (f"TIMESTAMPTZ {sql_string(t.isoformat(sep=' '))}"
                      for t in (EARLIEST_EVENT, LATEST_EVENT))


@dataclass(kw_only=True)
class EventLog(LogInfo):
    """Events in the engine (``events``), ordered by journey, timestamp and file row.

    ``con`` is the DuckDB connection holding ``events`` (a table, or a view of the table
    ``event_rows``: cjm.engine.duckdb.lines) and the table ``rejects``.
    """

    con: Any
    table: str = "events"  # the events of this log (a view of them for a subset)
    _workdir: Path | None = None
    _parent: EventLog | None = None  # a subset shares its parent's engine
    # (table, stages cut before) -> the table of each journey's path, which subsets by path
    # share: one ordering of the log serves every persona, not one each.
    _journey_paths: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict,
                                                                   repr=False)
    _pending: PendingChecks | None = field(default=None, repr=False)  # checks not yet made
    _subsets: Iterator[int] = field(default_factory=count, repr=False)  # names their views

    @property  # LogInfo's field, completed on first use
    def warnings(self) -> list[QualityWarning]:
        """The quality warnings; the duplicate and tie checks they need run on first use,
        after the journeys were ordered when they were (PendingChecks)."""
        self._check()
        return self._warnings

    @warnings.setter
    def warnings(self, value: list[QualityWarning]) -> None:
        self._warnings = value

    @property  # LogInfo's field, counted on first use when the checks are pending
    def journeys(self) -> int:
        if self._pending is not None:
            return self._pending.count_journeys(self.con).journeys
        return self._journeys

    @journeys.setter
    def journeys(self, value: int | None) -> None:
        self._journeys = value

    def _check(self) -> None:
        """Take in the checks read_log() left pending (made now, unless an ordering of
        every event made them); then the events have lost their print."""
        if self._pending is not None:
            self._warnings = [*self._warnings, *self._pending.check(self.con)]
            self._journeys = self._pending.figures.journeys
            self._pending = None

    @property
    def suffix(self) -> str:
        """Names this log's working tables apart from those of its subsets."""
        return "" if self.table == "events" else "_" + self.table

    def stage_names(self, whole: bool = False) -> list[str]:
        """The stages of the log (``whole``: of the log it was sliced from), in name order."""
        table = self._root().table if whole else self.table
        return [row[0] for row in self.con.execute(
            f"SELECT DISTINCT stage FROM {table} ORDER BY stage").fetchall()]

    def _root(self) -> EventLog:
        root = self
        while root._parent is not None:
            root = root._parent
        return root

    def stage_totals(self) -> list[StageTotal]:
        """Events and journeys per stage, most events first, then by name."""
        return [StageTotal(s, int(n), int(j)) for s, n, j in self.con.execute(
            "SELECT stage, count(*) AS events, count(DISTINCT journey) FROM "
            f"{self.table} GROUP BY stage ORDER BY events DESC, stage").fetchall()]

    def journey_sizes(self) -> JourneySizes:
        """Events per journey."""
        low, median, mean, high = self.con.execute(
            "SELECT min(n), median(n), avg(n), max(n) FROM "
            f"(SELECT count(*) n FROM {self.table} GROUP BY journey)").fetchall()[0]
        return JourneySizes(int(low), float(median), float(mean), int(high))

    def first_values(self, role: str) -> list[tuple[str | None, int]]:
        """(value, journeys) of a role at each journey's first event, most journeys first."""
        refuse_unheld(self.con, self.table, role)
        return [(v, int(n)) for v, n in self.con.execute(
            f"SELECT v, count(*) n FROM (SELECT {_first(role)} v FROM "
            f"{self.table} GROUP BY journey) GROUP BY v ORDER BY n DESC, v NULLS LAST"
        ).fetchall()]

    def period_labels(self, period: str) -> list[str]:
        """The periods in which journeys start, oldest first."""
        return [row[0] for row in self.con.execute(
            f"SELECT DISTINCT {_period_sql(period)} p FROM {self.table} GROUP BY journey "
            "ORDER BY p").fetchall()]

    def subset(self, selection: Selection, label: str) -> EventLog:
        """The journeys (or, for a clipped Window, the events) ``selection`` picks, as a
        log; it shares this log's engine and reading accounting, and closing it does
        nothing."""
        self._check()  # the subset's warnings are the log's
        name = f"events_{next(self._subsets)}"
        if isinstance(selection, Paths):
            # The paths go in a table of their own: a persona may have many thousands.
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_paths AS SELECT "
                             "unnest(?::VARCHAR[][]) AS path",
                             [[list(path) for path in selection.paths]])
            # Their journeys once: every query over the subset would redo the ordering.
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_journeys AS SELECT journey "
                             f"FROM {self._paths_table(selection.before)} "
                             f"WHERE path IN (SELECT path FROM {name}_paths)")
            journeys_sql, events_sql = f"SELECT journey FROM {name}_journeys", None
        else:
            if isinstance(selection, FirstValue):
                refuse_unheld(self.con, self.table, selection.role)
            journeys_sql, events_sql = _selection_sql(selection, self.table)
        clip = f" AND ({events_sql})" if events_sql else ""
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {self.table} "
                         f"WHERE journey IN ({journeys_sql}){clip}")
        events, journeys, stages, first, last = self.con.execute(
            "SELECT count(*), count(DISTINCT journey), count(DISTINCT stage), min(ts), max(ts) "
            f"FROM {name}").fetchall()[0]
        return replace(self, table=name, label=label, events=events, journeys=journeys,
                       stages=stages, first_timestamp=first, last_timestamp=last,
                       _workdir=None, _parent=self)

    def _paths_table(self, before: Sequence[str]) -> str:
        """The table of this log's journeys and their paths (up to their first event at one of
        ``before``), made on first use."""
        key = (self.table, tuple(before))
        if key not in self._journey_paths:
            name = f"journey_paths_{len(self._journey_paths)}"
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS "
                             + _paths_sql(before, self.table))
            self._journey_paths[key] = name
        return self._journey_paths[key]

    def engine(self, suffix: str = "", buckets: int = 1, still_active: float | None = None):
        """The aggregation engine over this log's events (``suffix`` names its tables); with
        ``buckets`` above 1, one that orders the journeys a bucket at a time (discover's
        figures only; see cjm.engine.duckdb.buckets)."""
        if buckets > 1:
            from cjm.engine.duckdb.buckets import BucketedEngine

            engine = BucketedEngine(self.con, self.suffix + suffix, self.table, buckets,
                                    still_active)
        else:
            from cjm.engine.duckdb.engine import DuckDBEngine

            engine = DuckDBEngine(self.con, self.suffix + suffix, self.table)
            engine.checks = self._pending  # its first ordering of every event finds the ties
        # "Still active" means close to the end of the whole log, also in a segment or period.
        root = self._root()
        engine.log_end = root.last_timestamp.timestamp() if root.last_timestamp else None
        engine.sources = [f.path for f in self.files]  # for errors that name a line
        return engine

    def rejects(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Rejected rows in file and line order: file, line, reason, content."""
        rows = self.con.execute(
            "SELECT _file, _line, reason, content FROM rejects ORDER BY _file, _line, reason"
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        ).fetchall()
        return [
            {"file": self.files[f].path, "line": line, "reason": reason,
             "content": WITHHELD if self.private else content}
            for f, line, reason, content in rows
        ]

    def reject_reasons(self, examples: int = 3) -> list[dict[str, Any]]:
        """Reject counts by reason (most first) with the first few lines of each."""
        rows = self.con.execute(
            "SELECT reason, count(*) n, list(struct_pack(f := _file, l := _line) "
            "ORDER BY _file, _line)[1:?] FROM rejects GROUP BY reason ORDER BY n DESC, reason",
            [examples],
        ).fetchall()
        return [
            {"reason": reason, "count": n,
             "examples": [f"{self.files[e['f']].path}:{e['l']}" for e in first]}
            for reason, n, first in rows
        ]

    def write_rejects(self, path: str | Path) -> int:
        """Write every reject as CSV (file, line, reason, content); returns how many."""
        return write_rejects(self.rejects(), path)

    def to_pandas(self):
        """The events as a pandas DataFrame, in journey order."""
        self._check()
        return self.con.execute(
            f"SELECT * FROM {self.table} ORDER BY journey, ts, _file, _line").df()

    def close(self) -> None:
        """Close the engine and remove its temporary files (a subset leaves them be)."""
        self._close(check=True)

    def _close(self, check: bool) -> None:
        """close(); with ``check``, the checks still pending are made first, so that the
        warnings stay readable once the log is closed."""
        if self._parent is not None:
            return
        import duckdb

        try:
            if check:
                self._check()
        except duckdb.ConnectionException:
            pass  # its user closed the connection: nothing can be checked
        finally:
            self.con.close()
            if self._workdir:
                shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        # After an error in the block, that error is the one to see: no check runs.
        self._close(check=kind is None)


def pseudonym_sql(column: str, key: str) -> str:
    """SQL for cjm.engine.semantics.pseudonym of ``column`` (text)."""
    return (f"CASE WHEN nullif(trim({column}), '') IS NULL THEN {column} ELSE 'p-' || "
            f"left(sha256({sql_string(key + chr(31))} || {column}), 16) END")


PERIODS = {  # the label of the period holding the timestamp {t}, as SQL
    "day": "strftime({t}, '%Y-%m-%d')",
    "week": "isoyear({t}) || '-W' || lpad(week({t})::VARCHAR, 2, '0')",
    "month": "strftime({t}, '%Y-%m')",
    "quarter": "year({t}) || '-Q' || quarter({t})",
    "year": "year({t})::VARCHAR",
}


def _period_sql(period: str) -> str:
    """SQL for the period label of a journey (by its first event, min(ts))."""
    return PERIODS[period].replace("{t}", "min(ts)")


def _first(role: str) -> str:
    """SQL: a journey's first value of ``role``, in journey order (empty values skipped)."""
    return f"arg_min({sql_name(role)}, (ts, _file, _line))"


def _selection_sql(selection: Selection, table: str) -> tuple[str, str | None]:
    """SQL for the journeys ``selection`` picks, and for the events it keeps (None: all)."""
    if isinstance(selection, FirstValue):
        first = _first(selection.role)
        named = [v for v in selection.values if v is not None]
        test = " OR ".join(
            ([f"{first} IN ({', '.join(sql_string(str(v)) for v in named)})"] if named else [])
            + ([f"{first} IS NULL"] if None in selection.values else [])) or "false"
        return f"SELECT journey FROM {table} GROUP BY journey HAVING {test}", None
    if isinstance(selection, Reaching):
        listing = ", ".join(sql_string(s) for s in selection.stages) or "NULL"
        return f"SELECT journey FROM {table} WHERE stage IN ({listing})", None
    if isinstance(selection, StartPeriod):
        return (f"SELECT journey FROM {table} GROUP BY journey "
                f"HAVING {_period_sql(selection.period)} = {sql_string(selection.label)}"), None
    bounds = []
    if selection.since is not None:
        bounds.append(f"{{t}} >= {sql_string(selection.since.isoformat())}::TIMESTAMPTZ")
    if selection.until is not None:
        bounds.append(f"{{t}} < {sql_string(selection.until.isoformat())}::TIMESTAMPTZ")
    if selection.clip_events:
        condition = " AND ".join(b.replace("{t}", "ts") for b in bounds) or "true"
        return f"SELECT journey FROM {table} WHERE {condition}", condition
    condition = " AND ".join(b.replace("{t}", "min(ts)") for b in bounds) or "true"
    return f"SELECT journey FROM {table} GROUP BY journey HAVING {condition}", None


def _paths_sql(before: Sequence[str], table: str) -> str:
    """SQL for each journey and its path (up to its first event at one of ``before``), each
    journey ordered as the engine orders it."""
    listing = ", ".join(sql_string(s) for s in before) or "NULL"
    ordered = (f"SELECT journey, stage, row_number() OVER (PARTITION BY journey "
               f"ORDER BY ts, _file, _line) AS pos FROM {table}")
    return ("SELECT journey, coalesce(list(stage ORDER BY pos) FILTER (WHERE cut IS NULL OR "
            "pos < cut), []::VARCHAR[]) AS path FROM (SELECT *, min(CASE WHEN stage IN "
            f"({listing}) THEN pos END) OVER (PARTITION BY journey) AS cut FROM ({ordered})) "
            "GROUP BY journey")


def _relation_union(loads: Sequence[FileLoad], scan_line: str | None = None) -> str:
    """The files' rows as one relation, each with its file's number; with ``scan_line``,
    those of the files read in place come from their scan, in the pass that makes the
    events, with ``scan_line`` as their ``_line``."""
    parts = [f"SELECT {i} AS _file, " + (f"{scan_line} AS _line, * FROM ({load.scan})"
                                         if scan_line and load.scan else
                                         f"* FROM {load.relation}")
             for i, load in enumerate(loads)]
    return " UNION ALL BY NAME ".join(parts)


def _insert_reader_rejects(con, loads: Sequence[FileLoad]) -> None:
    files, lines, reasons, contents = [], [], [], []
    for i, load in enumerate(loads):
        for reject in load.rejects:
            files.append(i)
            lines.append(reject.line)
            reasons.append(reject.reason)
            contents.append(reject.content)
    if not files:
        return
    # List parameters, not a registered table: registering imports pandas (0.3 s a run).
    con.execute("INSERT INTO rejects SELECT unnest(?::INTEGER[]), unnest(?::BIGINT[]), "
                "unnest(?::VARCHAR[]), unnest(?::VARCHAR[])", [files, lines, reasons, contents])


def read_log(
    paths: str | Path | Iterable[str | Path],
    *,
    columns: dict[str, str] | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    timezone: str | None = None,
    timestamp_format: str | None = None,
    dayfirst: bool | None = None,
    lifecycle: str | None = None,
    journey_gap: str | float | None = None,
    drop_duplicates: bool | None = None,
    group: Sequence[str] | None = None,
    rename: Sequence[str] | None = None,
    collapse_repeats: bool | None = None,
    rejects: str | Path | None = None,
    config: Config | None = None,
    pseudonymize: bool = False,
    salt: str | None = None,
    min_journeys: int | None = None,
    memory_limit: str | None = None,
    temp_dir: str | Path | None = None,
    buckets: int | None = None,
    keep_rows: bool = False,
    hold: Collection[str] | None = None,
    table: str | None = None,
    query: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> EventLog:
    """Read one or more logs (CSV, TSV, JSON, JSON Lines, Parquet, XES; gzip too) as one,
    or the rows of a database: a URL (sqlite:///, duckdb:///, postgresql://, adbc:DRIVER:URI)
    with ``table`` or ``query`` (see docs/databases.md).

    ``columns`` maps roles to column names (``{"case": "customer_id"}``); roles not named are
    taken from ``cjm.toml``/``[tool.cjm]`` or detected from the column names. ``dayfirst``
    settles dates such as 03/04/2024 (False means month first). ``lifecycle`` is
    ``"complete"`` (default: keep complete events when a lifecycle column has them) or
    ``"all"``. ``journey_gap`` (``"30m"`` or seconds) splits a case into journeys after that
    much inactivity. ``group`` (``["product1,product2=product", "re:^product\\d+$=product"]``),
    ``rename`` (``["old=new"]``) and ``collapse_repeats`` change the stages as they are read,
    with the config's ``[stages]`` table (see cjm.stage_rules). ``rejects`` names a CSV file
    to write every rejected row to (written even when nothing is left to read, so that the
    reasons can be looked at).
    ``pseudonymize`` replaces every journey id by a pseudonym keyed with ``salt`` (default:
    $CJM_SALT) as it is read; ``min_journeys`` leaves what fewer journeys share out of every
    result (see cjm.privacy). ``memory_limit`` (``"4GB"``; default: $CJM_MEMORY_LIMIT, else
    the config's) caps DuckDB's memory; beyond it, work spills to files in ``temp_dir``
    (default: $CJM_TEMP_DIR, else the config's, else the system's), never more than half the
    free space there. Arguments win over the variables, which win over ``config``.
    ``buckets`` makes discover() order the journeys in that many groups, so that a log larger
    than memory fits; by default as many as the memory limit needs (1 without a limit).
    ``keep_rows`` keeps the rows as read (the view ``raw``), which
    cjm.engine.duckdb.convert writes out. ``hold`` names the optional roles (or their
    columns) whose values the events are to hold, for a caller that reads no other (cjm
    discover holds its hand-off's, the outcome and --by's): the others stay mapped and still
    count in the exact-duplicate check, are not read into the events, and asking for one
    raises UsageError. None (the default) holds every mapped role. ``since``/``until``: the
    window that cjm.segments.between() will select; a database then sends only the rows of
    the journey ids with a row in it, when it can (see cjm.pushdown); the rest count as
    filtered.

    >>> log = read_log("examples/shop.csv")            # doctest: +SKIP
    >>> log.journeys, log.events, log.rejected          # doctest: +SKIP
    """
    arguments = dict(locals())  # for a read made again without the window
    import duckdb

    from cjm.engine.duckdb.readers.delimited import make_workdir

    config = config if config is not None else find_config()
    key = pseudonym_key(pseudonymize, salt)
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    database = database_source([str(item) for item in items], table, query,
                               config.get("database_password"))
    files = [] if database else expand_paths(items)
    for file in files:
        protect(file)
    timezone = timezone or config.get("timezone") or "UTC"
    lifecycle = (lifecycle or config.get("lifecycle") or "complete").lower()
    memory_limit = config.setting("memory_limit", memory_limit or None)
    temp_dir = config.setting("temp_dir", temp_dir or None)
    if lifecycle not in LIFECYCLE_MODES:
        raise UsageError(f"--lifecycle: {lifecycle!r} is not one of complete, all")
    if dayfirst is None and config.get("dayfirst") is not None:
        dayfirst = bool(config.get("dayfirst"))
    if dayfirst is None and config.get("monthfirst") is not None:
        dayfirst = not bool(config.get("monthfirst"))
    gap = journey_gap if journey_gap is not None else config.get("journey_gap")
    gap_seconds = parse_span(gap, "--journey-gap") if isinstance(gap, str) else gap
    drop_duplicates = bool(drop_duplicates if drop_duplicates is not None
                           else config.get("drop_duplicates", False))
    rules = stage_rules(group, rename, collapse_repeats, config)
    options = ReadOptions(
        delimiter=delimiter if delimiter is not None else config.get("delimiter"),
        encoding=encoding or config.get("encoding"),
    )

    try:
        con = duckdb.connect()
    except duckdb.Error as exc:  # the system may refuse the engine its first memory
        if (known := classify(exc)) is not None:
            raise known from None
        raise
    # The events in a compressed in-memory database (compressed at the checkpoint in
    # _build): a tenth of the memory, and no undo held for an update of every row (the
    # lines, when they are written: cjm.engine.duckdb.lines).
    con.execute("ATTACH ':memory:' AS cjm (COMPRESS)")
    con.execute("USE cjm")
    workdir = make_workdir(temp_dir)
    try:
        budget = set_resources(con, workdir, memory_limit)
        try:
            con.execute(f"SET TimeZone = {sql_string(timezone)}")
        except duckdb.Error:
            raise UsageError(f"--timezone: unknown time zone {timezone!r}",
                             "Use an IANA name such as Europe/Amsterdam or UTC.") from None
        loads = []
        given = given_roles(columns, config)
        # One file is parsed into the columns its roles take: the others are never held.
        keep = None if keep_rows or len(files) > 1 else mapped_columns(given, hold)
        if database:
            # A database sends the mapped columns alone, with no print of the others: all of
            # them, whatever the events hold, so that the mapping and the duplicates stay.
            sent = None if keep_rows else mapped_columns(given)
            with step("Reading " + database.name):
                loads.append(load_database(con, database, 0, sent, WindowRead(
                    since, until, timezone, given, lifecycle, rules.collapse_repeats)))
        for i, path in enumerate(files):
            with step(f"Reading {path.name}"):
                loads.append(load_file(con, path, i, options, workdir, keep))
        with step("Checking the events"):
            log = _build(con, loads, given, timezone,
                         timestamp_format or config.get("timestamp_format"), dayfirst,
                         lifecycle, gap_seconds, drop_duplicates, rules, key, keep_rows,
                         hold)
        if refused_in_window(log):
            con.close()
            shutil.rmtree(workdir, ignore_errors=True)
            return read_log(**{**arguments, "since": None, "until": None})
        if database:  # the span of the whole table, also of the rows left in it
            log.first_timestamp, log.last_timestamp = whole_span(
                log.first_timestamp, log.last_timestamp, loads[0].left)
        log.min_journeys = check_min_journeys(min_journeys)
        if budget is None:
            default_memory_limit(con)
        else:
            budget_memory_limit(con, budget, log.events)
            log.memory_limit = budget.size
        log.buckets = plan_buckets(con, log.events, buckets, limited=budget is not None)
        if log.buckets > 1 or budget is not None:
            log._check()  # the prints would hold memory that the buckets need
        log.private = key is not None or log.min_journeys > 1
        log.config = config
        log._workdir = workdir
        # A log never closed still removes its files when it is garbage-collected.
        weakref.finalize(log, shutil.rmtree, workdir, True)
        if rejects is not None:
            log.write_rejects(rejects)
        if not log.events:
            raise nothing_left(log)
        return log
    except BaseException as exc:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if (known := classify(exc)) is not None and known is not exc:
            raise known from None
        raise


def _drop_rows(con, loads: Sequence[FileLoad]) -> None:
    """Free the rows as read: a second copy of the log that only cjm convert still needs."""
    con.execute("DROP VIEW raw")
    for index, load in enumerate(loads):
        con.execute(f"DROP VIEW IF EXISTS {load.relation}")
        con.execute(f"DROP TABLE IF EXISTS raw_{index}")


def _apply_stage_rules(con, rules: StageRules) -> list[str]:
    """Rename and merge the events' stages, and set repeats aside (cjm.stage_rules)."""
    names = [row[0] for row in con.execute("SELECT DISTINCT stage FROM events").fetchall()]
    mapping, unused = rules.mapping(names)
    if mapping:
        con.execute("CREATE TEMP TABLE stage_rules AS SELECT unnest(?::VARCHAR[]) AS old, "
                    "unnest(?::VARCHAR[]) AS new", [list(mapping), list(mapping.values())])
        con.execute("UPDATE events SET stage = r.new FROM stage_rules r "
                    "WHERE events.stage = r.old")
        con.execute("DROP TABLE stage_rules")
    collapsed = 0
    if rules.collapse_repeats:
        con.execute(
            "CREATE TEMP TABLE repeated AS SELECT _file, _line FROM (SELECT _file, _line, "
            "stage, lag(stage) OVER (PARTITION BY journey ORDER BY ts, _file, _line) AS prev "
            "FROM events) WHERE stage = prev")
        collapsed = con.execute("SELECT count(*) FROM repeated").fetchall()[0][0]
        con.execute("DELETE FROM events USING repeated WHERE events._file = repeated._file "
                    "AND events._line = repeated._line")
        con.execute("DROP TABLE repeated")
    return rules.notes(mapping, unused, collapsed)


def _build(con, loads, given, timezone, timestamp_format, dayfirst, lifecycle, gap_seconds,
           drop_duplicates, rules, pseudonym_key=None, keep_rows=False,
           hold=None) -> EventLog:
    names = ", ".join(str(load.path) for load in loads)
    where = names if len(loads) == 1 else f"{len(loads)} files"
    if not any(load.scan or load.rows > len(load.rejects) for load in loads):
        raise _no_rows(loads, where)
    mapping = resolve_files([(str(load.path), load.columns) for load in loads], given, where)
    con.execute(f"CREATE VIEW raw AS {_relation_union(loads)}")
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE raw)").fetchall())
    ts_column = mapping.column("timestamp")
    with _file_errors(loads, where):
        ts_format = detect_format(con, "raw", ts_column, types[ts_column],
                                  given_format=timestamp_format, dayfirst=dayfirst, where=where)

    def col(role: str) -> str:
        return sql_name(mapping.column(role))

    text = {role: f"CAST({col(role)} AS VARCHAR)" for role in mapping.choices}
    ts_sql = ts_format.expression(f"trim({text['timestamp']})")
    optional = held_roles(mapping, hold)
    # A row whose timestamp is in range and whose id and stage start with neither a space
    # nor nothing is kept without the five tests below (trim() strips spaces only): they
    # cost a fifth of the pass (0.8 s at 10M events), and they name a reject's reason.
    reason = (
        f"CASE WHEN ts BETWEEN {_EARLIEST} AND {_LATEST} AND ascii(case_id) NOT IN (0, 32) "
        "AND ascii(stage) NOT IN (0, 32) THEN NULL "
        "WHEN nullif(trim(case_id), '') IS NULL "
        f"THEN {sql_string('missing journey id (column ' + mapping.column('case') + ')')} "
        "WHEN nullif(trim(stage), '') IS NULL "
        f"THEN {sql_string('missing stage (column ' + mapping.column('stage') + ')')} "
        "WHEN nullif(trim(ts_text), '') IS NULL "
        f"THEN {sql_string('empty timestamp (column ' + ts_column + ')')} "
        f"WHEN ts IS NULL THEN 'unparsable timestamp (' || {sql_string(ts_format.description)} "
        f"|| ' expected)' "
        f"WHEN ts NOT BETWEEN {_EARLIEST} AND {_LATEST} "
        "THEN 'timestamp out of range (years 1 to 9999)' END"
    )
    with _file_errors(loads, where):
        lifecycle_note, keep = _lifecycle_filter(con, mapping, lifecycle)
    case = pseudonym_sql(text["case"], pseudonym_key) if pseudonym_key else text["case"]
    # The rows as read, typed, with the reason each one is refused (or the lifecycle that is
    # not kept): one pass over the file's rows makes the events table, from which those rows
    # then move out, so that the log is never held whole once more in between.
    scanned = any(load.scan for load in loads)  # then it is the log's one file
    printed = scanned or "_row" in types
    # Numbering the rows with a window would keep the pass on one thread: the events table's
    # row ids, in file order, number them after it, unless the journey gap's window needs
    # the lines within the pass.
    scan_line = "row_number() OVER () + 1" if gap_seconds else "NULL::BIGINT"
    con.execute(
        "CREATE TEMP VIEW staged AS SELECT *, " + reason + " AS reason FROM ("
        f"SELECT _file, _line, {case} AS case_id, {text['stage']} AS stage, "
        f"{text['timestamp']} AS ts_text, {ts_sql} AS ts, {keep} AS keep"
        + "".join(f", {text[r]} AS {r}" for r in optional) + (", _row" if printed else "")
        + f" FROM ({_relation_union(loads, scan_line)}))"
    )
    extra = "".join(f", {r}" for r in optional) + (", _row" if printed else "")
    rows = "staged"
    journey = "case_id"
    if gap_seconds:
        # The rows that go are a partition of their own: they split no journey.
        within = "PARTITION BY case_id, reason IS NULL AND keep ORDER BY ts, _file, _line"
        journey = (
            "case_id || '#' || (1 + sum(CASE WHEN epoch(ts) - epoch(prev_ts) > "
            f"{float(gap_seconds)} THEN 1 ELSE 0 END) OVER ({within} ROWS UNBOUNDED PRECEDING))"
        )
        rows = f"(SELECT *, lag(ts) OVER ({within}) AS prev_ts FROM staged)"
        if pseudonym_key:  # the visit's number hashed too: a customer's visits stay unlinked
            journey = pseudonym_sql(f"({journey})", pseudonym_key)
    # Unsorted: every query that needs an order sorts within journeys itself.
    rest = (f"stage, ts, _file, _line{extra}{', keep' if keep != 'true' else ''}, reason, "
            f"CASE WHEN reason IS NOT NULL THEN ts_text END AS ts_text FROM {rows}")
    with _file_errors(loads, where):
        if gap_seconds:
            con.execute(f"CREATE TABLE events AS SELECT {journey} AS journey, case_id, {rest}")
        else:
            _create_events(con, f"SELECT case_id AS journey, {rest}")
    con.execute("SET TimeZone = 'UTC'")  # naive timestamps were read in the log's time zone
    parsed = dict(con.execute("SELECT _file, count(*) FROM events GROUP BY _file").fetchall())
    fixes = [(i, fixed) for i, load in enumerate(loads)
             if load.finish is not None and (fixed := load.finish(con, parsed.get(i, 0)))]
    removed = "reason IS NOT NULL" + (" OR NOT keep" if keep != "true" else "")
    # With the rows' prints at hand, and nothing to change the events before the result,
    # the duplicates and ties are checked when the warnings are asked for (PendingChecks).
    pending = printed and not drop_duplicates and not rules
    # A file read in place: each row's line is its row id + 2 (cjm.engine.duckdb.lines).
    row_id_lines = scanned and not gap_seconds
    if row_id_lines and (fixes or not pending or con.execute(
            f"SELECT count(*) FROM events WHERE {removed}").fetchall()[0][0]):
        lines.write(con)
        row_id_lines = False
    for i, fixed in fixes:
        con.execute(f"UPDATE events SET _line = f.line FROM ({fixed}) f "
                    f"WHERE events._file = {i} AND events._line = f.provisional")
    con.execute("CREATE TABLE rejects (_file INTEGER, _line BIGINT, reason VARCHAR, "
                "content VARCHAR)")
    _insert_reader_rejects(con, loads)
    con.execute(
        "INSERT INTO rejects SELECT _file, _line, reason, "
        "concat_ws(', ', 'journey id=' || coalesce(case_id, ''), 'stage=' || coalesce(stage, ''),"
        " 'timestamp=' || coalesce(ts_text, '')) FROM events WHERE reason IS NOT NULL"
    )
    con.execute(f"DELETE FROM events WHERE {removed}")
    for column in ("keep", "reason", "ts_text") if keep != "true" else ("reason", "ts_text"):
        con.execute(f"ALTER TABLE events DROP COLUMN {column}")
    duplicates: tuple[int, list] = (0, [])
    if not pending:
        find_ties(con, printed, held=optional)
        duplicates = exact_duplicates(con, printed, optional)
        if printed:
            con.execute("ALTER TABLE events DROP COLUMN _row")
        if drop_duplicates:
            # A repeat sits at the same time as the event it repeats: dropping it after the
            # journeys were split by --journey-gap changes no split.
            con.execute("DELETE FROM events USING repeats WHERE events._file = repeats._file "
                        "AND events._line = repeats._line")
            duplicates = (0, [])
        con.execute("DROP TABLE repeats")
    rule_notes = _apply_stage_rules(con, rules) if rules else []
    reports = _file_reports(con, loads, parsed)
    # The events and rejects hold all that is needed now.
    con.execute("DROP VIEW staged")
    if not keep_rows:
        _drop_rows(con, loads)
    if row_id_lines:
        lines.by_row_id(con)
    # An in-memory database compresses at a checkpoint only: the events then take a tenth of
    # the memory, so that under a small memory limit every bucket reads them from memory,
    # not from the spill (10M events under 600MB: 33 s instead of 132 s).
    con.execute("CHECKPOINT cjm")
    notes = [n for load in loads for n in load.notes] + rule_notes
    if lifecycle_note:
        notes.append(lifecycle_note)
    if ts_format.naive:
        notes.append(
            f"timestamps without an offset were read as {timezone}"
            + (" (pass --timezone to change)" if timezone == "UTC" else "")
        )
    if drop_duplicates and sum(r.filtered for r in reports) > left_rows(loads):
        notes.append("exact duplicate events dropped (--drop-duplicates)")
    figures = totals(con, journeys=not pending)  # pending: counted off the ordering
    files = [r.path for r in reports]
    return EventLog(
        con=con, files=reports, mapping=mapping, timestamp_format=ts_format, timezone=timezone,
        notes=notes, warnings=[*truncation_warnings(reports), *(
            [] if pending else quality_warnings(con, files, figures, *duplicates))],
        _pending=PendingChecks(files, figures, optional) if pending else None,
        events=figures.events, journeys=figures.journeys, stages=figures.stages,
        first_timestamp=figures.first, last_timestamp=figures.last,
        journey_gap_seconds=gap_seconds,
        session_column=session_column(list(dict.fromkeys(c for load in loads
                                                         for c in load.columns)), mapping),
    )


@contextmanager
def _file_errors(loads: Sequence[FileLoad], where: str) -> Iterator[None]:
    """DuckDB's errors from reading the log's file in place (each query of ``raw`` reads
    it again, and a row past the first may break the CSV rules), as parse_error() words
    them for the user."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        if any(load.scan for load in loads):
            from cjm.engine.duckdb.readers.delimited import parse_error

            raise parse_error(exc, loads[0].path, where) from None
        raise


def _create_events(con, select: str) -> None:
    """The events table of ``select`` (whose first column is the journey), where the journey
    is the case: ``case_id`` is then a generated column, the journey read again, so that the
    id is held once (a tenth of the table) and the columns stay those documented."""
    (journey, kind, *_), *others = con.execute(f"DESCRIBE {select}").fetchall()
    con.execute(f"CREATE TABLE events ({journey} {kind}, case_id {kind} AS ({journey}), "
                + ", ".join(f"{sql_name(name)} {kind}" for name, kind, *_ in others) + ")")
    con.execute(f"INSERT INTO events BY NAME {select}")


def truncation_warnings(reports: Sequence[FileReport]) -> list[QualityWarning]:
    """A warning for each file that ends early (a gzip file cut short): what was read
    before the cut is kept, and the rest is missing."""
    return [QualityWarning(
        "truncated", f"{report.path}: the file ends early (truncated): "
        f"{format_counted(report.rows, 'rows')} read before the cut, the rest is missing; is "
        "the download or copy complete?", 1)
        for report in reports if report.details.get("truncated")]


def _no_rows(loads: Sequence[FileLoad], where: str) -> DataError:
    """The error for files that gave no row at all: empty, or every row rejected on reading."""
    rejects = [(load, r) for load in loads for r in load.rejects]
    cut = [str(load.path) for load in loads if load.details.get("truncated")]
    if cut:
        return DataError(f"{where}: no rows to read; {cut[0]} ends early (truncated)",
                         "Check that the download or copy is complete (gzip -t FILE).")
    if not rejects:
        hint = ("The files hold no records." if len(loads) > 1 else
                "The file has a header but no rows." if loads[0].format == "csv" else
                "The file holds no records.")
        return DataError(f"{where}: no rows to read", hint)
    reasons: dict[str, list[str]] = {}
    for load, reject in rejects:
        reasons.setdefault(reject.reason, []).append(f"{load.path}:{reject.line}")
    reason, places = max(reasons.items(), key=lambda item: len(item[1]))
    return DataError(
        f"{where}: no rows to read ({format_count(len(rejects))} rejected); "
        f"{format_counted(len(places), 'rows')}: {reason}, first at {places[0]}",
        "Check that the file is what its name says (format, delimiter, encoding).")


def _lifecycle_filter(con, mapping: Mapping, lifecycle: str) -> tuple[str | None, str]:
    """A note for the report and the SQL condition that keeps a row."""
    if "lifecycle" not in mapping or lifecycle == "all":
        return None, "true"
    column = sql_name(mapping.column("lifecycle"))
    values = dict(con.execute(
        f"SELECT lower(trim(CAST({column} AS VARCHAR))), count(*) FROM raw GROUP BY 1"
    ).fetchall())
    note, filters = lifecycle_rule(values, mapping.column("lifecycle"))
    if not filters:
        return note, "true"
    return note, f"coalesce(lower(trim(CAST({column} AS VARCHAR))) = 'complete', false)"


def _file_reports(con, loads: Sequence[FileLoad], parsed: dict[int, int]) -> list[FileReport]:
    """What became of each file's rows; ``parsed``: the rows of each that reached the engine."""
    for i, load in enumerate(loads):
        # Every row the reader counted reached the engine or was rejected by the reader.
        if parsed.get(i, 0) + len(load.rejects) != load.rows:
            raise AssertionError(f"{load.path}: row accounting broke: {load.rows} rows read, "
                                 f"{parsed.get(i, 0)} parsed, {len(load.rejects)} rejected")
    counts = {
        f: (events, rejected)
        for f, events, rejected in con.execute(
            "SELECT _file, sum(e), sum(r) FROM ("
            "SELECT _file, count(*) e, 0 r FROM events GROUP BY _file UNION ALL "
            "SELECT _file, 0, count(*) FROM rejects GROUP BY _file) GROUP BY _file"
        ).fetchall()
    }
    reports = []
    for i, load in enumerate(loads):
        events, rejected = counts.get(i, (0, 0))
        left = load.left.rows if load.left else 0  # set aside by --since/--until
        reports.append(FileReport(
            path=str(load.path), format=load.format, rows=load.rows + left, events=int(events),
            rejected=int(rejected), filtered=load.rows + left - int(events) - int(rejected),
            details=load.details,
        ))
    return reports
