"""XES written one element a line, as OpenXES, ProM and pm4py write it: read by DuckDB.

The expat reader (records.py) calls Python once per start tag, which bounds its speed. This
one finds the lines in C (numpy), tells each line's element by the bytes after its first
``<``, follows the nesting of traces and events with running maxima, and leaves to DuckDB, on
every core, the check that each line is exactly that element, the keys and values, and the
pivot to one row per event.

It reads a document only when every line from its first ``<trace>`` to its last ``</trace>``
is one of: a value element (string, date, int, float, boolean or id) with ``key`` then
``value`` and nothing more, ``<trace>``, ``</trace>``, ``<event>``, ``</event>`` or blank, in
a nesting XES allows; and what comes before and after those lines is well-formed XML with no
trace or event (expat checks it). For anything else (nested or list values, several elements
a line, character references, a file cut short, another encoding) it returns False and the
expat reader reads the file, so the rows are the same either way: the same columns in the
same order, the same values, the line of each event's start tag.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cjm.errors import DataError
from cjm.files import MAX_COLUMNS, ended_early, open_binary
from cjm.sql import sql_name, sql_string

_BLOCK = 1 << 22  # bytes decompressed at a time, and about the most a batch holds
_GROUP = 1 << 23  # bytes of whole traces checked, pivoted and written at once: the memory
_MAX_KEYS = 200  # keys in a group beyond which the pivot (a filter a key) is slower than expat
_MAX_FRAME = 1 << 25  # more text than this before the first trace or after the last: not flat

# A line's element, told by the bytes after its first '<'.
VALUE, EVENT, END_EVENT, TRACE, END_TRACE, BLANK, OTHER = range(7)
_START = 0  # the state before the first trace (VALUE is never a state)
# Which element may follow which: a trace holds events, an event holds none.
_FOLLOWS = {(_START, TRACE), (TRACE, EVENT), (TRACE, END_TRACE), (EVENT, END_EVENT),
            (END_EVENT, EVENT), (END_EVENT, END_TRACE), (END_TRACE, TRACE)}

# What XML allows in an attribute value, unchanged by the parser: no character reference,
# no white space but the space (the parser turns tabs into spaces), no control character.
_TEXT = r'(?:[^"<&\x00-\x1f\x{FFFE}\x{FFFF}]|&(?:lt|gt|amp|quot|apos);)*'
_END = r'[ \t]*\r?\n?'
_EXACT = {
    VALUE: rf'[ \t]*<(?:string|date|int|float|boolean|id) key="{_TEXT}" value="{_TEXT}"[ \t]*/>',
    EVENT: r"[ \t]*<event[ \t]*>", END_EVENT: r"[ \t]*</event[ \t]*>",
    TRACE: r"[ \t]*<trace[ \t]*>", END_TRACE: r"[ \t]*</trace[ \t]*>", BLANK: "",
}
_TRACE_LINE = re.compile(rb"[ \t]*<trace[ \t]*>[ \t]*\r?(?:\n|$)")
_TRACE_END_LINE = re.compile(rb"[ \t]*</trace[ \t]*>[ \t]*\r?\n")
# expat names an element of a namespace "uri}local" (namespace_separator="}").
XES_VALUE_TAGS = frozenset(
    f"{ns}}}{tag}" if ns else tag
    for ns in ("", "http://www.xes-standard.org/", "http://code.deckfour.org/xes")
    for tag in ("string", "date", "int", "float", "boolean", "id")
)
# libxml2's limit without XML_PARSE_HUGE, which cjm has always applied: deeper is no event log.
XES_MAX_DEPTH = 256
# What the body's lines are read as, placed between the header and the trailer.
_PROBE = b'<trace><event><string key="k" value="v"/></event></trace>'


class _NotFlat(Exception):
    """The document is not one element a line: the expat reader reads it."""


@dataclass
class _Group:
    """Whole traces' lines as Arrow record batches, their events (pairs of arrays: the
    events' lines, their traces' lines), the last trace's closing line, and whether a value
    so far may hold a reference (&amp; ...); each but the last ends with a </trace> line."""

    batches: list
    events: list[tuple]
    last_line: int
    escaped: bool
    last: bool  # the last group: it ends with the document, trailer and all


class _Lines:
    """The body's lines as Arrow batches (n, kind, ctx, rec, t, key, value), and what the
    nesting says.

    ``ctx`` is the element of the last trace or event line at or before the line, ``rec`` its
    line: a value line under ``<event>`` belongs to the event starting at ``rec``, one under
    ``<trace>`` (before the trace's first event) to the trace starting at ``rec``.
    """

    def __init__(self, path: Path) -> None:
        import numpy as np

        self.path = path
        self.flat = True
        self.escaped = False  # whether a key or value may hold a reference (&amp; ...)
        self.header: list[bytes] = []
        self.trailer: list[bytes] = []
        self.frame = 0  # bytes in header and trailer
        self.lines = 0  # lines before the current chunk
        self.in_body = False
        self.state, self.state_line, self.trace_line = _START, 0, 0
        self.events: list[tuple] = []  # (event lines, their traces' lines) per chunk
        first = np.full(256, OTHER, dtype=np.uint8)
        for byte in b"sdifb":  # string, date, int, float, boolean, id
            first[byte] = VALUE
        first[ord("e")], first[ord("t")] = EVENT, TRACE
        after_slash = np.full(256, OTHER, dtype=np.uint8)
        after_slash[ord("e")], after_slash[ord("t")] = END_EVENT, END_TRACE
        follows = np.zeros((7, 7), dtype=bool)
        for pair in _FOLLOWS:
            follows[pair] = True
        self._first, self._after_slash, self._follows = first, after_slash, follows

    def groups(self) -> Iterator[_Group]:
        """The body's lines in groups, each ending with a trace (the last with the
        document); a document that is not flat stops them early with
        ``flat`` false. The next group is made in a thread while DuckDB takes this one
        (decompressing and numpy let go of the GIL, as DuckDB does)."""
        import queue
        import threading

        made: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()

        def make() -> None:
            try:
                for group in self._groups():
                    made.put(group)
                    if stop.is_set():
                        return
            except (_NotFlat, OSError, EOFError, UnicodeDecodeError, DataError):
                self.flat = False
            except BaseException as exc:  # raised again where the groups are taken
                made.put(exc)
            made.put(None)

        maker = threading.Thread(target=make, daemon=True)
        maker.start()
        try:
            while (group := made.get()) is not None:
                if isinstance(group, BaseException):
                    raise group
                yield group
        finally:
            stop.set()
            while maker.is_alive():  # free its put(), so that it sees the stop
                with contextlib.suppress(queue.Empty):
                    made.get(timeout=0.05)

    def _groups(self) -> Iterator[_Group]:
        with open_binary(self.path) as raw:
            pending: list[bytes] = []
            size = 0
            while True:
                block = raw.read(_BLOCK)
                pending.append(block)
                size += len(block)
                if block and size < _GROUP:
                    continue
                data = b"".join(pending)
                cut = len(data)
                if block:  # up to the end of the last </trace> line
                    cut = _after_last_trace(data)
                    if not cut:
                        if size > _MAX_FRAME + _GROUP:  # a trace this long: the parser's
                            raise _NotFlat
                        pending = [data]
                        continue
                data[:cut].decode("utf-8")  # the parser would refuse bytes that are no UTF-8
                batches = [self._chunk(data[at:stop]) for at, stop in _pieces(data, cut)]
                pending, size = [data[cut:]], len(data) - cut
                yield _Group([batch for batch in batches if batch is not None], self.events,
                             self.state_line, self.escaped, last=not block)
                self.events = []
                if not block:
                    break
            if ended_early(raw):
                raise _NotFlat
        if not self.in_body or self.state != END_TRACE:
            raise _NotFlat

    def _chunk(self, chunk: bytes):
        if not self.in_body:
            found = _first_trace(chunk)
            head = chunk if found is None else chunk[:found]
            self._add_frame(self.header, head)
            self.lines += head.count(b"\n")
            if found is None:
                return None
            self.in_body = True
            chunk = chunk[found:]
        return self._body(chunk)

    def _add_frame(self, parts: list[bytes], data: bytes) -> None:
        self.frame += len(data)
        # A carriage return not before a line feed is a line to the parser, none here.
        if self.frame > _MAX_FRAME or (b"\r" in data
                                       and data.count(b"\r") != data.count(b"\r\n")):
            raise _NotFlat
        parts.append(data)

    def _body(self, chunk: bytes):
        import numpy as np
        import pyarrow as pa

        self.escaped |= b"&" in chunk
        text = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(text == 10) + 1
        if not len(ends) or ends[-1] != len(chunk):
            ends = np.append(ends, len(chunk))
        starts = np.concatenate(([0], ends[:-1]))
        count = len(ends)
        # Each line's first '<' and the bytes after it tell its element.
        opens = np.flatnonzero(text == 60)
        at = np.searchsorted(opens, starts)
        has = at < len(opens)
        pos = opens[np.minimum(at, len(opens) - 1)] if len(opens) else starts
        has &= pos < ends
        last = len(chunk) - 1
        kind = self._first[text[np.minimum(pos + 1, last)]]
        slash = text[np.minimum(pos + 1, last)] == ord("/")
        kind[slash] = self._after_slash[text[np.minimum(pos[slash] + 2, last)]]
        kind[~has] = BLANK
        lines = np.arange(self.lines + 1, self.lines + 1 + count, dtype=np.int64)
        self.lines += count

        nesting = (kind >= EVENT) & (kind <= END_TRACE)
        marks = kind[nesting]
        if len(marks):
            before = np.concatenate(([self.state], marks[:-1]))
            if not self._follows[before, marks].all():
                raise _NotFlat
        index = np.arange(count)
        latest = np.maximum.accumulate(np.where(nesting, index, -1))
        known = latest >= 0
        ctx = np.where(known, kind[np.maximum(latest, 0)], self.state).astype(np.uint8)
        rec = np.where(known, lines[np.maximum(latest, 0)], self.state_line)
        latest_trace = np.maximum.accumulate(np.where(kind == TRACE, index, -1))
        traces = np.where(latest_trace >= 0, lines[np.maximum(latest_trace, 0)],
                          self.trace_line)
        event = kind == EVENT
        self.events.append((lines[event], traces[event]))
        if len(marks):
            self.state, self.state_line = int(marks[-1]), int(rec[-1])
            self.trace_line = int(traces[-1])
            self.trailer, self.frame = [], sum(map(len, self.header))
            self._add_frame(self.trailer, chunk[ends[np.flatnonzero(nesting)[-1]]:])
        else:
            self._add_frame(self.trailer, chunk)

        offsets = np.concatenate(([0], ends)).astype(np.int64)
        data = pa.py_buffer(chunk)
        read = (kind == VALUE) & ((ctx == EVENT) | (ctx == TRACE))
        return pa.RecordBatch.from_arrays([
            arrow_array(pa.int64(), lines), arrow_array(pa.uint8(), kind),
            arrow_array(pa.uint8(), ctx), arrow_array(pa.int64(), rec),
            pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), data),
            *(pa.Array.from_buffers(pa.string_view(), count, [None, pa.py_buffer(views), data])
              for views in _quoted(chunk, text, starts, read)),
        ], names=["n", "kind", "ctx", "rec", "t", "key", "value"])

    def frame_is_xes(self) -> bool:
        """Whether the header and trailer make a well-formed XES document around the body,
        holding no trace or event of their own, in UTF-8, with the body's elements in the
        namespace the expat reader reads."""
        from xml.parsers import expat

        parser = expat.ParserCreate(namespace_separator="}")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        names: list[str] = []
        ends: list[str] = []
        encodings: list[str] = []
        doctype: list[str] = []  # a DTD may give attributes defaults or other normalizing
        deepest = [0]

        def start(name: str, _attributes) -> None:
            names.append(name)
            deepest[0] = max(deepest[0], len(names) - len(ends))

        parser.StartElementHandler = start
        parser.EndElementHandler = ends.append
        parser.XmlDeclHandler = lambda _version, encoding, _alone: encodings.append(
            (encoding or "utf-8").lower())
        parser.StartDoctypeDeclHandler = lambda name, *_: doctype.append(name)
        try:
            parser.Parse(b"".join(self.header), False)
            depth, mark = len(names) - len(ends), len(names)
            parser.Parse(_PROBE, False)
            probe = names[mark:]
            parser.Parse(b"".join(self.trailer), True)
        # LookupError: an encoding Python lacks; ValueError: a multi-byte one, which expat lacks
        except (expat.ExpatError, LookupError, ValueError):
            return False
        frame = names[:mark] + names[mark + len(probe):]
        # The body lies within the document's element (depth 1 or more), and nothing in the
        # document, before, in (the probe) or after the body, is deeper than expat reads.
        return (not doctype and set(encodings) <= {"utf-8"}
                and depth >= 1 and deepest[0] <= XES_MAX_DEPTH
                and not any(name.rpartition("}")[2] in ("trace", "event") for name in frame)
                and [name.rpartition("}")[2] for name in probe] == ["trace", "event", "string"]
                and probe[2] in XES_VALUE_TAGS)


def _quoted(chunk: bytes, text, starts, read) -> tuple:
    """Arrow string views (16 bytes each: the length, then up to 12 bytes inline, or a
    prefix of 4, buffer 0 and the offset) of the key and the value of the lines ``read``,
    empty for the others: the text between a line's first and second quote, and its third
    and fourth. They point into the chunk, no copy; lines the check finds bad may give
    anything, within the chunk."""
    import numpy as np

    quotes = np.flatnonzero(text == 34)
    if not len(quotes):
        quotes = np.zeros(1, dtype=np.int64)
    first = np.searchsorted(quotes, starts[read])
    at = [quotes[np.minimum(first + i, len(quotes) - 1)].astype(np.uint64) for i in range(4)]
    # The chunk read 8 bytes at a time from any offset (little-endian): no loop per line.
    padded = np.frombuffer(chunk + bytes(24), dtype=np.uint8)
    words = np.ndarray(shape=(len(chunk) + 16,), dtype="<u8", buffer=padded, strides=(1,))
    views = []
    for opening, closing in ((at[0], at[1]), (at[2], at[3])):
        begin = opening + np.uint64(1)
        length = np.where(closing > begin, closing - begin, np.uint64(0))
        low = words[begin] & _masks(np.minimum(length, 8))
        high = words[begin + np.uint64(8)] & _masks(np.clip(length, 8, 12) - np.uint64(8))
        view = np.zeros((len(starts), 2), dtype=np.uint64)
        view[read, 0] = length | (low << np.uint64(32))
        view[read, 1] = np.where(length > 12, begin << np.uint64(32),
                                 (low >> np.uint64(32)) | (high << np.uint64(32)))
        views.append(view)
    return views[0], views[1]


def _masks(size):
    """For each ``size`` (0 to 8), the mask of that many low bytes of a word."""
    import numpy as np

    shifted = np.left_shift(np.uint64(1), np.minimum(size, 7) * np.uint64(8)) - np.uint64(1)
    return np.where(size >= 8, np.uint64(0xFFFF_FFFF_FFFF_FFFF), shifted)


def _schema():
    import pyarrow as pa

    return pa.schema([("n", pa.int64()), ("kind", pa.uint8()), ("ctx", pa.uint8()),
                      ("rec", pa.int64()), ("t", pa.large_string()),
                      ("key", pa.string_view()), ("value", pa.string_view())])


def arrow_array(kind, values):
    """A pyarrow array of ``kind`` over the buffer of ``values`` (numpy, or array.array):
    no copy, and no pa.array(), which imports pandas."""
    import pyarrow as pa

    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _unescaped(column: str) -> str:
    """SQL for ``column`` with XML's five named references replaced, ``&amp;`` last."""
    out = column
    for name, char in (("lt", "<"), ("gt", ">"), ("quot", '"'), ("apos", "'"), ("amp", "&")):
        out = f"replace({out}, '&{name};', {sql_string(char)})"
    return f"CASE WHEN contains({column}, '&') THEN {out} ELSE {column} END"


