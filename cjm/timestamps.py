"""Recognise how a column writes its timestamps and turn it into one SQL expression.

The expression yields TIMESTAMPTZ. Naive values (no offset) are read in the session time zone,
which the caller sets to ``--timezone`` (UTC by default) while the events are built, and the
report says so: a naive timestamp is never shifted silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from cjm.errors import DataError, UsageError
from cjm.sql import sql_name, sql_string
from cjm.units import format_count, format_counted

SAMPLE_SIZE = 20_000
_EPOCH = re.compile(r"^-?\d+(\.\d+)?$")
# An offset ends a time of day (10:11, 10:11:12.5, T101112): the -06 of 2024-07-06 is a day.
_OFFSET = re.compile(r"(\d:\d\d(:\d\d)?(\.\d*)?|T\d{4}(\d\d)?(\.\d*)?)\s*"
                     r"(Z|UTC|GMT|[+-]\d\d(:?\d\d(:?\d\d)?)?)$", re.IGNORECASE)
_DAY_MONTH = r"^\s*(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{2}|\d{4})(\D|$)"
_TIME_PARTS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S", "T%H:%M",
               " %I:%M %p", " %I:%M:%S %p")  # 12-hour clocks with AM/PM too
_OTHER_FORMATS = (
    "%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S", "%d %b %Y", "%d %B %Y %H:%M:%S",
    "%d %B %Y", "%b %d, %Y %H:%M:%S", "%b %d, %Y", "%B %d, %Y", "%Y%m%dT%H%M%SZ",
    "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
)
_EPOCH_UNITS = (  # (largest magnitude, unit, SQL turning the number into a TIMESTAMPTZ)
    (1e11, "seconds", "to_timestamp(try_cast({c} AS DOUBLE))"),
    (1e14, "milliseconds", "epoch_ms(try_cast({c} AS BIGINT))::TIMESTAMP AT TIME ZONE 'UTC'"),
    (1e17, "microseconds", "make_timestamp(try_cast({c} AS BIGINT)) AT TIME ZONE 'UTC'"),
    (1e20, "nanoseconds",
     "make_timestamp(CAST(try_cast({c} AS HUGEINT) // 1000 AS BIGINT)) AT TIME ZONE 'UTC'"),
)
# Each value's unit follows its own magnitude, so a column mixing seconds and milliseconds
# is still read right; a number beyond every unit (past the year 5000) reads as nothing.
_EPOCH_SQL = "CASE " + " ".join(
    f"WHEN abs(try_cast({{c}} AS DOUBLE)) < {limit:.0e} THEN {sql}"
    for limit, _, sql in _EPOCH_UNITS) + " END"
# DuckDB also casts the words 'epoch', 'infinity', '-infinity' and '-epoch' to timestamps; a
# log means none of them: a timestamp starts with a digit, or with a sign before one.
_ISO_SQL = ("CASE WHEN ascii({c}) BETWEEN 48 AND 57 OR ascii({c}) IN (43, 45) "  # 0-9, + -
            "AND ascii(substr({c}, 2)) BETWEEN 48 AND 57 THEN try_cast({c} AS TIMESTAMPTZ) END")


@dataclass(frozen=True)
class TimestampFormat:
    """How a timestamp column is read: a description for people and the SQL for the engine."""

    description: str
    sql: str  # with {c} standing for the column
    naive: bool  # some values carry no offset: they were read in the session time zone
    source: str = "detected"  # or "flag" when --timestamp-format or --dayfirst decided it

    def expression(self, column_sql: str) -> str:
        """The SQL that reads ``column_sql`` as a TIMESTAMPTZ."""
        return self.sql.replace("{c}", column_sql)


@cache
def _zones() -> dict[str, str]:
    import zoneinfo

    # localtime and posixrules are files of the tz database, Factory no zone Spark knows.
    return {n.casefold(): n for n in zoneinfo.available_timezones()
            if n not in ("localtime", "posixrules", "Factory")}


def zone_name(timezone: str) -> str:
    """The tz database's spelling of a --timezone name given in any case, as DuckDB takes it.

    DuckDB's ICU also takes legacy aliases (PST, IST, BST, SystemV/…) and GMT+1: engines
    that do not know them (Spark) refuse them, as their meaning depends on who writes them.
    """
    found = _zones().get(timezone.casefold())
    if found is None:
        raise UsageError(f"--timezone: unknown time zone {timezone!r}",
                         "Use an IANA name such as Europe/Amsterdam or UTC.")
    return found


def _strptime(formats: list[str], utc: bool = False) -> str:
    # Formats with %z give TIMESTAMPTZ already; naive results take the session time zone,
    # or, with ``utc``, UTC.
    # A brace from the user's format is spelled chr(123), so that no {c} but ours is left.
    listing = "[" + ", ".join(sql_string(f).replace("{", "' || chr(123) || '")
                              for f in formats) + "]"
    return "try_strptime({c}, " + listing + (") AT TIME ZONE 'UTC'" if utc else
                                             ")::TIMESTAMPTZ")


def _one_format(fmt: str, source: str = "detected") -> TimestampFormat:
    """``fmt`` as a TimestampFormat: its %z offsets, or a literal Z at its end read as UTC
    (20240706T101112Z is 10:11 UTC, whatever --timezone says); else naive."""
    utc = fmt.endswith("Z") and not fmt.endswith("%Z") and "%z" not in fmt
    return TimestampFormat(f"format {fmt}", _strptime([fmt], utc), "%z" not in fmt and not utc,
                           source)


def _day_month_formats(separator: str, year_digits: int, dayfirst: bool) -> list[str]:
    year = "%Y" if year_digits == 4 else "%y"
    date = f"%d{separator}%m{separator}{year}" if dayfirst else f"%m{separator}%d{separator}{year}"
    return [date + part for part in _TIME_PARTS]


def detect_format(
    con,
    relation: str,
    column: str,
    column_type: str,
    *,
    given_format: str | None,
    dayfirst: bool | None,
    where: str,
) -> TimestampFormat:
    """Decide how ``column`` of ``relation`` is written; raise when it cannot be decided."""
    quoted = sql_name(column)
    if column_type.upper().startswith(("TIMESTAMP", "DATE")):
        naive = "WITH TIME ZONE" not in column_type.upper() and "TZ" not in column_type.upper()
        # try_cast: a DATE can lie beyond what a TIMESTAMPTZ holds.
        return TimestampFormat(f"native {column_type}", "try_cast({c} AS TIMESTAMPTZ)", naive)
    if given_format:
        hint = "Use strftime codes, e.g. '%d.%m.%Y %H:%M'."
        if "%" not in given_format:
            raise UsageError(f"--timestamp-format: {given_format!r} has no % directive", hint)
        try:
            con.execute("SELECT try_strptime('', ?)", [given_format]).fetchall()
        except Exception as exc:  # duckdb rejects an unknown directive when it plans
            reason = str(exc).strip().splitlines()[0]
            raise UsageError(f"--timestamp-format: {given_format!r}: {reason}", hint) from None
        return _one_format(given_format, "flag")
    values = [
        row[0]
        for row in con.execute(
            f"SELECT trim({quoted}) FROM {relation} WHERE nullif(trim({quoted}), '') IS NOT NULL "
            f"LIMIT {SAMPLE_SIZE}"
        ).fetchall()
    ]
    epoch = _epoch_format(values, column, where)
    if epoch is not None:
        return epoch
    if _parsed(con, values, _ISO_SQL) >= 0.5 * len(values):
        return TimestampFormat("ISO 8601", _ISO_SQL, _naive(values))
    first = _day_month(values)
    if first is not None:
        return _day_month_format(first, dayfirst, lambda: _day_order(
            con, relation, quoted, where))
    best = max(_OTHER_FORMATS, key=lambda f: _parsed(con, values, _strptime([f])))
    if _parsed(con, values, _strptime([best])) >= 0.5 * len(values):
        return _one_format(best)
    raise _unrecognised(values, column, where)


def sample_format(values: list[str], iso_hits: int, *, dayfirst: bool | None, column: str,
                  where: str) -> TimestampFormat:
    """detect_format's decision without DuckDB, for an engine that reads ISO 8601 itself:
    ``values`` are the column's first non-empty values (trimmed, at most SAMPLE_SIZE) and
    ``iso_hits`` how many of them it reads as ISO 8601. The day order is decided from these
    values; the other formats are counted with Python's strptime, to be named."""
    epoch = _epoch_format(values, column, where)
    if epoch is not None:
        return epoch
    if iso_hits >= 0.5 * len(values):
        return TimestampFormat("ISO 8601", _ISO_SQL, _naive(values))
    first = _day_month(values)
    if first is not None:
        def order() -> bool:
            days = [m for m in (re.match(_DAY_MONTH, v) for v in values) if m]
            return _day_order_of(sum(int(m.group(1)) > 12 for m in days),
                                 sum(int(m.group(3)) > 12 for m in days), where)
        return _day_month_format(first, dayfirst, order)

    def parsed(fmt: str) -> int:
        return sum(_strptime_reads(v, fmt) for v in values)
    best = max(_OTHER_FORMATS, key=parsed)
    if parsed(best) >= 0.5 * len(values):
        return _one_format(best)
    raise _unrecognised(values, column, where)


