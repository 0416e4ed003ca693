"""XES written one element a line, as OpenXES, ProM and pm4py write it: read some megabytes
at a time.

The expat reader (records.py) calls Python once per start tag, which bounds its speed. This
one calls Python once per few megabytes: numpy finds the lines, tells each line's element by
the bytes after its first ``<``, follows the nesting of traces and events with running
maxima, and pivots the keys and values to one row per event; one regular expression (RE2,
through pyarrow) checks that the text is nothing but such lines; DuckDB writes the rows.

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

_BLOCK = 1 << 22  # bytes decompressed at a time
_PAD = 24  # zero bytes after a group's text, so that 8 bytes can be read at any offset in it
_GROUP = 1 << 23  # bytes of whole traces checked, pivoted and written at once: the memory
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
_ELEMENT = "|".join([
    rf'<(?:string|date|int|float|boolean|id) key="{_TEXT}" value="{_TEXT}"[ \t]*/>',
    r"<event[ \t]*>", r"</event[ \t]*>", r"<trace[ \t]*>", r"</trace[ \t]*>"])
# Text made only of such lines, or blank ones, the last perhaps without its line end. The
# lines' elements are those their first bytes named, as no two of them start alike.
_BODY = rf"\A(?:[ \t]*(?:{_ELEMENT})?[ \t]*\r?\n)*(?:[ \t]*(?:{_ELEMENT})?[ \t]*\r?)?\z"
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
class _Values:
    """A group's events (their lines, the numbers of their traces in the document, from 0),
    and the values read (those under an event, or under a trace before its first event):
    whether each is an event's (else its trace's), the number of that event or trace, and
    Arrow string views (16 bytes each) of the keys and the values into ``text``."""

    text: bytes
    events: object  # numpy arrays
    traces: object
    own: object
    number: object
    keys: object
    values: object


@dataclass
class _Group:
    """Whole traces: the text of their body (whole lines, to be checked), their events and
    values, the numbers of the first event and the first trace, the count of traces, and
    whether a value so far may hold a reference (&amp; ...)."""

    body: list
    values: _Values | None  # None: no line of the body yet
    first_event: int
    first_trace: int
    traces: int
    escaped: bool


class _Lines:
    """The body's events and values, a group of whole traces at a time, the text to check,
    and what the nesting says.

    A line's context is the element of the last trace or event line at or before it: a
    value line under ``<event>`` belongs to the event starting at that line, one under
    ``<trace>`` (before the trace's first event) to the trace starting there.
    """

    def __init__(self, path: Path) -> None:
        import numpy as np

        self.path = path
        self.flat = True
        self.escaped = False  # whether a key or value may hold a reference (&amp; ...)
        self.header: list[bytes] = []
        self.trailer: list[bytes] = []
        self.frame = 0  # bytes in header and trailer
        self.lines = 0  # lines before the text being read
        self.in_body = False
        self.state = _START
        self.event_count = self.trace_count = 0  # in the text read so far
        self.body: list = []  # the text of the group's lines up to its last trace or event
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
        document); a document that is not flat, its header and trailer included, stops them
        early or ends them with ``flat`` false. The next group is made in a thread while
        this one is taken (decompressing, numpy, pyarrow and DuckDB let go of the GIL); the
        header and trailer are checked there too, while the last group is taken."""
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
                if not self.frame_is_xes():
                    self.flat = False  # only ever lowered here: the taker may have lowered it
            except (_NotFlat, OSError, EOFError, DataError):
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
                data = b"".join([*pending, bytes(_PAD)])
                cut = size
                if block:  # up to the end of the last </trace> line
                    cut = _after_last_trace(data)
                    if not cut:
                        if size > _MAX_FRAME + _GROUP:  # a trace this long: the parser's
                            raise _NotFlat
                        continue
                if not _utf8(memoryview(data)[:cut]):  # the parser would refuse them
                    raise _NotFlat
                first_event, first_trace = self.event_count, self.trace_count
                values = self._read(data, cut)
                pending, size = [data[cut:size]], size - cut
                yield _Group(self.body, values, first_event, first_trace,
                             self.trace_count - first_trace, self.escaped)
                self.body = []
                if not block:
                    break
            if ended_early(raw):
                raise _NotFlat
        if not self.in_body or self.state != END_TRACE:
            raise _NotFlat

    def _read(self, data: bytes, end: int) -> _Values | None:
        """The values of ``data[:end]``, once past the header."""
        start = 0
        if not self.in_body:
            head = data[:end]
            found = _first_trace(head)
            head = head if found is None else head[:found]
            self._add_frame(self.header, head)
            self.lines += head.count(b"\n")
            if found is None:
                return None
            self.in_body, start = True, found
        # The text can end where the last group did, right after a trace.
        return self._body(data, start, end) if start < end else None

    def _add_frame(self, parts: list[bytes], data: bytes) -> None:
        self.frame += len(data)
        # A carriage return not before a line feed is a line to the parser, none here.
        if self.frame > _MAX_FRAME or (b"\r" in data
                                       and data.count(b"\r") != data.count(b"\r\n")):
            raise _NotFlat
        parts.append(data)

    def _body(self, data: bytes, start: int, end: int) -> _Values:
        import numpy as np

        self.escaped |= data.find(b"&", start, end) >= 0
        chunk = memoryview(data)[start:end]
        text = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
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
        latest = np.maximum.accumulate(np.where(nesting, np.arange(count), -1))
        ctx = np.where(latest >= 0, kind[np.maximum(latest, 0)], self.state)
        # The number of the last event (trace) at or before each line.
        event, trace = kind == EVENT, kind == TRACE
        events = self.event_count - 1 + np.cumsum(event)
        traces = self.trace_count - 1 + np.cumsum(trace)
        self.event_count, self.trace_count = int(events[-1]) + 1, int(traces[-1]) + 1
        if len(marks):
            self.state = int(marks[-1])
            # The text after the last trace or event line before this group is the body's, not
            # the trailer's, as is this group's up to its last such line.
            body = int(ends[np.flatnonzero(nesting)[-1]])
            self.body += [*self.trailer, chunk[:body]]
            self.trailer, self.frame = [], sum(map(len, self.header))
            self._add_frame(self.trailer, bytes(chunk[body:]))
        else:
            self._add_frame(self.trailer, bytes(chunk))
        read = (kind == VALUE) & ((ctx == EVENT) | (ctx == TRACE))
        own = ctx[read] == EVENT
        return _Values(data, lines[event], traces[event], own,
                       np.where(own, events[read], traces[read]),
                       *_quoted(data, text, start, starts[read]))

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


def _utf8(text) -> bool:
    """Whether ``text`` is UTF-8 (Arrow's check: ten times as fast as decoding, and as
    strict: surrogates are refused)."""
    import pyarrow as pa

    try:
        _text_array(text).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _text_array(text):
    """A one-string Arrow array of the bytes of ``text``, no copy."""
    import numpy as np
    import pyarrow as pa

    return pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(text)], dtype=np.int64)), pa.py_buffer(text))