def _tag_line(data: bytes, tag: bytes, line: re.Pattern, last: bool = False):
    """The match of ``line`` over the first (or last) line of ``data`` it matches from the
    line's start, looked for where ``tag`` is; None if no line does."""
    at = data.rfind(tag) if last else data.find(tag)
    while at >= 0:
        if found := line.match(data, data.rfind(b"\n", 0, at) + 1):
            return found
        at = data.rfind(tag, 0, at) if last else data.find(tag, at + 1)
    return None


def _first_trace(chunk: bytes) -> int | None:
    """Where the first line that is a trace's start tag begins in ``chunk``, if one does."""
    found = _tag_line(chunk, b"<trace", _TRACE_LINE)
    return found.start() if found else None


def _after_last_trace(data: bytes) -> int:
    """Where the line after the last line that is a trace's end tag begins; 0 if none is."""
    found = _tag_line(data, b"</trace", _TRACE_END_LINE, last=True)
    return found.end() if found else 0


def _pieces(data: bytes, end: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of pieces of ``data[:end]`` of about _BLOCK bytes, cut after a line."""
    at = 0
    while at < end:
        stop = min(data.find(b"\n", at + _BLOCK) + 1 or end, end)
        yield at, stop
        at = stop


def load_flat_xes(con, path: Path, loader) -> bool:
    """Read the XES file into ``loader``'s Parquet parts (records.py's _Loader), as lines by
    DuckDB; False, with no part kept, when it is not written one element a line (then the
    expat reader reads it, to the same rows)."""
    lines = _Lines(path)
    try:
        for group in lines.groups():
            if not _load_group(con, loader, group):
                lines.flat = False
                break
        if lines.flat and lines.frame_is_xes() and loader.rows:
            return True
    finally:
        con.execute(f"DROP TABLE IF EXISTS {loader.name}_values")
    for part in loader.parts:
        part.unlink(missing_ok=True)
    return False


def _load_group(con, loader, group: _Group) -> bool:
    """Check a group's lines and write its events as one Parquet part; False when a line
    before the trailer is not what its first bytes said (bad), or a key needs the expat
    reader."""
    import numpy as np
    import pyarrow as pa

    values, events = f"{loader.name}_values", f"{loader.name}_events"
    checked = " ".join(f"WHEN {kind} THEN regexp_full_match(t, {sql_string(rx + _END)})"
                       for kind, rx in _EXACT.items())
    con.register(f"{loader.name}_lines", pa.Table.from_batches(group.batches, _schema()))
    try:
        # The values read (under an event, or a trace before its first event) and the bad
        # lines, the batches on every core.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {values} AS
            SELECT n, ctx, rec, key, value, bad
            FROM (SELECT *, NOT coalesce(CASE kind {checked} END, false) AS bad
                  FROM {loader.name}_lines)
            WHERE bad OR (kind = {VALUE} AND ctx IN ({EVENT}, {TRACE}))""")
    finally:
        con.unregister(f"{loader.name}_lines")
    first_bad = con.execute(f"SELECT min(n) FROM {values} WHERE bad").fetchall()[0][0]
    # Only the last group holds a trailer (lines after the last trace, which expat checks).
    if first_bad is not None and (first_bad <= group.last_line or not group.last):
        return False
    none = [np.zeros(0, dtype=np.int64)]
    event_lines = np.concatenate([e for e, _ in group.events] or none)
    if not len(event_lines):
        return True
    trace_lines = np.concatenate([t for _, t in group.events] or none)
    con.register(events, pa.table([arrow_array(pa.int64(), event_lines),
                                   arrow_array(pa.int64(), trace_lines)], names=["ev", "tr"]))
    try:
        return _pivot(con, loader, values, events, len(event_lines), group.escaped)
    finally:
        con.unregister(events)