def _strptime_reads(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _epoch_format(values: list[str], column: str, where: str) -> TimestampFormat | None:
    """Epoch numbers when every value is one (their unit by the median's magnitude); an
    empty column is an error."""
    if not values:
        raise DataError(f"{where}: the timestamp column {column!r} is empty in every row")
    if not all(_EPOCH.match(v) for v in values):
        return None
    magnitude = sorted(abs(float(v)) for v in values)[len(values) // 2]
    unit = next((unit for limit, unit, _ in _EPOCH_UNITS if magnitude < limit),
                _EPOCH_UNITS[-1][1])
    return TimestampFormat(f"epoch {unit}", _EPOCH_SQL, False)


def _day_month(values: list[str]) -> re.Match | None:
    """The first day/month date, when at least half of the values are such dates."""
    found = [m for m in (re.match(_DAY_MONTH, v) for v in values) if m]
    return found[0] if len(found) >= 0.5 * len(values) else None


def _naive(values: list[str]) -> bool:
    """Whether a value that looks like a timestamp (it starts with a digit) carries no
    offset. A word is a reject, not a naive timestamp: "tomorrow" among values ending in Z
    says nothing of the time zone. Decided on the text alone, not on what an engine's
    parser takes, so that every engine decides alike."""
    return any(v[:1].isdigit() and not _OFFSET.search(v) for v in values)


def _day_month_format(first: re.Match, dayfirst: bool | None, day_order) -> TimestampFormat:
    order = dayfirst if dayfirst is not None else day_order()
    formats = _day_month_formats(first.group(2), len(first.group(4)), order)
    label = "day/month/year" if order else "month/day/year"
    # Its formats take no offset: each value read is read in the session time zone.
    return TimestampFormat(label, _strptime(formats), True,
                           "flag" if dayfirst is not None else "detected")


def _unrecognised(values: list[str], column: str, where: str) -> DataError:
    return DataError(
        f"{where}: cannot recognise the timestamps in column {column!r} "
        f"(for example {values[0]!r})",
        "Pass --timestamp-format with strftime codes, e.g. --timestamp-format '%d.%m.%Y %H:%M'.",
    )


def _parsed(con, values: list[str], sql: str) -> int:
    # A list parameter, not a registered table: registering imports pandas (0.3 s a run).
    return con.execute(
        f"SELECT count({sql.replace('{c}', 'v')}) FROM (SELECT unnest(?::VARCHAR[]) AS v)",
        [values],
    ).fetchall()[0][0]


def _day_order(con, relation: str, quoted: str, where: str) -> bool:
    """True for day first: decided by the rows whose first or second number exceeds 12."""
    first_big, second_big = con.execute(
        f"SELECT count(*) FILTER (WHERE a > 12), count(*) FILTER (WHERE b > 12) FROM ("
        f"SELECT try_cast(regexp_extract({quoted}, {sql_string(_DAY_MONTH)}, 1) AS INT) a, "
        f"try_cast(regexp_extract({quoted}, {sql_string(_DAY_MONTH)}, 3) AS INT) b "
        f"FROM {relation})"
    ).fetchall()[0]
    return _day_order_of(first_big, second_big, where)


def _day_order_of(first_big: int, second_big: int, where: str) -> bool:
    """True for day first, from the counts of dates whose first (second) number exceeds 12."""
    if first_big and second_big:
        raise DataError(
            f"{where}: the dates mix day-first and month-first orders "
            f"({format_counted(first_big, 'rows')} with a day > 12 first, "
            f"{format_count(second_big)} second)",
            "Pass --dayfirst or --monthfirst, or --timestamp-format.",
        )
    if not first_big and not second_big:
        raise DataError(
            f"{where}: the dates could be day/month or month/day (no day above 12 tells them "
            "apart)",
            "Pass --dayfirst or --monthfirst.",
        )
    return bool(first_big)
