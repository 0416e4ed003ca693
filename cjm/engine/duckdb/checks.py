"""The quality checks of a log read into DuckDB: exact duplicates, ties, timestamps far off."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from cjm.engine.duckdb import lines
from cjm.quality import EARLIEST, QualityWarning, duplicate_key, warnings_from
from cjm.sql import sql_name


def find_ties(con, printed: bool = False, pairs: str | None = None,
              held: Sequence[str] = ()) -> None:
    """The table ``tied``: the events that share journey and timestamp with another (their
    _file, _line, journey, case_id, stage, ts, the columns ``held`` of duplicate_key(), and
    ``_row`` when ``printed``), the only rows
    that ties and exact duplicates are made of: a repeat shares its case, and so its journey,
    and its timestamp.

    ``pairs`` names a table of (journey, ts) that holds every pair shared by two events (and
    maybe others): then the events of those pairs. Else the events are grouped by a hash of
    the two, which holds a tenth of the memory of the texts: a hash shared by chance only
    brings more rows to the exact checks after."""
    columns = ", ".join(["_file", "_line", "journey", "case_id", "stage", "ts", *held,
                         *(["_row"] if printed else [])])
    if pairs is not None:
        con.execute(f"CREATE TEMP TABLE tied AS SELECT {columns} FROM events "
                    f"SEMI JOIN {pairs} USING (journey, ts)")
        return
    key = "hash(journey, ts)"
    con.execute(f"CREATE TEMP TABLE tied AS SELECT {columns} FROM events WHERE {key} IN "
                f"(SELECT {key} FROM events GROUP BY ALL HAVING count(*) > 1)")


def exact_duplicates(con, printed: bool = False, held: Sequence[str] = ()) -> tuple[int, list]:
    """Events identical in every column, as read, to an earlier row, among the table
    ``tied`` of find_ties() with the same ``held`` (``printed``: it has the column ``_row``,
    each row's print, made when the file was parsed into fewer columns; else the view
    ``raw`` of the rows as read must exist).

    Leaves the (_file, _line) of the repeats in the table ``repeats``; returns their count
    and the (file, line) of the first rows repeated.
    """
    con.execute("CREATE TEMP TABLE repeats (_file INTEGER, _line BIGINT)")
    if not con.execute("SELECT count(*) FROM tied").fetchall()[0][0]:
        return 0, []
    # Only rows that share journey, stage and time can be duplicates: only those are compared
    # whole (by the print made as the file was parsed, or by reading their rows again).
    key = ", ".join(duplicate_key(held))
    con.execute(
        f"CREATE TEMP TABLE prints AS SELECT _file, _line, {key} FROM "
        + ("tied" if printed else
           "tied JOIN (SELECT _file, _line, hash(*COLUMNS(* EXCLUDE (_file, _line))) AS _row "
           "FROM raw SEMI JOIN tied USING (_file, _line)) USING (_file, _line)"))
    con.execute(f"INSERT INTO repeats SELECT _file, _line FROM prints QUALIFY row_number() OVER "
                f"(PARTITION BY {key} ORDER BY _file, _line) > 1")
    duplicates, first = con.execute(
        "SELECT coalesce(sum(n - 1), 0), list([f, l] ORDER BY f, l)[1:3] FROM ("
        "SELECT count(*) n, arg_min(_file, _file * 1e12 + _line) f, "
        "arg_min(_line, _file * 1e12 + _line) l FROM prints "
        f"GROUP BY {key} HAVING count(*) > 1)").fetchall()[0]
    con.execute("DROP TABLE prints")
    return int(duplicates), first or []


@dataclass(frozen=True)
class Totals:
    """The log's figures, and those of its quality warnings that every event counts for."""

    events: int
    journeys: int | None  # None: not counted yet (PendingChecks)
    stages: int
    first: Any
    last: Any
    single: int | None  # journeys of one event
    future: int  # events after now
    early: int  # events before EARLIEST


def totals(con, journeys: bool = True) -> Totals:
    """The Totals of the table ``events``: one pass over the events, one over the journeys
    (without ``journeys``, their figures are None: counted later, by PendingChecks)."""
    events, stages, first, last, future, early = con.execute(
        "SELECT count(*), count(DISTINCT stage), min(ts), max(ts), "
        f"count(*) FILTER (WHERE ts > now()), count(*) FILTER (WHERE ts < TIMESTAMPTZ "
        f"'{EARLIEST}') FROM events").fetchall()[0]
    counted = _journey_counts(con) if journeys else (None, None)
    return Totals(events, counted[0], stages, first, last, counted[1], future, early)


