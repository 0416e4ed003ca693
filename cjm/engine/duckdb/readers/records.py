"""JSON, JSON Lines and XES: parsed in Python record by record, loaded into DuckDB in batches.

Nested objects become dotted column names (``customer.id``); numbers keep the text they were
written with, so ids such as ``00042`` or ``1e5`` survive.
"""

from __future__ import annotations

import io
import json
import re
from array import array
from collections.abc import Callable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any

from cjm.engine.duckdb.readers.base import FileLoad, Reject
from cjm.engine.duckdb.readers.xes_lines import (
    XES_MAX_DEPTH,
    XES_VALUE_TAGS,
    arrow_array,
    load_flat_xes,
)
from cjm.errors import DataError
from cjm.files import CUT_SHORT, MAX_COLUMNS, ColumnNames, ended_early, open_binary, read_sample
from cjm.resources import classify
from cjm.sql import sql_string

BATCH_ROWS = 50_000
_BATCH_CELLS = 2_000_000
Record = dict[str, str | None]


class _Number(str):
    """A JSON number kept as the text it was written with."""


def _json_text(value: Any) -> str:
    """Compact JSON for a parsed value, numbers written as they were read."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_json_text(v)}"
                              for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _flatten(value: Any, prefix: str, out: Record) -> None:
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict):
            _flatten(item, name, out)
        elif isinstance(item, list):
            out[name] = _json_text(item)
        elif isinstance(item, bool):
            out[name] = "true" if item else "false"
        else:
            out[name] = None if item is None else str(item)


def _decode(text: str) -> Any:
    return json.loads(text, parse_int=_Number, parse_float=_Number)


class _Loader:
    """Collects records in batches, each written to a Parquet file in the working folder.

    A batch holds only the keys its records have, so records with many different keys cost
    what they hold, not rows times columns; the files are read back as one, by column name.
    """

    def __init__(self, con, name: str, where: str, workdir: Path) -> None:
        self.con, self.name, self.where, self.workdir = con, name, where, workdir
        self.columns: list[str] = []  # a unique column name for each key, in order of appearance
        self.parts: list[Path] = []
        self.lines: list[int] = []
        self.batch: list[Record] = []
        self.batch_names: dict[str, None] = {}  # the keys of the batch's records
        self.new = 0  # how many of them are not yet in self.known
        self.known: set[str] = set()  # the keys of the batches written
        self.rows = 0
        self.rejects: list[Reject] = []
        self.unique = ColumnNames()

    def add(self, line: int, record: Record) -> None:
        names = self.batch_names
        # Most records have the keys of the one before: a subset test in C, no loop per key.
        if not record.keys() <= names.keys():
            for key in record:
                if key not in names:
                    names[key] = None
                    self.new += key not in self.known
            if len(self.known) + self.new > MAX_COLUMNS:
                raise DataError(
                    f"{self.where}:{line}: more than {MAX_COLUMNS:,} different keys (columns); "
                    "cjm reads at most that many",
                    "Keys that are data (ids or dates as keys) belong in values; or keep only "
                    "the keys the journeys need.",
                )
        self.lines.append(line)
        self.batch.append(record)
        # Wide records make smaller batches: a batch holds at most _BATCH_CELLS cells.
        if len(self.batch) >= BATCH_ROWS or len(self.batch) * len(names) >= _BATCH_CELLS:
            self.flush()

    def reject(self, line: int, reason: str, content: str) -> None:
        self.rows += 1
        self.rejects.append(Reject(line, reason, content[:500]))

    def flush(self) -> None:
        if not self.batch:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Arrays from pyarrow's builders and buffers: pa.array() imports pandas (half a second)
        # only to ask whether a list is a pandas object.
        lines = array("q", self.lines)
        arrays = [arrow_array(pa.int64(), lines)]
        for key in self.batch_names:
            builder = pa.lib.StringBuilder()
            # map() with C functions: no Python step per record.
            builder.append_values(list(map(dict.get, self.batch, repeat(key))))
            arrays.append(builder.finish())
        names = ["_line", *map(self.unique, self.batch_names)]
        pq.write_table(pa.Table.from_arrays(arrays, names=names), self.next_part(),
                       compression="snappy")
        self.add_part(list(self.batch_names), len(self.batch))
        self.batch, self.lines, self.batch_names, self.new = [], [], {}, 0

    def next_part(self) -> Path:
        """Where the next batch's Parquet file goes."""
        return self.workdir / f"{self.name}_{len(self.parts)}.parquet"

    def add_part(self, keys: list[str], rows: int) -> None:
        """Count the file at next_part(), written with ``rows`` records and the columns
        ``self.unique(key)`` of ``keys`` (in their order of first appearance)."""
        self.parts.append(self.next_part())
        new = [key for key in keys if key not in self.known]
        self.columns.extend(self.unique(key) for key in new)
        self.known.update(new)
        self.rows += rows

    def relation(self) -> str:
        """SQL for every record loaded, in line order: each part holds its records in line
        order, and DuckDB reads a list of files in that order (it preserves insertion
        order), so no sort is needed (one cost 0.08 s of bpic2012's reading)."""
        if not self.parts:
            self.con.execute(f"CREATE TABLE {self.name} (_line BIGINT)")
            return f"SELECT * FROM {self.name}"
        files = "[" + ", ".join(sql_string(str(p)) for p in self.parts) + "]"
        return f"SELECT * FROM read_parquet({files}, union_by_name=true)"