def _pivot(con, loader, values: str, events: str, rows: int, escaped: bool) -> bool:
    """Write one row per event to the loader's next part: its trace's values as
    case:<key>, then its own, in the columns' order of first appearance; a key given twice
    keeps its last value, as a dict would. ``escaped``: a value may hold a reference
    (&amp; ...), replaced here, once a cell."""
    # Where each key first appears: the record (its event's line) and the line within it.
    keys = con.execute(f"""
        SELECT ctx, key FROM (
            SELECT ctx, key, arg_min(rec, n) AS record, min(n) AS line
            FROM {values} WHERE ctx = {EVENT} AND NOT bad GROUP BY ALL
            UNION ALL
            SELECT ctx, key, arg_min(first.ev, n), min(n)
            FROM {values} JOIN (SELECT tr, min(ev) AS ev FROM {events} GROUP BY tr) AS first
                ON first.tr = rec
            WHERE ctx = {TRACE} AND NOT bad GROUP BY ALL)
        ORDER BY record, line""").fetchall()
    named = [key if ctx == EVENT else "case:" + key for ctx, key in keys]
    if (len(keys) > _MAX_KEYS or len(loader.known | set(named)) > MAX_COLUMNS
            or any((ctx == EVENT and key.startswith("case:")) or "&" in key
                   for ctx, key in keys)):
        return False  # the expat reader says why, or places the key, or unescapes it

    def spread(ctx: int, alias: str) -> str:
        picks = [(i, f"arg_max(value, n) FILTER (WHERE key = {sql_string(key)})")
                 for i, (c, key) in enumerate(keys) if c == ctx]
        picks = [f"{_unescaped(pick) if escaped else pick} AS c{i}" for i, pick in picks]
        return (f"{alias} AS (SELECT rec, {', '.join(picks or ['NULL AS none'])} "
                f"FROM {values} WHERE ctx = {ctx} AND NOT bad GROUP BY rec)")

    chosen = "".join(f", {'e' if ctx == EVENT else 't'}.c{i} AS {sql_name(loader.unique(name))}"
                     for i, ((ctx, _), name) in enumerate(zip(keys, named, strict=True)))
    con.execute(f"""
        COPY (WITH {spread(EVENT, 'e')}, {spread(TRACE, 't')}
              SELECT x.ev AS _line{chosen}
              FROM {events} AS x LEFT JOIN t ON t.rec = x.tr LEFT JOIN e ON e.rec = x.ev
              ORDER BY x.ev)
        TO {sql_string(str(loader.next_part()))} (FORMAT parquet, COMPRESSION snappy)""")
    loader.add_part(named, rows)
    return True