def _journey_counts(con, jrn: str | None = None) -> tuple[int, int]:
    """The journeys of ``events``, and those of a single event: off ``jrn`` (a row a journey
    of every event, with its events ``n``: 0.01 s at 10M events) or by grouping (0.3 s)."""
    counts = jrn or "(SELECT count(*) n FROM events GROUP BY journey)"
    journeys, single = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE n = 1) FROM {counts}").fetchall()[0]
    return journeys, single


def quality_warnings(con, files: list[str], figures: Totals, duplicates: int = 0,
                     first: Sequence[tuple[int, int]] = ()) -> list[QualityWarning]:
    """Duplicates (counted by exact_duplicates()), timestamp ties (among the table ``tied``
    of find_ties(), which it drops), single-event journeys, odd dates, near-duplicate
    names."""
    # The tied rows still among the events: some may have been dropped since.
    tied, tied_journeys = con.execute(
        "SELECT coalesce(sum(n), 0), count(DISTINCT journey) FROM (SELECT journey, ts, "
        "count(*) n FROM tied SEMI JOIN events USING (_file, _line) GROUP BY journey, ts "
        "HAVING count(*) > 1)").fetchall()[0]
    con.execute("DROP TABLE tied")
    near = con.execute(
        "SELECT lower(trim(stage)) k, list(stage ORDER BY stage) FROM (SELECT DISTINCT stage "
        "FROM events) GROUP BY k HAVING count(*) > 1 ORDER BY k"
    ).fetchall()
    return warnings_from(duplicates, tuple(f"{files[f]}:{line}" for f, line in first),
                         int(tied), int(tied_journeys), figures.single, figures.future,
                         figures.early, [names for _, names in near])


class PendingChecks:
    """The exact-duplicate and tie checks of a read, left for later, so that the window that
    orders the journeys finds the ties on its way: grouping 10M events by journey and
    timestamp takes 0.8 s, and the window has their order at hand. They are made once, on
    the events as they are then: at the first ordering of every event, or when the
    warnings are asked for before it. The events keep their print (``_row``) until then.
    """

    def __init__(self, files: list[str], figures: Totals, held: Sequence[str] = ()) -> None:
        self.files = files
        self.figures = figures  # the journeys counted on first use (count_journeys)
        self.held = held  # the columns of duplicate_key() besides the print
        self.warnings: list[QualityWarning] | None = None  # once checked

    def count_journeys(self, con, jrn: str | None = None) -> Totals:
        """The figures, the journeys counted now unless they were: off ``jrn``, the table
        of every event's journeys (``n``: its events), else by grouping the events."""
        if self.figures.journeys is None:
            journeys, single = _journey_counts(con, jrn)
            self.figures = replace(self.figures, journeys=journeys, single=single)
        return self.figures

    def check(self, con, seq: str | None = None, jrn: str | None = None
              ) -> list[QualityWarning]:
        """The warnings of quality_warnings(), checked now unless they were; ``seq``: the
        window over every event, ordered by journey and time, where an event at the time
        of the next one of its journey waits 0 s; ``jrn``: its journeys. A check that
        fails leaves no table behind and can be made again."""
        if self.warnings is not None:
            return self.warnings
        self.count_journeys(con, jrn)
        before = _temporary_tables(con)
        try:
            if seq is not None:
                con.execute(f"CREATE TEMP TABLE tied_pairs AS SELECT DISTINCT journey, ts "
                            f"FROM {seq} WHERE wait = 0")
            find_ties(con, True, "tied_pairs" if seq is not None else None, self.held)
            duplicates = exact_duplicates(con, True, self.held)
            warnings = quality_warnings(con, self.files, self.figures, *duplicates)
            lines.drop_column(con, "_row")
        except BaseException:
            with suppress(Exception):  # the error that stopped the check is the one to see
                for table in _temporary_tables(con) - before:
                    con.execute(f"DROP TABLE {sql_name(table)}")
            raise
        con.execute("DROP TABLE repeats")
        if seq is not None:
            con.execute("DROP TABLE tied_pairs")
        self.warnings = warnings
        return warnings


def _temporary_tables(con) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