CUT_SHORT_RECORD = "cut short: the file ends within this record (truncated)"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_KINDS = {"[": "array", '"': "string", "t": "boolean", "f": "boolean", "n": "null"}


def _record_or_reject(loader: _Loader, line: int, value: Any, text: str) -> None:
    if not isinstance(value, dict):
        # Numbers are parsed as text (to keep ids as written), so name the kind by its text.
        kind = _KINDS.get(text.lstrip()[:1], "number")
        loader.reject(line, f"not a record: a JSON {kind} where an object was expected", text)
        return
    record: Record = {}
    try:
        _flatten(value, "", record)
    except RecursionError:
        loader.reject(line, "record nested too deeply", text)
        return
    # An escape such as \\ud800 on its own decodes to a lone surrogate, which is no text.
    if _SURROGATE_ESCAPE.search(text) and any(
            _SURROGATE.search(s) for item in record.items() for s in item if s):
        loader.reject(line, "not valid text: a \\u escape of half a UTF-16 pair (lone "
                      "surrogate)", text)
        return
    loader.add(line, record)


def _finish(loader: _Loader, path: Path, fmt: str, index: int, truncated: bool) -> FileLoad:
    loader.flush()
    relation = f"file_{index}"
    loader.con.execute(f"CREATE VIEW {relation} AS {loader.relation()}")
    details: dict[str, Any] = {"encoding": "utf-8"}
    if truncated:
        details["truncated"] = True
    return FileLoad(path, fmt, relation, loader.rows, loader.columns, loader.rejects, details)


def _text(path: Path) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="strict", newline="")


def load_jsonl(con, path: Path, index: int, workdir: Path) -> FileLoad:
    loader = _Loader(con, f"raw_{index}", str(path), workdir)
    empty = True
    with open_binary(path) as raw:
        for number, line_bytes in enumerate(raw, start=1):
            empty = empty and not line_bytes.strip(b" \t\r\n\xef\xbb\xbf")
            try:
                line = line_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                loader.reject(number, "not valid UTF-8 text",
                              line_bytes.decode("utf-8", "replace").rstrip("\r\n"))
                continue
            if not line.strip():
                continue
            if not line_bytes.endswith(b"\n") and ended_early(raw):
                loader.reject(number, CUT_SHORT, line.strip())
                continue
            try:
                value = _decode(line)
            except RecursionError:
                loader.reject(number, "record nested too deeply", line)
                continue
            except ValueError as exc:
                loader.reject(number, f"malformed JSON: {str(exc).split(':')[0]}", line.strip())
                continue
            _record_or_reject(loader, number, value, line.strip())
        truncated = ended_early(raw)
    if empty:
        raise DataError(f"{path}: the file is empty", "Give JSON Lines: one record a line.")
    return _finish(loader, path, "jsonl", index, truncated)


class _CutShort(Exception):
    """A JSON array that ends early (its file was cut short) ends at ``line``; ``rest`` is
    what follows the last whole record."""

    def __init__(self, line: int, rest: str) -> None:
        super().__init__(line)
        self.line, self.rest = line, rest


