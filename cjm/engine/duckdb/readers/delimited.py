"""CSV and TSV, plain or gzip, parsed by DuckDB with every column as text.

DuckDB does not number the rows it parses, so line numbers are derived: in a regular file
(one line a record, no blank lines) a row's line follows from its position and the lines the
rejected records took before it; otherwise a streaming pass with Python's csv module finds
where each record starts.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
import threading
from array import array
from collections.abc import Callable
from pathlib import Path

from cjm.engine.duckdb.readers.base import FileLoad, ReadOptions, Reject, literal_path
from cjm.errors import DataError
from cjm.files import (
    CUT_SHORT,
    MAX_COLUMNS,
    SAMPLE_BYTES,
    csv_field_limit,
    detect_encoding,
    ended_early,
    is_gzip,
    open_binary,
    read_sample,
    sniff_dialect,
)
from cjm.resources import classify
from cjm.schema import Kept
from cjm.sql import sql_name, sql_string

_NATIVE = ("utf-8",)  # DuckDB's own latin-1 refuses bytes 0x80-0x9F; Python decodes them
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_REASONS = {
    "TOO MANY COLUMNS": "malformed line: {message}",
    "MISSING COLUMNS": "malformed line: {message}",
    "UNQUOTED VALUE": "malformed line: bad quoting (a quote is never closed, or text follows "
    "a closing quote)",
    "INVALID ENCODING": "not valid {encoding} text (pass --encoding)",
    "INVALID UNICODE": "not valid {encoding} text (pass --encoding)",
    "LINE SIZE OVER MAXIMUM": "line longer than the 8 MB limit",
}


def load_csv(con, path: Path, index: int, options: ReadOptions, workdir: Path,
             keep: Callable[[list[str]], Kept | None] | None = None) -> FileLoad:
    where = str(path)
    sample = read_sample(path)
    if not sample.strip():
        raise DataError(f"{where}: the file is empty", "Give a file with a header and rows.")
    encoding, encoding_source = detect_encoding(sample, options.encoding)
    if encoding != "utf-16" and b"\x00" in sample[:65536]:
        raise DataError(
            f"{where}: this looks like a binary file, not CSV (it holds NUL bytes)",
            "Give a CSV, TSV, JSON, JSON Lines, Parquet or XES file.",
        )
    # The file as DuckDB is to read it: itself, or a UTF-8 copy.
    readable = literal_path(path, workdir, index)
    source, truncated = readable, False
    if encoding not in _NATIVE:
        source, truncated = _transcode(path, encoding, workdir / f"transcoded_{index}.csv")
    cut = _drop_cut_line(source, path) if truncated else None
    text = sample.decode(encoding, errors="replace")  # _transcode tried it: it decodes
    dialect = sniff_dialect(text, options.delimiter, where, complete=len(sample) < SAMPLE_BYTES)
    if len(dialect.header) > MAX_COLUMNS:
        raise DataError(
            f"{where}: the header has {len(dialect.header):,} columns; cjm reads at most "
            f"{MAX_COLUMNS:,}",
            "Check the delimiter (--delimiter), or keep the columns the journeys need.",
        )
    details = {
        "encoding": encoding,
        "encoding_source": encoding_source,
        "delimiter": dialect.delimiter,
        "delimiter_source": dialect.delimiter_source,
    }
    notes = []
    if encoding_source.startswith("not UTF-8"):
        notes.append(f"{path.name}: {encoding_source}")
    kept = keep(dialect.header) if keep else None
    if kept is not None and source == readable and not is_gzip(path):
        load = _in_place(con, path, readable, index, dialect, encoding, kept, where)
        if load is not None:
            load.details, load.notes = details, notes
            return load
    table = f"raw_{index}"
    try:
        _parse(con, table, index, source, dialect, encoding if source == readable else "utf-8",
               where, kept)
    except _GzipFailed as failed:
        # DuckDB stops at a cut; the part before it is read from a plain copy.
        source = workdir / f"uncut_{index}.csv"
        if not _plain_copy(path, source):
            raise DataError(f"{where}: the gzip data is damaged or cut short ({failed})",
                            "Check that the download or copy is complete (gzip -t FILE).") \
                from None
        truncated, cut = True, _drop_cut_line(source, path)
        _parse(con, table, index, source, dialect, "utf-8", where, kept)
    good = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    rejects = _rejects(con, index, encoding)
    # A transcoded file is UTF-8, whatever the input was.
    line_expr, join = _line_numbers(con, source, encoding if source == readable else "utf-8",
                                    index, good, rejects, dialect, where)
    if cut is not None:
        rejects.append(cut)
    relation = f"file_{index}"
    # A row's print (_row) stands in, in the exact-duplicate check, for the text the events
    # do not hold.
    select = ", ".join(f"r.{sql_name(name)}" for name in (kept.columns if kept
                                                          else dialect.header)) \
        + (", r._row" if kept is not None else "")
    con.execute(
        f"CREATE VIEW {relation} AS SELECT {line_expr} AS _line, {select} FROM {table} r {join}"
    )
    if truncated:
        details["truncated"] = True
    return FileLoad(path, "csv", relation, good + len(rejects), dialect.header, rejects, details,
                    notes)


def _in_place(con, path: Path, readable: Path, index: int, dialect, encoding: str,
              kept: Kept, where: str) -> FileLoad | None:
    """``path`` (which DuckDB reads as ``readable``) to be read in the pass that makes the
    events, in the columns of ``kept``; None when it has no row to peek at (the careful path
    then says why)."""
    peek = _read_csv(readable, dialect, encoding, index, rejects=False)
    try:
        if not con.execute(f"SELECT 1 FROM {peek} LIMIT 1").fetchall():
            return None
    except Exception:  # duckdb's own errors: the careful path names them
        return None
    relation = f"file_{index}"
    columns = ", ".join(sql_name(name) for name in kept.columns)
    con.execute(f"CREATE VIEW {relation} AS SELECT NULL::BIGINT AS _line, {columns} "
                f"FROM {peek}")
    scan = f"SELECT {_projection(kept)} FROM {_read_csv(readable, dialect, encoding, index)}"
    load = FileLoad(path, "csv", relation, 0, dialect.header, scan=scan)
    lines = _LineCount(path)
    lines.start()

    def finish(con, good: int) -> str | None:
        load.rejects = _rejects(con, index, encoding)
        load.rows = good + len(load.rejects)
        line, join = _line_numbers(con, path, encoding, index, good, load.rejects, dialect,
                                   where, row="r.n", lines=lines.result())
        if not join:  # every row on the line after the one before
            return None
        return f"SELECT r.n + 2 AS provisional, {line} AS line FROM range({good}) r(n) {join}"

    load.finish = finish
    return load


class _GzipFailed(Exception):
    """DuckDB could not decompress the file: damaged, or cut short."""


# DuckDB reads a CSV in buffers, which must be larger than its longest line: at twice that
# rather than DuckDB's 32 MiB, a peek at the first row reads 16 MiB, not 32 (0.04 s at 1M
# events), and the parse on 2 cores is 5 to 8% faster.
_MAX_LINE = 8 << 20


def _read_csv(source: Path, dialect, encoding: str, index: int, rejects: bool = True) -> str:
    """The read_csv() call for ``source``: every column as text; the rows it cannot split go
    to the table rejects_<index>, or, without ``rejects``, are skipped."""
    columns = "{" + ", ".join(
        f"{sql_string(name)}: 'VARCHAR'" for name in dialect.header
    ) + "}"
    bad = (f"store_rejects=true, rejects_table='rejects_{index}', "
           f"rejects_scan='rejects_scan_{index}'" if rejects else "ignore_errors=true")
    return (f"read_csv({sql_string(str(source))}, delim={sql_string(dialect.delimiter)}, "
            f"quote='\"', escape='\"', header=true, auto_detect=false, columns={columns}, "
            f"{bad}, encoding={sql_string(encoding)}, max_line_size={_MAX_LINE}, "
            f"buffer_size={2 * _MAX_LINE}, "
            f"compression={sql_string('gzip' if is_gzip(source) else 'none')})")


def _parse(con, table: str, index: int, source: Path, dialect, encoding: str,
           where: str, kept: Kept | None = None) -> None:
    """Parse ``source`` (the file ``where``, or a copy of it) into ``table``, every column
    as text, the rejects beside; with ``kept``, only its columns and the row's print."""
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {_projection(kept)} FROM "
                    f"{_read_csv(source, dialect, encoding, index)}")
    except Exception as exc:  # duckdb raises its own hierarchy; all of it means unreadable
        raise parse_error(exc, source, where) from None


