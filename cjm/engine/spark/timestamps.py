"""Timestamps in Spark: text to microseconds since 1970 (UTC), as DuckDB reads them.

cjm decides how a column writes its timestamps as it does with DuckDB (cjm.timestamps, on the
first 20,000 values). Spark then reads ISO 8601 and epoch numbers with its own functions but
DuckDB's rules, so that every value gets the instant DuckDB's ``CAST(… AS TIMESTAMPTZ)``
gives it: the same accepted forms (a pattern picks out the fields), fractions cut (not
rounded) to the microsecond, ``24:00:00`` as the next midnight, a 60th second refused, years
0 and beyond 9999 put outside the range DuckDB accepts (and so rejected as out of range).
Values without an offset are wall-clock times in ``--timezone``; in the hour a clock goes
back, DuckDB (ICU) takes the later of the two instants, and so does this module. Other
formats (day/month orders, ``--timestamp-format``) are DuckDB's only.
"""

from __future__ import annotations

from typing import Any

# Groups: 1 year, 2 separator, 3 month, 4 day, 5 hour, 6 minute, 7 second, 8 fraction, 9 offset.
ISO_PATTERN = (
    r"^(\d{4,5})([-/])(\d{1,2})\2(\d{1,2})"
    r"(?:(?:T| +)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?| (?i:utc|gmt))?)?$"
)
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
MICROS = 1_000_000
DAY = 86_400 * MICROS
# A wall-clock time in the hour a clock goes back maps to two instants; DuckDB takes the later.
_REPEATS = (3_600 * MICROS, 1_800 * MICROS)  # the lengths of such hours (Lord Howe: 30 min)
_BEFORE, _AFTER = -62_167_219_200 * MICROS, 253_402_300_800 * MICROS  # year 0, year 10000


def functions():
    from pyspark.sql import functions as F

    return F


def spark_trim(column) -> Any:
    """DuckDB's trim(): Unicode space separators off both ends (not tabs or line breaks)."""
    F = functions()
    return F.regexp_replace(column, r"^\p{Zs}+|\p{Zs}+$", "")


def _zoned(frame, wall: str, out: str, timezone: str):
    """``frame`` with ``out``: the instant of the wall-clock microseconds in ``wall`` (as if
    UTC) in ``timezone``, as ICU finds it."""
    F = functions()
    if timezone == "UTC":
        return frame.withColumn(out, F.col(wall))
    column = F.col(wall)

    def wall_of(instant):
        return F.unix_micros(F.from_utc_timestamp(F.timestamp_micros(instant), timezone))

    # Java moves a time in a gap forward, as ICU does; in a repeated hour it takes the earlier
    # instant, ICU the later one.
    first = F.unix_micros(F.to_utc_timestamp(F.timestamp_micros(column), timezone))
    frame = frame.withColumn("_ts_first", first)
    result = F.col("_ts_first")
    for repeat in reversed(_REPEATS):
        later = F.col("_ts_first") + F.lit(repeat)
        result = F.when(wall_of(later) == column, later).otherwise(result)
    return frame.withColumn(out, result).drop("_ts_first")