def _array_items(text: str, where: str, cut: bool = False) -> Iterator[tuple[int, Any, str]]:
    """(line, value, source text) for each element of a top-level JSON array; with ``cut``
    (the file ends early), the end of the text ends the array (_CutShort)."""
    decoder = json.JSONDecoder(parse_int=_Number, parse_float=_Number)
    length = len(text)
    pos = text.index("[") + 1
    line, counted = 1, 0  # line holds the line of position `counted`

    def skip(p: int) -> int:
        while p < length and text[p] in " \t\r\n":
            p += 1
        return p

    def close(p: int) -> None:
        """The array ends at ``p``: nothing but white space may follow."""
        rest = skip(p + 1)
        if rest < length:
            raise DataError(f"{where}:{1 + text.count(chr(10), 0, rest)}: malformed JSON: "
                            "text after the closing ']' of the array",
                            "Fix the file, or export it as JSON Lines (one record a line).")

    pos = skip(pos)
    if pos < length and text[pos] == "]":
        close(pos)
        return
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, end = decoder.raw_decode(text, pos)
        except ValueError as exc:
            if cut:
                raise _CutShort(line, text[pos:]) from None
            raise DataError(f"{where}: malformed JSON: {exc}",
                            "Fix the file, or export it as JSON Lines (one record a line).") \
                from None
        except RecursionError:
            raise DataError(f"{where}:{line}: JSON nested too deeply") from None
        yield line, value, text[pos:end]
        pos = skip(end)
        if pos < length and text[pos] == ",":
            pos = skip(pos + 1)
            continue
        if pos < length and text[pos] == "]":
            close(pos)
            return
        line += text.count("\n", counted, pos)
        if cut and pos >= length:
            raise _CutShort(line, "")
        raise DataError(f"{where}:{line}: malformed JSON: expected ',' or ']' after a record")


def load_json(con, path: Path, index: int, workdir: Path) -> FileLoad:
    """A JSON array of records; a file holding one object per line is read as JSON Lines."""
    try:
        with _text(path) as handle:
            text = handle.read()
            truncated = ended_early(handle)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 text: {exc}") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty", "Give a JSON array of records.")
    if text.lstrip()[0] != "[":
        return load_jsonl(con, path, index, workdir)
    loader = _Loader(con, f"raw_{index}", str(path), workdir)
    try:
        for line, value, source in _array_items(text, str(path), truncated):
            _record_or_reject(loader, line, value, source)
    except _CutShort as end:
        if end.rest.strip(" \t\r\n,"):
            loader.reject(end.line, CUT_SHORT_RECORD, end.rest.strip())
    return _finish(loader, path, "json", index, truncated)




def _refuse_doctype(path: Path) -> None:
    """Refuse a document type declaration that declares entities or names an external DTD.

    XES needs neither. Entities are how a small file expands to gigabytes ("billion laughs")
    or pulls in another file or URL; cjm refuses such a file before reading any element.
    """
    from lxml import etree

    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False)
    head = b""
    hint = "Remove the <!DOCTYPE …> declaration: XES needs none."
    with open_binary(path) as raw:
        while chunk := raw.read(1 << 16):
            head += chunk if len(head) < 1 << 20 else b""
            try:
                parser.feed(chunk)
                events = list(parser.read_events())
            except etree.XMLSyntaxError:
                if b"<!ENTITY" in head:  # e.g. parameter entities that blow up in the DTD
                    raise DataError(f"{path}: refused: the XES file declares entities "
                                    "(<!ENTITY …>), which cjm never expands", hint) from None
                return  # the reader reports the syntax error with its line
            if not events:
                continue
            info = events[0][1].getroottree().docinfo
            dtd = info.internalDTD
            names = [entity.name for entity in dtd.iterentities()] if dtd is not None else []
            if names:
                raise DataError(
                    f"{path}: refused: the XES file declares entities ({', '.join(names[:5])})"
                    " in its DOCTYPE; cjm never expands entities, which can blow up in size "
                    "or read other files and URLs", hint)
            if info.system_url or info.public_id:
                raise DataError(
                    f"{path}: refused: the XES file names an external DTD "
                    f"({info.system_url or info.public_id}); cjm never fetches files or URLs "
                    "a document names", hint)
            return


def load_xes(con, path: Path, index: int, workdir: Path) -> FileLoad:
    """XES (IEEE 1849), streamed; trace attributes become ``case:<key>`` columns. A file
    written one element a line, as most are, is read by cjm.engine.duckdb.readers.xes_lines;
    any other by expat, to the same rows.

    A document that declares entities is refused, and nothing is ever fetched, so a hostile
    document can neither expand nor reach out.
    """
    from xml.parsers import expat

    if not read_sample(path, 4096).strip():
        raise DataError(f"{path}: the file is empty", "Give an XES file (XML).")
    loader = _Loader(con, f"raw_{index}", str(path), workdir)
    try:
        _refuse_doctype(path)
        if load_flat_xes(con, path, loader):
            return _finish(loader, path, "xes", index, truncated=False)
        loader = _Loader(con, f"raw_{index}", str(path), workdir)  # its parts are gone
        with open_binary(path) as raw:
            parser = _XesEvents(loader, str(path))
            try:
                while chunk := raw.read(1 << 16):
                    parser.feed(chunk)
                parser.feed(b"", final=True)
            except expat.ExpatError as exc:
                # A file cut short ends in the middle of the XML: the events whole before the
                # cut are kept, and the syntax error the cut causes ends the reading.
                if not ended_early(raw):
                    raise DataError(
                        f"{path}:{exc.lineno}: not well-formed XES: {expat.ErrorString(exc.code)}",
                        "Check that the file is complete and is XES (XML).") from None
            except (LookupError, ValueError) as exc:  # an encoding Python, or expat, lacks
                raise DataError(f"{path}:1: not well-formed XES: {exc}",
                                "Save the file as UTF-8 and say so in its first line "
                                '(<?xml version="1.0" encoding="UTF-8"?>).') from None
            parser.close()
            truncated = ended_early(raw)
    except (OSError, EOFError) as exc:
        raise classify(exc) or DataError(f"{path}: cannot read the file: {exc}") from None
    return _finish(loader, path, "xes", index, truncated)


