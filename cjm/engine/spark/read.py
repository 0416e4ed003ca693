"""Read logs with Spark into a SparkEventLog, with the same accounting as cjm.read_log.

Sources: local files and folders, URIs Spark reads (``hdfs://``, ``s3a://``, ``abfss://``,
``file://``, …), table names (``sales.events``: a name that is no existing path, has no
``/`` and no log extension) and database URLs with --table or --query (read by the
executors: Spark's JDBC source, or Arrow; cjm.engine.spark.database). Formats: Parquet (a
file, or a folder of part files: one source, its rows numbered in part-file order) and CSV
with a header. Column roles, rejects and their reasons, lifecycle filtering, duplicates,
journey gaps and pseudonyms follow cjm.engine.duckdb.eventlog rule for rule, so that a
Parquet file gives the same reading report with either engine.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cjm.accounting import LIFECYCLE_MODES, FileReport, given_roles, nothing_left
from cjm.config import Config, find_config
from cjm.engine.semantics import EARLIEST_EVENT, LATEST_EVENT, instant, micros_of
from cjm.engine.spark import timestamps as sts
from cjm.engine.spark.database import (
    ORIGINAL_FILE,
    ORIGINAL_LINE,
    guard,
    jdbc_options,
    left_in_database,
    read_database,
)
from cjm.engine.spark.log import SparkEventLog
from cjm.engine.spark.session import Session, failures, quiet, session
from cjm.errors import DataError, UsageError
from cjm.privacy import check_min_journeys, pseudonym_key
from cjm.progress import step
from cjm.pushdown import LeftInDatabase, WindowRead, left_rows, refused_in_window, whole_span
from cjm.quality import QualityWarning, duplicate_key, lifecycle_rule, warnings_from
from cjm.schema import (
    held_roles,
    mapped_columns,
    resolve_files,
    session_column,
)
from cjm.sources import DatabaseSource, database_source, output_stem
from cjm.stage_rules import StageRules, stage_rules
from cjm.timestamps import SAMPLE_SIZE, TimestampFormat, sample_format, zone_name
from cjm.units import parse_span

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".tsv", ".txt", ".tab")
_OTHER = (".json", ".jsonl", ".ndjson", ".xes")
_COMPRESSION = (".gz", ".bz2", ".zst", ".snappy", ".lz4", ".deflate")
_DUCKDB_TYPES = {"timestamp": "TIMESTAMP WITH TIME ZONE", "timestamp_ntz": "TIMESTAMP",
                 "date": "DATE"}
_MICROS = 1_000_000
_EARLIEST, _LATEST = micros_of(EARLIEST_EVENT), micros_of(LATEST_EVENT)
_Y1990 = micros_of(datetime(1990, 1, 1, tzinfo=UTC))
_ISO = re.compile(sts.ISO_PATTERN)
# A year, a month and a day as DuckDB's ISO 8601 reading takes them, in any separators.
_DATE_LIKE = re.compile(r"^[+-]?\d+[-/. ]\s*\d{1,2}[-/. ]\s*\d{1,2}(?!\d)")
SPARK_FORMATS_HINT = ("Spark reads ISO 8601 (2024-07-01 12:00:00, with or without an offset) and "
                      "epoch numbers; use --engine duckdb for other formats, or write the "
                      "timestamps as ISO 8601")


@dataclass
class Source:
    """One input as the report names it and as Spark reads it."""

    name: str  # as the reading report shows it
    location: str  # what Spark reads: a URI or a table name
    format: str  # parquet, csv or table
    single_file: bool = True  # one file (rows numbered by their index in it)
    local: Path | None = None


@dataclass
class Load:
    """A source loaded as a DataFrame of _line and text columns (timestamps kept)."""

    source: Source
    frame: Any
    rows: int
    columns: list[str]
    types: dict[str, str]  # column -> simple Spark type name
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    left: LeftInDatabase | None = None  # rows --since/--until left in a database


def _extension(name: str) -> str:
    suffixes = [s.lower() for s in Path(name.rstrip("/")).suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _format_of(name: str, fmt: str | None = None) -> str:
    """csv or parquet, from the name (or from ``fmt``, what cjm found the file to be)."""
    kind = fmt or ("csv" if _extension(name) in _CSV else
                   _extension(name).lstrip(".") if _extension(name) in _OTHER else "parquet")
    if kind not in ("csv", "parquet"):
        stem = Path(name.rstrip("/")).name.split(".")[0] or "log"
        raise UsageError(
            f"{name}: Spark reads Parquet and CSV, not {kind.upper()}",
            f"Convert it first: cjm convert {name} -o {stem}.parquet (every column as text, "
            "in file order, with each row's line).")
    return kind  # a name without a known extension: a folder of parts as Spark writes them


def sources(items: Iterable[str | Path]) -> list[Source]:
    """What to read, in the order given (a glob's matches sorted)."""
    from cjm.files import detect_format as sniff_format
    from cjm.files import expand_paths, is_pattern, read_sample
    from cjm.safety import protect

    found: list[Source] = []
    for item in items:
        text = str(item)
        if _SCHEME.match(text):
            fmt = _format_of(text)
            found.append(Source(text, text, fmt, single_file=bool(_extension(text))))
            continue
        path = Path(text)
        if path.is_dir():
            parts = sorted(p for p in path.iterdir() if p.is_file()
                           and not p.name.startswith(("_", ".")))
            fmt = "csv" if parts and all(_extension(p.name) in _CSV for p in parts) else \
                "parquet"
            found.append(Source(str(path), _local_uri(path), fmt, single_file=False,
                                local=path))
            continue
        if not path.exists() and not is_pattern(text) and _TABLE.match(text) \
                and _extension(text) not in (*_PARQUET, *_CSV, *_OTHER, *_COMPRESSION):
            found.append(Source(text, text, "table", single_file=False))
            continue
        for file in expand_paths([text]):
            fmt = _format_of(str(file), sniff_format(file, read_sample(file, 4096)))
            protect(file)
            found.append(Source(str(file), _local_uri(file), fmt, local=file))
    if not found:
        raise UsageError("no input files given")
    return found


_GLOB = re.compile(r"([\\*?\[\]{}])")


def _local_uri(path: Path) -> str:
    """The URI Spark reads a local file or folder by: Hadoop takes the text as written (no
    %-escapes: ``my%20log.csv`` is not ``my log.csv``) and as a glob, so its pattern
    characters are escaped (``shop\\[1\\].csv`` is ``shop[1].csv``, not ``shop1.csv``)."""
    absolute = path.resolve().as_posix()
    return "file://" + ("" if absolute.startswith("/") else "/") + _GLOB.sub(r"\\\1", absolute)


_TIMES = ("timestamp", "timestamp_ntz", "date")


def _text_or_time(column, name: str, data_type, types: dict[str, str]):
    """``column`` as ``name``: as text, unless it holds timestamps or dates, which stay typed
    (as DuckDB keeps a Parquet file's); its type (timestamp, timestamp_ntz, date or string)
    goes in ``types``."""
    kind = data_type.typeName()
    types[name] = kind if kind in _TIMES else "string"
    return column.alias(name) if kind in _TIMES else column.cast("string").alias(name)


def _number_rows(frame, unit_columns: list[str], position: str):
    """The frame with ``_line``: rows numbered from 1 in (unit, position) order, each unit
    (a file, a block of one, a partition) counted on the driver."""
    from pyspark.sql import functions as F

    units = frame.groupBy(*unit_columns).agg(F.count("*").alias("_count"),
                                            F.min(position).alias("_first")).collect()
    units.sort(key=lambda r: tuple(r[c] for c in unit_columns))
    rows, bases = 0, []
    for unit in units:
        # line = position + base: the first row of the unit is line rows + 1
        bases.append((*[unit[c] for c in unit_columns], rows + 1 - unit["_first"]))
        rows += unit["_count"]
    spark = frame.sparkSession
    base = spark.createDataFrame(bases, [*unit_columns, "_base"]) if bases else None
    if base is None:
        return frame.withColumn("_line", F.lit(None).cast("long")), 0
    numbered = frame.join(F.broadcast(base), on=unit_columns, how="left")
    return numbered.withColumn("_line", (F.col(position) + F.col("_base")).cast("long")) \
        .drop("_base", *unit_columns, position), rows


def _load(spark, source: Source, delimiter: str | None, encoding: str | None) -> Load:
    from pyspark.sql import functions as F

    from cjm.files import ColumnNames

    details: dict[str, Any] = {}
    notes: list[str] = []
    try:
        if source.format == "table":
            frame = spark.table(source.location)
        elif source.format == "parquet":
            frame = spark.read.parquet(source.location)
        else:
            sep = delimiter or _sniffed_delimiter(source)
            sep = "\t" if sep == "\\t" else sep
            frame = spark.read.csv(source.location, header=True, sep=sep,
                                   encoding=encoding or "UTF-8", quote='"', escape='"',
                                   mode="PERMISSIVE")
            details = {"delimiter": sep, "rows_are": "records (line 2 is the first; a value "
                       "that spans lines shifts the lines after it)"}
        names = frame.columns
    except UsageError:
        raise
    except Exception as exc:  # Spark's own: no such path or table, a damaged file
        raise DataError(f"{source.name}: Spark cannot read it: {_first_line(exc)}",
                        "Check the path (Spark reads it where Spark runs) or the table name."
                        ) from None
    original = ORIGINAL_LINE in names and source.format == "parquet"
    kept = [(i, n) for i, n in enumerate(names) if not (original and n in (ORIGINAL_LINE,
                                                                           ORIGINAL_FILE))]
    unique = ColumnNames()
    aliases = {i: unique(n, i + 1) for i, n in kept}
    types: dict[str, str] = {}
    positional = frame.toDF(*[f"_c{i}" for i in range(len(names))])
    select = [_text_or_time(F.col(f"_c{i}"), aliases[i], frame.schema.fields[i].dataType,
                            types) for i, _ in kept]
    # Rows are numbered while every column is still named by position (_c0, _c1, …): a
    # column of the file named like a numbering column (_pos, _unit) cannot be taken for it.
    if original:  # written by cjm convert: the row's line in the file it was read from
        loaded = positional.withColumn(
            "_line", F.col(f"_c{names.index(ORIGINAL_LINE)}").cast("long"))
        rows = loaded.count()
        details = {"rows_are": "lines of the original file"}
    elif source.format == "parquet":
        details = {"rows_are": "row numbers"}
        meta = positional.select("*", F.col("_metadata.file_path").alias("_unit"),
                                 F.col("_metadata.row_index").alias("_pos"))
        if source.single_file:
            loaded = meta.withColumn("_line", F.col("_pos") + 1).drop("_unit", "_pos")
            rows = positional.count()
        else:
            loaded, rows = _number_rows(meta, ["_unit"], "_pos")
    elif source.format == "csv":
        meta = positional.select("*", F.col("_metadata.file_path").alias("_unit"),
                                 F.col("_metadata.file_block_start").alias("_block"),
                                 F.monotonically_increasing_id().alias("_pos"))
        loaded, rows = _number_rows(meta, ["_unit", "_block"], "_pos")
        loaded = loaded.withColumn("_line", F.col("_line") + 1)  # line 1 is the header
    else:
        details = {"rows_are": "rows in the order Spark reads the table"}
        meta = positional.select("*", F.spark_partition_id().alias("_unit"),
                                 F.monotonically_increasing_id().alias("_pos"))
        loaded, rows = _number_rows(meta, ["_unit"], "_pos")
    columns = [aliases[i] for i, _ in kept]
    return Load(source, loaded.select("_line", *select), rows, columns, types, details, notes)


def _load_database(spark, database: DatabaseSource, options: dict[str, str],
                   given: dict[str, tuple[str, str]], window: WindowRead | None) -> Load:
    """The rows of a database, read once (kept, so that later passes do not ask the
    database again) and numbered as the DuckDB engine numbers them; with a ``window`` that
    can be sent (cjm.pushdown), only the rows it can need."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    frame, columns, order, plan = read_database(spark, database, options,
                                                mapped_columns(given), window)
    types: dict[str, str] = {}
    fields = frame.schema.fields[1:]
    loaded = frame.select("_line", *[
        _text_or_time(F.col(f"`{c.replace('`', '``')}`"), c, f.dataType, types)
        for c, f in zip(columns, fields, strict=True)]).persist(StorageLevel.MEMORY_AND_DISK)
    with guard(database, options):
        rows = loaded.count()
    if plan is not None and not rows:  # no row in the window: the whole table gives
        loaded.unpersist()             # between()'s message
        return _load_database(spark, database, options, given, None)
    source = Source(database.name, database.name, database.format, single_file=False)
    if plan is None:
        return Load(source, loaded, rows, columns, types, {"rows_are": order})
    left = left_in_database(spark, database, options, plan)
    return Load(source, loaded, rows, columns, types,
                {"rows_are": order, "left_in_database": left.rows}, [left.note(rows)], left)


def _sniffed_delimiter(source: Source) -> str:
    if source.local is not None and source.local.is_file():
        from cjm.files import read_sample, sniff_dialect

        sample = read_sample(source.local)
        text = sample.decode("utf-8", errors="replace")
        return sniff_dialect(text, None, source.name, complete=len(sample) < (1 << 20)).delimiter
    return "\t" if _extension(source.name) in (".tsv", ".tab") else ","


def read_spark_log(
    paths: str | Path | Iterable[str | Path],
    *,
    spark: Any = None,
    remote: str | None = None,
    master: str | None = None,
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
    table: str | None = None,
    query: str | None = None,
    config: Config | None = None,
    pseudonymize: bool = False,
    salt: str | None = None,
    min_journeys: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SparkEventLog:
    """Read logs with Spark: cjm.read_log's options and results, aggregated in Spark.

    ``spark`` is a SparkSession to work in; without it, ``remote`` (Spark Connect, e.g.
    ``sc://host:15002``), ``master`` or the session already running (see
    cjm.engine.spark.session). ``paths`` are local paths, URIs Spark reads or table names;
    or one database URL with ``table`` or ``query``: ``sqlite:///``, ``postgresql://`` read by
    Spark's JDBC source (the drivers' jars on Spark's classpath), ``duckdb:///`` and
    ``adbc:DRIVER:URI`` read as Arrow by the executors (see docs/databases.md).
    ``since``/``until``: the window cjm.segments.between() will select, sent to a database
    as read_log sends it.

    >>> log = read_spark_log("s3a://b/events.parquet", remote="sc://spark:15002")  # doctest: +SKIP
    >>> cjm.discover(log).journeys  # doctest: +SKIP
    """
    config = config if config is not None else find_config()
    key = pseudonym_key(pseudonymize, salt)
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    database = database_source([str(item) for item in items], table, query,
                               config.get("database_password"))
    # A database is checked (a SQLite or DuckDB file found) before Spark starts.
    options = jdbc_options(database) if database else {}
    found = [] if database else sources(items)
    timezone = timezone or config.get("timezone") or "UTC"
    lifecycle = (lifecycle or config.get("lifecycle") or "complete").lower()
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
    zone_name(timezone)  # refused before Spark starts
    size = (_local_bytes(found) if database is None else
            database.existing_file().stat().st_size if database.scheme in ("sqlite", "duckdb")
            else None)
    owner = (Session(spark, owned=False) if spark is not None
             else session(remote, master, size))
    try:
        with quiet(), failures():
            given = given_roles(columns, config)

            def read(start: datetime | None, end: datetime | None) -> SparkEventLog:
                window = WindowRead(start, end, timezone, given, lifecycle,
                                    rules.collapse_repeats)
                return _read(owner.spark, found, (database, options, window),
                             delimiter or config.get("delimiter"),
                             encoding or config.get("encoding"), given,
                             timezone, timestamp_format or config.get("timestamp_format"),
                             dayfirst, lifecycle, gap_seconds, drop_duplicates, rules, key,
                             convert_line(found, columns, timezone, dayfirst,
                                          timestamp_format, delimiter, encoding))

            log = read(since, until)
            if refused_in_window(log):  # read whole, as read_log does
                log.close()
                log = read(None, None)
            log._session = owner
            log.min_journeys = check_min_journeys(min_journeys)
            log.private = key is not None or log.min_journeys > 1
            log.config = config
            if rejects is not None:
                log.write_rejects(rejects)
        if not log.events:
            raise nothing_left(log)
        return log
    except BaseException:
        owner.stop()
        raise


def _local_bytes(found: list[Source]) -> int | None:
    """The inputs' size on this machine's disk; None when one is not a local path."""
    total = 0
    for source in found:
        if source.local is None:
            return None
        files = [source.local] if source.local.is_file() else source.local.rglob("*")
        total += sum(f.stat().st_size for f in files if f.is_file())
    return total


def _read(spark, found: list[Source],
          database: tuple[DatabaseSource | None, dict[str, str], WindowRead],
          delimiter, encoding, given, *build) -> SparkEventLog:
    loads = []
    if database[0] is not None:
        with step("Reading " + database[0].name):
            loads.append(_load_database(spark, database[0], database[1], given, database[2]))
    for source in found:
        with step(f"Reading {Path(source.name).name or source.name}"):
            loads.append(_load(spark, source, delimiter, encoding))
    with step("Checking the events"):
        log = _build(spark, loads, given, *build)
    if database[0] is not None:  # its rows are in the cached staged rows now
        loads[0].frame.unpersist()
        # The span of the whole table, also of the rows --since/--until left in it.
        log.first_timestamp, log.last_timestamp = whole_span(
            log.first_timestamp, log.last_timestamp, loads[0].left)
    return log


def _apply_stage_rules(events, rules: StageRules) -> tuple[Any, list[str]]:
    """The events with their stages renamed and merged and repeats set aside
    (cjm.stage_rules), as the DuckDB engine does; and the notes saying so."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    mapping, unused = rules.mapping(r["stage"] for r in events.select("stage").distinct()
                                    .collect())
    if mapping:
        names = F.create_map(*[F.lit(n) for pair in sorted(mapping.items()) for n in pair])
        events = events.withColumn("stage", F.coalesce(names[F.col("stage")], F.col("stage")))
    collapsed = 0
    if rules.collapse_repeats:
        before = events.count()
        order = Window.partitionBy("journey").orderBy("ts", "_file", "_line")
        events = (events.withColumn("_prev", F.lag("stage").over(order))
                  .where(F.col("_prev").isNull() | (F.col("_prev") != F.col("stage")))
                  .drop("_prev").persist(StorageLevel.MEMORY_AND_DISK))
        collapsed = before - events.count()
    return events, rules.notes(mapping, unused, collapsed)