def _body_only(pieces: list) -> bool:
    """Whether each piece of text (whole lines) is made of body lines only."""
    import pyarrow.compute as pc

    for piece in pieces:
        if piece and not pc.match_substring_regex(_text_array(piece), _BODY)[0].as_py():
            return False
    return True


def _quoted(data: bytes, text, start: int, starts) -> tuple:
    """Arrow string views (16 bytes each: the length, then up to 12 bytes inline, or a
    prefix of 4, buffer 0 and the offset) of the key and the value of the value lines that
    start at ``starts`` in ``text``, which is ``data`` from ``start`` on: the text between a
    line's first and second quote, and its third and fourth. They point into ``data``, no
    copy; it ends with _PAD zero bytes after ``text``."""
    import numpy as np

    quotes = np.flatnonzero(text == 34)
    if not len(quotes):
        quotes = np.zeros(1, dtype=np.int64)
    first = np.searchsorted(quotes, starts)
    at = [quotes[np.minimum(first + i, len(quotes) - 1)].astype(np.uint64) + np.uint64(start)
          for i in range(4)]
    # The text read 8 bytes at a time from any offset (little-endian): no loop per line.
    words = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    views = []
    for opening, closing in ((at[0], at[1]), (at[2], at[3])):
        begin = opening + np.uint64(1)
        length = np.where(closing > begin, closing - begin, np.uint64(0))
        low = words[begin] & _masks(np.minimum(length, 8))
        high = words[begin + np.uint64(8)] & _masks(np.clip(length, 8, 12) - np.uint64(8))
        view = np.empty((len(starts), 2), dtype=np.uint64)
        view[:, 0] = length | (low << np.uint64(32))
        view[:, 1] = np.where(length > 12, begin << np.uint64(32),
                              (low >> np.uint64(32)) | (high << np.uint64(32)))
        views.append(view)
    return views[0], views[1]


def _masks(size):
    """For each ``size`` (0 to 8), the mask of that many low bytes of a word."""
    import numpy as np

    shifted = np.left_shift(np.uint64(1), np.minimum(size, 7) * np.uint64(8)) - np.uint64(1)
    return np.where(size >= 8, np.uint64(0xFFFF_FFFF_FFFF_FFFF), shifted)


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


