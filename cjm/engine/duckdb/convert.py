"""A log as Parquet (or a database table), for repeated runs: read once from CSV, JSON or
XES, then in seconds.

The Parquet file holds every row that was read, as it was read (every column as text; with
``parse_timestamps`` the timestamp column as instants, parsed as the reader parses it), in
file order, with the row's line in its original file in ``cjm_line`` (and, for several files,
the file's name in ``cjm_file``). Reading it again gives the same events, and the same
rejects at the same original lines; rows the reader could not split into fields at all (a
broken CSV line) are not in it, and are counted in the result instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cjm.engine.duckdb.eventlog import EventLog
from cjm.engine.duckdb.readers.parquet import ORIGINAL_FILE, ORIGINAL_LINE
from cjm.errors import UsageError
from cjm.progress import step
from cjm.sources import DatabaseSource
from cjm.sql import sql_name, sql_string


@dataclass(frozen=True)
class Conversion:
    target: Path | str  # a file, or a database table's name (no password)
    rows: int  # rows written
    unreadable: int  # rows left out: the reader could not split them into fields


def convert(log: EventLog, target: str | Path, parse_timestamps: bool = False) -> Conversion:
    """Write the rows ``log`` was read from to ``target`` (.parquet), in file order; with
    ``parse_timestamps``, the timestamp column as TIMESTAMP WITH TIME ZONE, which every engine
    reads (an unparsable value is left empty)."""
    from cjm.safety import atomic_path

    target = Path(target)
    select = _rows_sql(log, parse_timestamps)
    # Written beside the target and renamed into place, as every output is.
    with step(f"Writing {target.name}"), atomic_path(target) as temporary, \
            _log_time_zone(log, parse_timestamps):
        log.con.execute(f"COPY ({select}) TO {sql_string(str(temporary))} "
                        "(FORMAT parquet, COMPRESSION zstd)")
    return _done(log, target)


def convert_to_table(log: EventLog, target: DatabaseSource,
                     parse_timestamps: bool = False) -> Conversion:
    """Write the rows ``log`` was read from to the new table ``target.table`` of a DuckDB,
    SQLite or PostgreSQL database, as convert() writes Parquet (cjm_line and all)."""
    from cjm.engine.duckdb.readers.database import write_table

    with step(f"Writing {target.name}"), _log_time_zone(log, parse_timestamps):
        write_table(log.con, _rows_sql(log, parse_timestamps), target)
    return _done(log, target.name)


@contextmanager
def _log_time_zone(log: EventLog, parse: bool) -> Iterator[None]:
    """The log's time zone while its timestamps are parsed (naive ones are read in it)."""
    if parse:
        log.con.execute(f"SET TimeZone = {sql_string(log.timezone)}")
    try:
        yield
    finally:
        if parse:
            log.con.execute("SET TimeZone = 'UTC'")  # as the reader leaves it


def _rows_sql(log: EventLog, parse_timestamps: bool = False) -> str:
    """The rows as read, every column as text (or the timestamp column parsed), with their
    original lines, in file order."""
    columns = [name for name, _ in log.con.execute(
        "SELECT column_name, column_type FROM (DESCRIBE raw)").fetchall()
        if name not in ("_file", "_line")]
    taken = [c for c in columns if c.casefold() in (ORIGINAL_LINE, ORIGINAL_FILE)]
    if taken:
        raise UsageError(f"the log has a column named {taken[0]!r}, which cjm convert uses "
                         "for each row's original line", "Rename that column first.")
    parsed = log.mapping.column("timestamp") if parse_timestamps else None

    def value(column: str) -> str:
        text = f"CAST({sql_name(column)} AS VARCHAR)"
        # As the reader parses it: trimmed, in the format it found, naive values in its zone.
        return log.timestamp_format.expression(f"trim({text})") if column == parsed else text

    names = ", ".join(f"{value(c)} AS {sql_name(c)}" for c in columns)
    files = "CASE _file " + " ".join(
        f"WHEN {i} THEN {sql_string(Path(f.path).name)}" for i, f in enumerate(log.files)
    ) + " END"
    origin = f"_line AS {ORIGINAL_LINE}" + (f", {files} AS {ORIGINAL_FILE}"
                                            if len(log.files) > 1 else "")
    return f"SELECT {names}, {origin} FROM raw ORDER BY _file, _line"


def _done(log: EventLog, target: Path | str) -> Conversion:
    rows = log.con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    return Conversion(target, int(rows), log.rows - int(rows))