def with_iso(frame, text: str, out: str, timezone: str):
    """``frame`` with ``out``: the microseconds of the ISO 8601 text in column ``text``
    (already trimmed); NULL where DuckDB would not read it."""
    F = functions()
    # One pass of the pattern puts the parts in a list: year, month, day, hour, minute,
    # second, fraction, offset (absent ones empty).
    frame = frame.withColumn("_ts_parts", F.when(F.col(text).rlike(ISO_PATTERN), F.split(
        F.regexp_replace(F.col(text), ISO_PATTERN, "$1|$3|$4|$5|$6|$7|$8|$9"), r"\|")))

    def part(i: int):
        return F.element_at(F.col("_ts_parts"), i)

    def number(i: int):
        return F.when(part(i) == "", 0).otherwise(part(i).cast("long"))

    frame = frame.select(
        "*", part(1).cast("long").alias("_ts_y"), part(2).cast("long").alias("_ts_m"),
        part(3).cast("long").alias("_ts_d"), number(4).alias("_ts_hh"),
        number(5).alias("_ts_mi"), number(6).alias("_ts_ss"),
        F.when(part(7) == "", 0).otherwise(F.rpad(F.substring(part(7), 1, 6), 6, "0")
                                           .cast("long")).alias("_ts_us"),
        part(8).alias("_ts_off"))
    year, month, day = F.col("_ts_y"), F.col("_ts_m"), F.col("_ts_d")
    hour, minute, second, micros = (F.col("_ts_hh"), F.col("_ts_mi"), F.col("_ts_ss"),
                                    F.col("_ts_us"))
    offset = F.col("_ts_off")
    sign = F.when(F.substring(offset, 1, 1) == "-", -1).otherwise(1)
    digits = F.regexp_replace(offset, r"[^0-9]", "")
    offset_seconds = F.when(F.length(digits) == 0, 0).otherwise(
        sign * (F.substring(digits, 1, 2).cast("long") * 3600
                + F.coalesce(F.substring(digits, 3, 2).try_cast("long"), F.lit(0)) * 60
                + F.coalesce(F.substring(digits, 5, 2).try_cast("long"), F.lit(0))))
    # 24:00:00 is the next midnight, as DuckDB reads it; a 60th second is no time at all.
    midnight = (hour == 24) & (minute == 0) & (second == 0) & (micros == 0)
    seconds = (second * MICROS + micros).cast("decimal(20,0)") / MICROS
    start = F.try_make_timestamp(year, month, day, F.when(midnight, 0).otherwise(hour),
                                 minute, seconds.cast("decimal(8,6)"), F.lit("UTC"))
    wall = F.unix_micros(start) + F.when(midnight, DAY).otherwise(0)
    # Years Spark's dates do not hold are out of DuckDB's range too: beyond either end.
    outside = F.when(year == 0, F.lit(_BEFORE)).when(year > 9999, F.lit(_AFTER))
    dated = month.between(1, 12) & day.between(1, 31)
    frame = frame.withColumn("_ts_wall", F.when(
        F.col("_ts_parts").isNotNull() & (second <= 59),
        F.when(dated & outside.isNotNull(), outside).otherwise(wall))) \
        .withColumn("_ts_shift", F.when(offset == "", None).otherwise(offset_seconds * MICROS))
    frame = _zoned(frame, "_ts_wall", "_ts_naive", timezone)
    instant = F.when(F.col("_ts_shift").isNull(), F.col("_ts_naive")) \
        .otherwise(F.col("_ts_wall") - F.col("_ts_shift"))
    return frame.withColumn(out, instant.cast("long")).drop(
        "_ts_parts", "_ts_y", "_ts_m", "_ts_d", "_ts_hh", "_ts_mi", "_ts_ss", "_ts_us",
        "_ts_off", "_ts_wall", "_ts_shift", "_ts_naive")


def with_epoch(frame, text: str, out: str):
    """``frame`` with ``out``: the microseconds of the epoch numbers in column ``text``, each
    number's unit by its own magnitude (cjm.timestamps)."""
    F = functions()
    number = F.when(F.col(text).rlike(NUMBER_PATTERN), F.col(text))
    frame = frame.withColumn("_ts_value", number.try_cast("double")).withColumn(
        # DuckDB rounds text to integers half away from zero; Spark's decimal rounding too.
        "_ts_whole", F.round(number.try_cast("decimal(38,9)"), 0).cast("decimal(38,0)"))
    value, whole = F.col("_ts_value"), F.col("_ts_whole")
    size = F.abs(value)
    micros = (
        F.when(size < 1e11, F.round(value * 1e6).cast("long"))
        .when(size < 1e14, whole.cast("long") * 1000)
        .when(size < 1e17, whole.cast("long"))
        # DuckDB's // truncates towards zero, as the cast of a decimal quotient does
        .when(size < 1e20, (whole / 1000).cast("long"))
    )
    return frame.withColumn(out, micros).drop("_ts_value", "_ts_whole")


def with_native(frame, column: str, data_type: str, out: str, timezone: str):
    """``frame`` with ``out``: the microseconds of a timestamp or date column."""
    F = functions()
    if data_type == "timestamp":  # an instant
        return frame.withColumn(out, F.unix_micros(F.col(column)))
    # A date or a timestamp without a zone: a wall-clock time in --timezone.
    if data_type == "date":
        wall = F.unix_date(F.col(column)).cast("long") * DAY
    else:
        wall = F.unix_micros(F.col(column).cast("timestamp"))  # the session zone is UTC
    frame = frame.withColumn("_ts_wall", wall)
    return _zoned(frame, "_ts_wall", out, timezone).drop("_ts_wall")


def epoch_seconds(micros) -> Any:
    """cjm.engine.semantics.epoch_seconds of a column of microseconds, bit for bit."""
    F = functions()
    millis = F.floor(micros.cast("decimal(20,0)") / 1000).cast("long")
    return millis.cast("double") / 1000.0 + (micros - millis * 1000).cast("double") / 1e6


