"""Quality warnings: oddities that are kept, not rejected, but that a user should know of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cjm.units import format_count, format_counted

_EARLIEST = "1990-01-01"


@dataclass(frozen=True)
class QualityWarning:
    """Something odd in the data that is kept, not rejected."""

    code: str
    message: str
    count: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "count": self.count,
                "examples": list(self.examples)}


def warnings_from(duplicates: int, duplicate_examples: tuple[str, ...], tied: int,
                  tied_journeys: int, single: int, future: int, early: int,
                  near: list[list[str]]) -> list[QualityWarning]:
    """The warnings, worded once for every engine, from the counts that engine made.

    ``near`` holds the groups of stage names that differ only in case or spaces, in order.
    """
    warnings: list[QualityWarning] = []
    if duplicates:
        it = "it" if duplicates == 1 else "them"
        warnings.append(QualityWarning(
            "duplicates", f"{format_counted(duplicates, 'exact duplicate events')}: identical "
            f"in every column to an earlier row (kept; --drop-duplicates drops {it})",
            int(duplicates), duplicate_examples))
    if tied:  # ties come two or more at a time: always plural
        warnings.append(QualityWarning(
            "ties", f"{format_count(tied)} events share their timestamp with another event of "
            f"the same journey ({format_counted(tied_journeys, 'journeys')}); they keep file "
            "order", int(tied)))
    if single:
        warnings.append(QualityWarning(
            "single_event", f"{format_counted(single, 'journeys')} "
            f"{'has' if single == 1 else 'have'} a single event", int(single)))
    if future:
        warnings.append(QualityWarning(
            "future", f"{format_counted(future, 'events')} {'is' if future == 1 else 'are'} "
            "timestamped in the future", int(future)))
    if early:
        warnings.append(QualityWarning(
            "before_1990", f"{format_counted(early, 'events')} {'is' if early == 1 else 'are'} "
            "timestamped before 1990", int(early)))
    if near:  # a group of names: two or more
        examples = tuple(" / ".join(repr(s) for s in names) for names in near[:5])
        warnings.append(QualityWarning(
            "near_duplicate_stages", f"{format_counted(len(near), 'sets')} of stage names that "
            "differ only in case or surrounding spaces", len(near), examples))
    return warnings


def lifecycle_rule(values: dict, column: str) -> tuple[str | None, bool]:
    """The note on ``--lifecycle complete`` and whether it filters, from counts per value.

    ``values`` maps each lower-cased, trimmed value of the lifecycle ``column`` to its rows.
    """
    others = {v: n for v, n in values.items() if v != "complete"}
    if "complete" not in values:
        listing = ", ".join(sorted(str(v) for v in others)[:8])
        return (f"lifecycle column {column!r} holds no 'complete' value ({listing}), so no "
                "event was set aside by it (--lifecycle complete)"), False
    if not others:
        return None, False
    kinds = ", ".join(sorted(str(v) for v in others))
    return (f"kept complete events only: {format_counted(sum(others.values()), 'events')} with "
            f"lifecycle {kinds} set aside (pass --lifecycle all to keep every event)"), True


# Rows with the same journey id, stage, time and fingerprint of every column as read (_row).
DUPLICATE_KEY = "case_id, stage, ts, _row"


def exact_duplicates(con, rows: str, printed: bool = False) -> tuple[int, list]:
    """Rows identical in every column, as read, to an earlier row among ``rows`` (a table
    of events; ``printed``: it has the column ``_row``, each row's print, made when the file
    was parsed into fewer columns; else the view ``raw`` of the rows as read must exist).

    Leaves the (_file, _line) of the repeats in the table ``repeats``; returns their count
    and the (file, line) of the first rows repeated.
    """
    # Only rows that share journey, stage and time can be duplicates: only those are compared
    # whole (by the print made as the file was parsed, or by reading their rows again).
    con.execute("CREATE TEMP TABLE repeats (_file INTEGER, _line BIGINT)")
    # Grouped by a hash of the three, which holds a tenth of the memory of the texts: a hash
    # shared by chance only brings more rows to the exact comparison below.
    key = "hash(case_id, stage, ts)"
    tied = con.execute(f"CREATE TEMP TABLE tied AS SELECT _file, _line, case_id, stage, ts "
                       f"FROM {rows} WHERE {key} IN (SELECT {key} FROM {rows} GROUP BY ALL "
                       "HAVING count(*) > 1)").fetchall()[0][0]
    if not tied:
        con.execute("DROP TABLE tied")
        return 0, []
    con.execute(
        "CREATE TEMP TABLE prints AS SELECT * FROM tied JOIN (SELECT _file, _line, _row FROM "
        + (rows if printed else "(SELECT _file, _line, hash(*COLUMNS(* EXCLUDE (_file, _line)))"
           " AS _row FROM raw)")
        + " SEMI JOIN tied USING (_file, _line)) USING (_file, _line)")
    con.execute(f"INSERT INTO repeats SELECT _file, _line FROM prints QUALIFY row_number() OVER "
                f"(PARTITION BY {DUPLICATE_KEY} ORDER BY _file, _line) > 1")
    duplicates, first = con.execute(
        "SELECT coalesce(sum(n - 1), 0), list([f, l] ORDER BY f, l)[1:3] FROM ("
        "SELECT count(*) n, arg_min(_file, _file * 1e12 + _line) f, "
        "arg_min(_line, _file * 1e12 + _line) l FROM prints "
        f"GROUP BY {DUPLICATE_KEY} HAVING count(*) > 1)").fetchall()[0]
    con.execute("DROP TABLE tied; DROP TABLE prints")
    return int(duplicates), first or []


def quality_warnings(con, files: list[str], duplicates: int = 0,
                     first: Sequence[tuple[int, int]] = ()) -> list[QualityWarning]:
    """Duplicates (counted by exact_duplicates()), timestamp ties, single-event journeys, odd
    dates, near-duplicate names."""
    # Ties, single-event journeys and odd dates in one pass over (journey, timestamp) groups.
    tied, tied_journeys, single, future, early = con.execute(
        "SELECT coalesce(sum(tied), 0), count(*) FILTER (WHERE tied > 0), "
        "count(*) FILTER (WHERE events = 1), coalesce(sum(future), 0), "
        "coalesce(sum(early), 0) FROM (SELECT journey, sum(n) events, "
        "sum(n) FILTER (WHERE n > 1) tied, sum(n) FILTER (WHERE ts > now()) future, "
        f"sum(n) FILTER (WHERE ts < TIMESTAMPTZ '{_EARLIEST}') early FROM ("
        "SELECT journey, ts, count(*) n FROM events GROUP BY journey, ts) GROUP BY journey)"
    ).fetchall()[0]
    near = con.execute(
        "SELECT lower(trim(stage)) k, list(stage ORDER BY stage) FROM (SELECT DISTINCT stage "
        "FROM events) GROUP BY k HAVING count(*) > 1 ORDER BY k"
    ).fetchall()
    return warnings_from(duplicates, tuple(f"{files[f]}:{line}" for f, line in first),
                         int(tied), int(tied_journeys), int(single), int(future), int(early),
                         [names for _, names in near])
