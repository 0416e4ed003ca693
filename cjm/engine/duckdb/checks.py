"""The quality checks of a log read into DuckDB: exact duplicates, ties, timestamps far off."""

from __future__ import annotations

from collections.abc import Sequence

from cjm.quality import DUPLICATE_KEY, EARLIEST, QualityWarning, warnings_from


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
        f"sum(n) FILTER (WHERE ts < TIMESTAMPTZ '{EARLIEST}') early FROM ("
        "SELECT journey, ts, count(*) n FROM events GROUP BY journey, ts) GROUP BY journey)"
    ).fetchall()[0]
    near = con.execute(
        "SELECT lower(trim(stage)) k, list(stage ORDER BY stage) FROM (SELECT DISTINCT stage "
        "FROM events) GROUP BY k HAVING count(*) > 1 ORDER BY k"
    ).fetchall()
    return warnings_from(duplicates, tuple(f"{files[f]}:{line}" for f, line in first),
                         int(tied), int(tied_journeys), int(single), int(future), int(early),
                         [names for _, names in near])