class _XesEvents:
    """An expat parser that adds each XES event to a loader as one record.

    Speed comes from doing little per element: one Python call per start tag, none per end tag
    (end tags are only counted, by a C-level list append; depth = starts - ends), no element
    objects, and a short path for the commonest element, a value element under the open event.
    Read are the value elements directly under an event, and those directly under a trace
    before its first event (the trace's own, as ``case:<key>``). An event is added once the
    next element starts after its end tag, or when the document ends (``close``).
    """

    def __init__(self, loader: _Loader, where: str) -> None:
        from xml.parsers import expat

        self.loader, self.where = loader, where
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.ordered_attributes = True  # attributes as [name, value, ...]: cheaper
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.EntityDeclHandler = self._refuse_entity
        self.ends: list[str] = []
        self.parser.EndElementHandler = self.ends.append
        self.parser.StartElementHandler = self._start_handler()
        self.event: Record | None = None  # the open event (None: none open)
        self.event_depth = self.event_line = 0
        self.trace_depth = -1
        self.own: Record = {}  # the open trace's value elements
        self.case: Record | None = None  # ... as case:<key> columns, once its first event starts

    def feed(self, data: bytes, final: bool = False) -> None:
        self.parser.Parse(data, final)

    def _start_handler(self) -> Callable[[str, list[str]], None]:
        """The start-tag handler: a closure, whose variables are quicker than attributes."""
        ends, tags, structure = self.ends, XES_VALUE_TAGS, self._structure
        starts = 0
        want = -1  # the depth whose value elements are read ...
        into: Record = {}  # ... into this record

        def start(name: str, attrs: list[str]) -> None:
            nonlocal starts, want, into
            starts += 1
            if starts - len(ends) == want and name in tags:
                if len(attrs) == 4 and attrs[0] == "key" and attrs[2] == "value":
                    into[attrs[1]] = attrs[3]
                else:
                    named = dict(zip(attrs[::2], attrs[1::2], strict=True))
                    if "key" in named:
                        into[named["key"]] = named.get("value")
                return
            starts = depth = starts - len(ends)
            ends.clear()
            want, into = structure(name, depth, want, into)

        def depth() -> int:
            return starts - len(ends)

        self.depth = depth
        return start

    def _structure(self, name: str, depth: int, want: int, into: Record) -> tuple[int, Record]:
        """An element that is not a value to read: it may end the open event or trace, or
        open one. Takes and returns the depth whose value elements are read, and where to."""
        if depth > XES_MAX_DEPTH:
            raise DataError(f"{self.where}:{self.parser.CurrentLineNumber}: not well-formed XES: "
                            f"elements nested more than {XES_MAX_DEPTH} deep",
                            "Check that the file is XES (XML).")
        if depth < want:  # the open event or trace has ended
            want = -1
            self._add_event()
        if depth <= self.trace_depth:
            self.trace_depth = -1
        if self.event is not None:  # inside the open event: anything but its values is skipped
            return want, into
        local = name.rpartition("}")[2]
        if local == "event":
            if depth == self.trace_depth + 1:
                if self.case is None:
                    self.case = {"case:" + key: value for key, value in self.own.items()}
                self.event = dict(self.case)
            else:
                self.event = {}
            self.event_depth, self.event_line = depth, self.parser.CurrentLineNumber
            return depth + 1, self.event
        if local == "trace":
            self.trace_depth, self.own, self.case = depth, {}, None
            return depth + 1, self.own
        return want, into

    def _add_event(self) -> None:
        if self.event is not None:
            self.loader.add(self.event_line, self.event)
            self.event = None

    def close(self) -> None:
        """Add the last event if its end tag was read (a file cut short may end inside it)."""
        if self.depth() < self.event_depth:
            self._add_event()

    def _refuse_entity(self, name: str, *_: Any) -> None:
        raise DataError(f"{self.where}: refused: the XES file declares entities ({name}); cjm "
                        "never expands entities", "Remove the <!DOCTYPE …> declaration: XES "
                        "needs none.")