def parse_error(exc: Exception, source: Path, where: str) -> Exception:
    """What a failed parse of ``source`` (the file ``where``) means for the user."""
    if (known := classify(exc)) is not None:  # ...but for the machine running out
        return known
    message = _first_line(exc)
    if is_gzip(source) and "gzip" in message.lower():
        return _GzipFailed(message)
    if "state machine reached an invalid state" in message:
        # DuckDB's words for a break it cannot skip line by line.
        message = ("the file breaks the CSV rules in a way no single line can be set "
                   "aside for (often: a carriage return inside a line, or line endings "
                   "mixed)")
    return DataError(f"{where}: cannot parse as CSV: {message}",
                     "Re-export the file as standard CSV (RFC 4180), with one kind of line "
                     "ending.")


def _projection(kept: Kept | None) -> str:
    if kept is None:
        return "*"
    # The print hashes only the columns whose text the events do not hold: all nine columns
    # of the benchmark's file took 0.4 s more of the parse at 10M events than these three.
    printed = ", ".join(sql_name(name) for name in kept.printed)
    return ", ".join([*(sql_name(name) for name in kept.columns), f"hash({printed}) AS _row"])


def _plain_copy(path: Path, target: Path) -> bool:
    """Decompress ``path`` into ``target`` as far as it goes; True when it was cut short."""
    try:
        with open_binary(path) as raw, target.open("wb") as out:
            shutil.copyfileobj(raw, out, 1 << 20)
            return ended_early(raw)
    except OSError as exc:  # the copy may fill the temporary folder
        raise classify(exc) or DataError(f"{path}: cannot read the file: {exc}") from None