def load_flat_xes(con, path: Path, loader) -> bool:
    """Read the XES file into ``loader``'s Parquet parts (records.py's _Loader), as lines;
    False, with no part kept, when it is not written one element a line (then the expat
    reader reads it, to the same rows)."""
    lines = _Lines(path)
    # A group that fails is this side's to remember: lines.flat is the reading thread's,
    # which may still be checking the header and trailer.
    loaded = all(_load_group(con, loader, group) for group in lines.groups())
    if loaded and lines.flat and loader.rows:
        return True
    for part in loader.parts:
        part.unlink(missing_ok=True)
    return False


def _load_group(con, loader, group: _Group) -> bool:
    """Write a group's events as one Parquet part: its trace's values as case:<key>, then its
    own, in the columns' order of first appearance; a key given twice keeps its last value,
    as a dict would. False when a line is not what its first bytes said, or a key needs
    the expat reader. (Checked here, not where the lines are found: the two threads then
    take about as long.)"""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _body_only(group.body):
        return False
    read = group.values
    if read is None or not len(read.events):
        return True
    events = read.events
    trace_of_event = read.traces - group.first_trace
    text = pa.py_buffer(read.text)
    # Each value's row: its event's, or its trace's; a trace with no event has none.
    own = read.own
    row = read.number - np.where(own, group.first_event, group.first_trace)
    with_events = np.zeros(group.traces, dtype=bool)
    with_events[trace_of_event] = True
    kept = own.copy()
    kept[~own] = with_events[row[~own]]
    every = kept.all()
    if not every:
        own, row = own[kept], row[kept]
    keys = pc.dictionary_encode(_strings(read.keys if every else read.keys[kept], text))
    names = keys.dictionary.to_pylist()
    if len(names) > MAX_COLUMNS:
        return False  # the expat reader says so
    # A column for each key of events and each of traces, in the order they first appear:
    # the values' own order, as a trace's values precede its first event. (The codes fit
    # 16 bits, which numpy sorts stably by radix.)
    indices = keys.indices  # not to_numpy(), which imports pandas
    code = np.frombuffer(indices.buffers()[1], dtype=np.int32, count=len(indices),
                         offset=indices.offset * 4).astype(np.uint16) * np.uint16(2) + own
    found, first = np.unique(code, return_index=True)
    order = found[np.argsort(first)].tolist()
    named = [names[c >> 1] if c & 1 else "case:" + names[c >> 1] for c in order]
    if (len(loader.known | set(named)) > MAX_COLUMNS
            or any("&" in name or (c & 1 and name.startswith("case:"))
                   for c, name in zip(order, named, strict=True))):
        return False  # the expat reader says why, or places the key, or unescapes it
    column = np.zeros(max(order, default=-1) + 1, dtype=np.uint16)
    column[order] = np.arange(len(order), dtype=np.uint16)
    # Each column's values in the values' order (a stable sort), their rows then ascending.
    of_value = column[code]
    by_column = np.argsort(of_value, kind="stable")
    bounds = np.searchsorted(of_value[by_column], np.arange(len(order) + 1))
    values = read.values if every else read.values[kept]
    arrays = [arrow_array(pa.int64(), events)]
    for i, c in enumerate(order):
        index = by_column[bounds[i]:bounds[i + 1]]
        rows = row[index]
        last = np.concatenate((rows[1:] != rows[:-1], [True]))  # a key twice: the last
        pick = np.full(len(events) if c & 1 else group.traces, -1, dtype=np.int64)
        pick[rows[last]] = index[last]
        arrays.append(_picked(values, pick if c & 1 else pick[trace_of_event], text))
    table = f"{loader.name}_rows"
    con.register(table, pa.Table.from_arrays(arrays, names=["_line", *(
        f"c{i}" for i in range(len(order)))]))
    try:
        chosen = "".join(
            f", {_unescaped(f'c{i}') if group.escaped else f'c{i}'} "
            f"AS {sql_name(loader.unique(name))}" for i, name in enumerate(named))
        con.execute(f"COPY (SELECT _line{chosen} FROM {table}) TO "
                    f"{sql_string(str(loader.next_part()))} (FORMAT parquet, COMPRESSION snappy)")
    finally:
        con.unregister(table)
    loader.add_part(named, len(events))
    return True


def _picked(views, pick, text):
    """An Arrow string array of the views (into ``text``) at ``pick``, null where it is
    -1."""
    import numpy as np

    missing = pick < 0
    chosen = views[np.maximum(pick, 0)] if len(views) else np.zeros((len(pick), 2), np.uint64)
    chosen[missing] = 0
    return _strings(chosen, text, missing if missing.any() else None)


def _strings(views, text, missing=None):
    """An Arrow string view array of ``views`` into the buffer ``text``, null where
    ``missing``."""
    import numpy as np
    import pyarrow as pa

    valid = None if missing is None else pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(pa.string_view(), len(views),
                                 [valid, pa.py_buffer(views), text],
                                 null_count=0 if missing is None else int(missing.sum()))