def _build(spark, loads: list[Load], given, timezone: str, timestamp_format: str | None,
           dayfirst: bool | None, lifecycle: str, gap_seconds: float | None,
           drop_duplicates: bool, rules: StageRules,
           pseudonym_key: str | None, convert: str) -> SparkEventLog:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    names = ", ".join(load.source.name for load in loads)
    where = names if len(loads) == 1 else f"{len(loads)} files"
    if not any(load.rows for load in loads):
        hint = ("The files hold no records." if len(loads) > 1 else
                "The file has a header but no rows." if loads[0].source.format == "csv" else
                "The file holds no records.")
        raise DataError(f"{where}: no rows to read", hint)
    mapping = resolve_files([(load.source.name, load.columns) for load in loads], given,
                            where)
    ts_column = mapping.column("timestamp")
    ts_types = {load.types.get(_actual(load.columns, ts_column)) for load in loads} - {None}
    native = ts_types.pop() if len(ts_types) == 1 and ts_types <= {"timestamp", "timestamp_ntz",
                                                                      "date"} else None
    frames = []
    for i, load in enumerate(loads):
        frame = load.frame
        if native is None:  # text for all, as DuckDB's union of text and timestamps gives
            column = _actual(load.columns, ts_column)
            if column and load.types.get(column) != "string":
                frame = frame.withColumn(column, F.col(_q(column)).cast("string"))
        frames.append(frame.withColumn("_file", F.lit(i)))
    raw = frames[0]
    for frame in frames[1:]:
        raw = raw.unionByName(frame, allowMissingColumns=True)
    # Every column of the row as read, mapped or not: an exact duplicate is identical in all.
    # xxhash64 skips nulls, so each column's null flag goes in too.
    read = [F.col(_q(c)) for c in dict.fromkeys(c for load in loads for c in load.columns)]
    row = F.xxhash64(*[c.isNull() for c in read], *[c.cast("string") for c in read])
    # Then only the mapped columns go on, named after their roles: a column of the file named
    # like one of the reader's own (_ts, _iso, _ts_parts, …) cannot be taken for it.
    raw = raw.select("_file", "_line", row.alias("_row"),
                     *[F.col(_q(choice.column)).alias(role)
                       for role, choice in mapping.choices.items()])

    def text(role: str):
        return F.col(role).cast("string")

    raw = raw.withColumn("_ts_text", sts.spark_trim(text("timestamp")))
    if native is not None:
        ts_format = TimestampFormat(f"native {_native_type(loads, ts_column, native)}",
                                    "try_cast({c} AS TIMESTAMPTZ)", native != "timestamp")
        raw = sts.with_native(raw, "timestamp", native, "_ts", zone_name(timezone))
    else:
        ts_format, raw = _text_timestamps(raw, ts_column, timezone, timestamp_format, dayfirst,
                                          where, convert)
    optional = held_roles(mapping)
    lifecycle_note, keep = _lifecycle_filter(raw, mapping, lifecycle)
    case = _pseudonym(text("case"), pseudonym_key) if pseudonym_key else text("case")
    staged = raw.select(
        "_file", "_line", case.alias("case_id"), text("stage").alias("stage"),
        text("timestamp").alias("ts_text"), F.col("_ts").alias("ts"), keep.alias("keep"),
        "_row", *[text(r).alias(r) for r in optional])

    def blank(column: str):
        return F.coalesce(sts.spark_trim(F.col(column)), F.lit("")) == ""

    reason = (
        F.when(blank("case_id"), f"missing journey id (column {mapping.column('case')})")
        .when(blank("stage"), f"missing stage (column {mapping.column('stage')})")
        .when(blank("ts_text"), f"empty timestamp (column {ts_column})")
        .when(F.col("ts").isNull(), f"unparsable timestamp ({ts_format.description} expected)")
        .when(~F.col("ts").between(_EARLIEST, _LATEST),
              "timestamp out of range (years 1 to 9999)")
    )
    # Cached as it is, so that Spark reads and parses each row once, and does not copy the
    # parsing into every filter that uses its result.
    staged = staged.withColumn("reason", reason).persist(StorageLevel.MEMORY_AND_DISK)
    rejected = staged.where(F.col("reason").isNotNull()).select(
        F.col("_file").cast("int").alias("_file"), "_line", "reason",
        F.concat_ws(", ", F.concat(F.lit("journey id="), F.coalesce("case_id", F.lit(""))),
                    F.concat(F.lit("stage="), F.coalesce("stage", F.lit(""))),
                    F.concat(F.lit("timestamp="), F.coalesce("ts_text", F.lit(""))))
        .alias("content"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    kept = staged.where(F.col("reason").isNull() & F.col("keep"))
    duplicates = (0, []) if drop_duplicates else _duplicate_events(kept)
    if drop_duplicates:
        same = Window.partitionBy(*duplicate_key()).orderBy("_file", "_line")
        kept = kept.withColumn("_first", F.row_number().over(same)).where(F.col("_first") == 1)
    journey = F.col("case_id")
    if gap_seconds:
        order = Window.partitionBy("case_id").orderBy("ts", "_file", "_line")
        epoch = sts.epoch_seconds(F.col("ts"))
        gap = F.when(epoch - F.lag(epoch).over(order) > F.lit(float(gap_seconds)), 1)\
            .otherwise(0)
        kept = kept.withColumn("_gap", gap)
        journey = F.concat(F.col("case_id"), F.lit("#"), (1 + F.sum("_gap").over(
            order.rowsBetween(Window.unboundedPreceding, Window.currentRow))).cast("string"))
        if pseudonym_key:  # the visit's number hashed too: a customer's visits stay unlinked
            journey = _pseudonym(journey, pseudonym_key)
    events = kept.select(journey.alias("journey"), "case_id", "stage", "ts", "_file", "_line",
                         *optional)
    if drop_duplicates or gap_seconds or rules.collapse_repeats:  # windows: order them once
        events = events.persist(StorageLevel.MEMORY_AND_DISK)
    rule_notes = []
    if rules:
        events, rule_notes = _apply_stage_rules(events, rules)
    counted = (events.select("_file", F.lit("event").alias("kind"))
               .unionByName(rejected.select("_file", F.lit("reject").alias("kind")))
               .groupBy("_file", "kind").count().collect())
    per_file = {(r["_file"], r["kind"]): r["count"] for r in counted}
    reports = []
    for i, load in enumerate(loads):
        n_events, n_rejected = per_file.get((i, "event"), 0), per_file.get((i, "reject"), 0)
        rows = load.rows + (load.left.rows if load.left else 0)  # --since/--until's too
        reports.append(FileReport(
            path=load.source.name, format=load.source.format,
            rows=rows, events=n_events, rejected=n_rejected,
            filtered=rows - n_events - n_rejected, details=load.details))
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
    totals = events.agg(F.count("*"), F.count_distinct("journey"), F.count_distinct("stage"),
                        F.min("ts"), F.max("ts")).collect()[0]
    return SparkEventLog(
        spark=spark, events_frame=events, rejects_frame=rejected, staged_frame=staged,
        files=reports,
        mapping=mapping, timestamp_format=ts_format, timezone=timezone, notes=notes,
        warnings=quality_warnings(events, [r.path for r in reports], *duplicates),
        events=totals[0], journeys=totals[1], stages=totals[2],
        first_timestamp=instant(totals[3]), last_timestamp=instant(totals[4]),
        journey_gap_seconds=gap_seconds,
        session_column=session_column(list(dict.fromkeys(
            c for load in loads for c in load.columns)), mapping),
    )


def convert_line(found: list[Source], columns: dict[str, str] | None, timezone: str,
                 dayfirst: bool | None, timestamp_format: str | None, delimiter: str | None,
                 encoding: str | None) -> str:
    """The ``cjm convert`` line(s) that write the log with its timestamps parsed as DuckDB
    parses them, the user's reading options carried over (one line per file)."""
    import shlex

    options = [f"--{role} {shlex.quote(column)}" for role, column in (columns or {}).items()
               if role in ("case", "stage", "timestamp")]
    options += [f"--{flag} {shlex.quote(value)}" for flag, value in (
        ("timezone", timezone if timezone != "UTC" else None),
        ("timestamp-format", timestamp_format), ("delimiter", delimiter),
        ("encoding", encoding)) if value]
    if dayfirst is not None:
        options.append("--dayfirst" if dayfirst else "--monthfirst")
    lines = []
    for source in found:
        stem = output_stem([source.name])
        target = f"{stem}.parquet"
        if source.local is not None and Path(target).resolve() == source.local.resolve():
            target = f"{stem}-parsed.parquet"  # never over the log itself
        lines.append(" ".join(["cjm convert", shlex.quote(source.name), "-o",
                               shlex.quote(target), "--parse-timestamps", *options]))
    return "; ".join(lines)


def _pseudonym(column, key: str):
    """cjm.engine.semantics.pseudonym in Spark: ``p-`` and 16 hex digits of SHA-256(key, 0x1f,
    value); empty values stay as they are."""
    from pyspark.sql import functions as F

    return F.when(F.coalesce(sts.spark_trim(column), F.lit("")) == "", column).otherwise(
        F.concat(F.lit("p-"), F.substring(
            F.sha2(F.concat(F.lit(key + chr(31)), column), 256), 1, 16)))


def _q(name: str) -> str:
    """A column name for F.col: dots and backticks taken literally."""
    return "`" + name.replace("`", "``") + "`"


def _actual(columns: list[str], name: str) -> str | None:
    """The file's own spelling of a column (the engine folds case)."""
    for column in columns:
        if column.casefold() == name.casefold():
            return column
    return None


def _native_type(loads: list[Load], column: str, native: str) -> str:
    """The type DuckDB would name, from the Parquet file itself when it is local."""
    local = next((load.source.local for load in loads if load.source.local is not None
                  and load.source.format == "parquet" and load.source.single_file), None)
    types = parquet_types(local) if local is not None else {}
    found = _actual(list(types), column)
    return types[found] if found is not None else _DUCKDB_TYPES[native]


def parquet_types(path: Path) -> dict[str, str]:
    """DuckDB's names of the types of a Parquet file's top-level timestamp and date columns,
    read from the file's schema (INT96 and legacy converted timestamps aside: DuckDB names
    INT96 TIMESTAMP; the others are left to Spark's type); nothing for a damaged file."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception:  # pyarrow's own errors: Spark's reading will say what is wrong
        return {}
    schema, top = file.schema, set(file.schema_arrow.names)
    types = {}
    for i in range(len(schema)):
        column = schema.column(i)
        if column.path not in top or column.max_repetition_level:
            continue  # in a list or a struct: no top-level column
        logical = column.logical_type
        if column.physical_type == "INT96":
            types[column.name] = "TIMESTAMP"
        elif logical.type == "DATE":
            types[column.name] = "DATE"
        elif logical.type == "TIMESTAMP":
            stamp = json.loads(logical.to_json())
            if stamp["is_from_converted_type"]:
                continue
            nanos = stamp["timeUnit"] == "nanoseconds"
            types[column.name] = (("TIMESTAMPTZ_NS" if nanos else "TIMESTAMP WITH TIME ZONE")
                                  if stamp["isAdjustedToUTC"] else
                                  "TIMESTAMP_NS" if nanos else "TIMESTAMP")
    return types


def _text_timestamps(raw, column: str, timezone: str, given_format: str | None,
                     dayfirst: bool | None, where: str,
                     convert: str) -> tuple[TimestampFormat, Any]:
    """How the column writes its timestamps (decided as DuckDB decides it, on the first
    values: cjm.timestamps.sample_format), and ``raw`` with their microseconds in ``_ts``.
    Spark reads ISO 8601 and epoch numbers; other formats, and first values that DuckDB may
    read as ISO 8601 where Spark does not, are refused with the ``convert`` line."""
    from pyspark.sql import functions as F

    if given_format:
        raise UsageError("--timestamp-format is not supported with --engine spark",
                         f"{SPARK_FORMATS_HINT}, or convert the log first: {convert}")
    zone = zone_name(timezone)
    iso = sts.with_iso(raw, "_ts_text", "_ts", zone)
    epoch = sts.with_epoch(raw, "_ts_text", "_ts")
    first = (iso.where(F.col("_ts_text").isNotNull() & (F.col("_ts_text") != ""))
             .orderBy("_file", "_line").limit(SAMPLE_SIZE).select("_ts_text", "_ts").collect())
    values = [r["_ts_text"] for r in first]
    read = sum(r["_ts"] is not None for r in first)
    # Dates in forms Spark's pattern does not take (a year of two digits, a zone's name after
    # the time, …): DuckDB may read them, so Spark cannot be sure to read them alike.
    doubtful = [r["_ts_text"] for r in first if r["_ts"] is None
                and _DATE_LIKE.match(r["_ts_text"]) and not _ISO.match(r["_ts_text"])]
    if doubtful and read + len(doubtful) >= 0.5 * len(values):
        raise DataError(
            f"{where}: Spark and DuckDB may read the timestamp {doubtful[0]!r} (column "
            f"{column!r}) differently", f"{SPARK_FORMATS_HINT} (YYYY-MM-DD "
            f"HH:MM:SS[.ffffff][+HH:MM]), or convert the log first: {convert}")
    ts_format = sample_format(values, read, dayfirst=dayfirst, column=column, where=where)
    if ts_format.description == "ISO 8601":
        return ts_format, iso
    if ts_format.description.startswith("epoch "):
        return ts_format, epoch
    raise DataError(
        f"{where}: the timestamps in column {column!r} are written as "
        f"{ts_format.description} (for example {values[0]!r}), which Spark does not read",
        f"Convert the log first, parsing them as DuckDB does: {convert}; or run with "
        "--engine duckdb.")


def _lifecycle_filter(raw, mapping, lifecycle: str) -> tuple[str | None, Any]:
    """A note for the report and the condition that keeps a row (cjm.engine.duckdb.eventlog's)."""
    from pyspark.sql import functions as F

    if "lifecycle" not in mapping or lifecycle == "all":
        return None, F.lit(True)
    value = F.lower(sts.spark_trim(F.col("lifecycle").cast("string")))
    values = {r["v"]: r["count"] for r in raw.select(value.alias("v")).groupBy("v").count()
              .collect()}
    note, filters = lifecycle_rule(values, mapping.column("lifecycle"))
    if not filters:
        return note, F.lit(True)
    return note, F.coalesce(value == "complete", F.lit(False))


def _duplicate_events(kept) -> tuple[int, list[tuple[int, int]]]:
    """cjm.quality.duplicate_events, counted in Spark."""
    from pyspark.sql import functions as F

    same = kept.groupBy(*duplicate_key()).agg(
        F.count("*").alias("n"), F.min(F.struct("_file", "_line")).alias("first")
    ).where(F.col("n") > 1)
    found, first = same.agg(F.sum(F.col("n") - 1),
                            F.slice(F.sort_array(F.collect_list("first")), 1, 3)).collect()[0]
    return int(found or 0), [(r["_file"], r["_line"]) for r in first or ()]


def quality_warnings(events, files: list[str], duplicates: int = 0,
                     first: Sequence[tuple[int, int]] = ()) -> list[QualityWarning]:
    """cjm.quality's warnings, counted in Spark (duplicates by _duplicate_events())."""
    from pyspark.sql import functions as F

    now = int(time.time() * _MICROS)
    groups = events.groupBy("journey", "ts").count()
    per_journey = groups.groupBy("journey").agg(
        F.sum("count").alias("events"),
        F.sum(F.when(F.col("count") > 1, F.col("count"))).alias("tied"),
        F.sum(F.when(F.col("ts") > now, F.col("count"))).alias("future"),
        F.sum(F.when(F.col("ts") < _Y1990, F.col("count"))).alias("early"))
    tied, tied_journeys, single, future, early = per_journey.agg(
        F.coalesce(F.sum("tied"), F.lit(0)), F.count(F.when(F.col("tied") > 0, 1)),
        F.count(F.when(F.col("events") == 1, 1)), F.coalesce(F.sum("future"), F.lit(0)),
        F.coalesce(F.sum("early"), F.lit(0))).collect()[0]
    key = F.lower(sts.spark_trim(F.col("stage")))
    near = (events.select(key.alias("k"), "stage").distinct().groupBy("k")
            .agg(F.sort_array(F.collect_list("stage")).alias("names"))
            .where(F.size("names") > 1).collect())
    near.sort(key=lambda r: r["k"])
    return warnings_from(
        duplicates, tuple(f"{files[f]}:{line}" for f, line in first),
        int(tied), int(tied_journeys), int(single), int(future), int(early),
        [list(r["names"]) for r in near])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__



# DuckDB's memory options, which Spark's own settings replace (docs/scale.md).
DUCKDB_ONLY = {"memory_limit": "--memory-limit", "temp_dir": "--temp-dir",
               "buckets": "--buckets"}


def read_spark_settings(paths: Any, settings: dict[str, Any], *, config: Any = None,
                        remote: str | None = None, master: str | None = None,
                        since: Any = None, until: Any = None) -> Any:
    """Read the log with Spark as the reading options ``settings`` say (READING_OPTIONS,
    as the flags name them); DuckDB's memory options are refused."""
    from cjm.config import read_arguments
    from cjm.errors import UsageError

    settings = dict(settings)
    given = [flag for name, flag in DUCKDB_ONLY.items() if settings.pop(name, None) is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: not supported with --engine spark",
                         "Run with --engine duckdb for them; see docs/scale.md for Spark's "
                         "memory settings.")
    return read_spark_log(paths, remote=remote, master=master, **read_arguments(settings),
                          config=config, since=since, until=until)