def _drop_cut_line(copy: Path, path: Path) -> Reject | None:
    """Take the last line off a copy of a file that ended early, unless a line break ended
    it: a record the cut went through, whose last value may look whole (``Purch``)."""
    size = copy.stat().st_size
    with copy.open("r+b") as handle:
        start = max(0, size - (1 << 24))  # twice DuckDB's longest line
        handle.seek(start)
        tail = handle.read()
        end = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
        if end == len(tail) - 1:
            return None  # the cut fell after a line break
        if end < 0 and start == 0:
            raise DataError(f"{path}: the file ends early (truncated), within its header line",
                            "Check that the download or copy is complete (gzip -t FILE).")
        handle.truncate(start + end + 1)
    return Reject(_count_lines(copy) + 1, CUT_SHORT,
                  tail[end + 1:].decode("utf-8", "replace")[:500])


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _transcode(path: Path, encoding: str, target: Path) -> tuple[Path, bool]:
    """Rewrite a file in an encoding DuckDB cannot decode as UTF-8, keeping every line;
    also whether it ended early (a gzip file cut short)."""
    try:
        with open_binary(path) as raw, \
                io.TextIOWrapper(raw, encoding=encoding, newline="") as text, \
                target.open("w", encoding="utf-8", newline="") as out:
            shutil.copyfileobj(text, out)
    except UnicodeDecodeError as exc:
        line = _undecodable_line(path, encoding)
        message = (f"{path}:{line[0]}: cannot decode as {encoding}: byte 0x{line[1]:02x} is "
                   f"no {encoding} text" if line else
                   f"{path}: cannot decode as {encoding} ({exc.reason})")
        raise DataError(message, "Pass --encoding with the file's real encoding.") from None
    except UnicodeError as exc:  # e.g. UTF-16 without a byte-order mark
        raise DataError(f"{path}: cannot decode as {encoding}: {exc}",
                        "Pass --encoding with the file's real encoding (utf-16-le, "
                        "utf-16-be, …).") from None
    except OSError as exc:  # the copy may fill the temporary folder
        raise classify(exc) or DataError(f"{path}: cannot read the file: {exc}") from None
    return target, ended_early(text)


def _undecodable_line(path: Path, encoding: str) -> tuple[int, int] | None:
    """The first line that does not decode, and its first bad byte (None when the encoding
    does not keep LF as the byte 0x0A, as UTF-16 does not)."""
    try:
        if "\n".encode(encoding) != b"\n":
            return None
    except UnicodeError:
        return None
    decoder = codecs.getincrementaldecoder(encoding)()
    with open_binary(path) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                bad = exc.object[exc.start:exc.start + 1] or line[-1:]
                return number, bad[0]
    return None


def _rejects(con, index: int, encoding: str) -> list[Reject]:
    # DuckDB reports a record with several missing columns once per column: one reject a
    # record (where its line starts), with the first of its errors.
    rows = con.execute(
        f"SELECT line, csv_line, error_type, error_message FROM rejects_{index} "
        "QUALIFY row_number() OVER (PARTITION BY coalesce(line_byte_position, line) "
        "ORDER BY column_idx NULLS FIRST, byte_position) = 1 ORDER BY line"
    ).fetchall()
    rejects = []
    for line, content, kind, message in rows:
        content = content or ""
        # DuckDB counts a blank line before a bad record into it; point at the record itself.
        lead = len(content) - len(content.lstrip("\r\n"))
        line += content[:lead].count("\n")
        reason = _REASONS.get(kind, "malformed line: {message}").format(
            message=(message or kind).split(".")[0].lower(), encoding=encoding
        )
        rejects.append(Reject(int(line), reason, content.strip("\r\n")))
    return rejects


def _count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with open_binary(path) as handle:
        while chunk := handle.read(1 << 23):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


class _LineCount(threading.Thread):
    """_count_lines() of a file, started as the file is about to be parsed: DuckDB's parse
    holds no Python lock, so the count (0.4 s at 10M events after the parse) is mostly
    hidden beside it (0.2 s gained on 2 cores)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.lines: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.lines = _count_lines(self.path)
        except BaseException as exc:  # raised where the count is read
            self.error = exc

    def result(self) -> int:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.lines is not None
        return self.lines


def _line_numbers(con, source, encoding, index, good, rejects, dialect, where, row="r.rowid",
                  lines: int | None = None):
    """A SQL expression for each row's line, and the join it needs, where ``row`` is the
    row's number among the rows parsed (from 0); ``lines``: the file's, if counted."""
    spans = [(r.line, r.content.count("\n") + 1) for r in rejects]
    lines = _count_lines(source) if lines is None else lines
    if lines == 1 + good + sum(span for _, span in spans):
        if not spans:
            return f"{row} + 2", ""
        # Rows before a reject keep rowid + 2; each reject pushes later rows down by its span.
        offsets: dict[int, int] = {}
        shift = 0
        for line, span in spans:
            before = line - 2 - shift  # good rows before this reject
            shift += span
            offsets[before] = shift
        con.execute(f"CREATE TABLE line_offsets_{index} (from_row BIGINT, shift BIGINT)")
        con.executemany(f"INSERT INTO line_offsets_{index} VALUES (?, ?)", list(offsets.items()))
        return (
            f"{row} + 2 + coalesce(o.shift, 0)",
            f"ASOF LEFT JOIN line_offsets_{index} o ON {row} >= o.from_row",
        )
    starts, bad_starts = _record_starts(source, encoding, len(dialect.header),
                                        dialect.delimiter)
    if len(starts) == good and len(bad_starts) == len(rejects):
        # DuckDB's reject lines drift after a record spanning lines; take the exact ones.
        for reject, line in zip(rejects, bad_starts, strict=True):
            reject.line = line
    else:
        # Rows DuckDB refused for other reasons (encoding) still parse here: drop them.
        refused = {r.line for r in rejects}
        starts = array("q", (s for s in starts if s not in refused))
    if len(starts) != good:
        raise DataError(
            f"{where}: the rows could not be numbered ({good} parsed, {len(starts)} found by "
            "line); the file mixes line endings or quoting in a way cjm cannot follow",
            "Re-export the file as standard CSV (RFC 4180).",
        )
    import pyarrow as pa

    con.register(f"line_starts_{index}", pa.table({"line": pa.array(starts, pa.int64())}))
    con.execute(
        f"CREATE TABLE line_map_{index} AS SELECT row_number() OVER () - 1 AS row, line "
        f"FROM line_starts_{index}"
    )
    con.unregister(f"line_starts_{index}")
    return "m.line", f"JOIN line_map_{index} m ON m.row = {row} ORDER BY {row}"


def _record_starts(source: Path, encoding: str, width: int,
                   delimiter: str) -> tuple[array, list[int]]:
    """The first line of every record after the header: well-formed ones, and the others."""
    starts, bad = array("q"), []
    with open_binary(source) as raw, csv_field_limit(), \
            io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="") as text:
        reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True)
        previous_end, header_seen = 0, False
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not row:
                continue
            if not header_seen:
                header_seen = True
                continue
            # Undecodable bytes come through as surrogates; DuckDB rejects those rows too.
            # DuckDB keeps a row with empty fields after the last column (1,2,3,,): so here.
            if len(row) >= width and not any(row[width:]) \
                    and not any(_UNDECODABLE.search(cell) for cell in row):
                starts.append(start)
            else:
                bad.append(start)
    return starts, bad


def make_workdir(parent: str | Path | None = None) -> Path:
    """A private folder for a log's temporary files, in ``parent`` or the system's."""
    from cjm.errors import ResourceError, UsageError

    if parent is not None and not Path(parent).is_dir():
        raise UsageError(f"--temp-dir {parent}: no such folder")
    try:
        return Path(tempfile.mkdtemp(prefix="cjm-", dir=parent))
    except OSError as exc:
        folder = f"--temp-dir {parent}" if parent is not None else \
            f"the temporary folder {tempfile.gettempdir()}"
        known = classify(exc)
        reason = known.message.rsplit(": ", 1)[-1] if known else exc.strerror or str(exc)
        raise ResourceError(f"{folder}: cannot create temporary files there: {reason}",
                            "Pass --temp-dir with a folder you may write to, on a disk with "
                            "free space.") from None
