"""JSON, JSON Lines and XES: parsed in Python record by record, loaded into DuckDB in batches.

Nested objects become dotted column names (``customer.id``); numbers keep the text they were
written with, so ids such as ``00042`` or ``1e5`` survive.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cjm.errors import DataError
from cjm.readers.base import MAX_COLUMNS, ColumnNames, FileLoad, Reject, sql_string
from cjm.readers.sniff import CUT_SHORT, ended_early, open_binary, read_sample
from cjm.resources import classify

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
        self.columns: list[str] = []
        self.known: set[str] = set()
        self.parts: list[Path] = []
        self.lines: list[int] = []
        self.batch: list[Record] = []
        self.batch_names: dict[str, None] = {}  # the columns of the batch
        self.new = 0  # how many of them are not yet in self.columns
        self.rows = 0
        self.rejects: list[Reject] = []
        self.unique = ColumnNames()

    def add(self, line: int, record: Record) -> None:
        row = {self.unique(key): value for key, value in record.items()}
        for name in row:
            if name not in self.batch_names:
                self.batch_names[name] = None
                self.new += name not in self.known
        if len(self.known) + self.new > MAX_COLUMNS:
            raise DataError(
                f"{self.where}:{line}: more than {MAX_COLUMNS:,} different keys (columns); "
                "cjm reads at most that many",
                "Keys that are data (ids or dates as keys) belong in values; or keep only the "
                "keys the journeys need.",
            )
        self.lines.append(line)
        self.batch.append(row)
        # Wide records make smaller batches: a batch holds at most _BATCH_CELLS cells.
        if len(self.batch) >= BATCH_ROWS or \
                len(self.batch) * len(self.batch_names) >= _BATCH_CELLS:
            self.flush()

    def reject(self, line: int, reason: str, content: str) -> None:
        self.rows += 1
        self.rejects.append(Reject(line, reason, content[:500]))

    def flush(self) -> None:
        if not self.batch:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = list(self.batch_names)
        data = {"_line": pa.array(self.lines, pa.int64())}
        for name in names:
            data[name] = pa.array([r.get(name) for r in self.batch], pa.string())
        part = self.workdir / f"{self.name}_{len(self.parts)}.parquet"
        pq.write_table(pa.table(data), part, compression="snappy")
        self.parts.append(part)
        new = [name for name in names if name not in self.known]
        self.columns.extend(new)
        self.known.update(new)
        self.rows += len(self.batch)
        self.batch, self.lines, self.batch_names, self.new = [], [], {}, 0

    def relation(self) -> str:
        """SQL for every record loaded, in line order."""
        if not self.parts:
            self.con.execute(f"CREATE TABLE {self.name} (_line BIGINT)")
            return f"SELECT * FROM {self.name}"
        files = "[" + ", ".join(sql_string(str(p)) for p in self.parts) + "]"
        return f"SELECT * FROM read_parquet({files}, union_by_name=true) ORDER BY _line"


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


_XES_VALUE_TAGS = frozenset(
    f"{{{ns}}}{tag}" if ns else tag
    for ns in ("", "http://www.xes-standard.org/", "http://code.deckfour.org/xes")
    for tag in ("string", "date", "int", "float", "boolean", "id")
)


def _attributes(element) -> Record:
    """The key/value attributes directly under an XES trace or event."""
    return {child.get("key"): child.get("value") for child in element
            if child.tag in _XES_VALUE_TAGS and child.get("key") is not None}


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
    """XES (IEEE 1849), streamed; trace attributes become ``case:<key>`` columns.

    Entities are never resolved and nothing is fetched from the network, so a hostile
    document can neither expand nor reach out.
    """
    from lxml import etree

    if not read_sample(path, 4096).strip():
        raise DataError(f"{path}: the file is empty", "Give an XES file (XML).")
    loader = _Loader(con, f"raw_{index}", str(path), workdir)
    trace, trace_attributes = None, {}
    try:
        _refuse_doctype(path)
        with open_binary(path) as raw, _stop_at_cut(raw):
            parser = etree.iterparse(
                raw, events=("end",), tag=("{*}event", "{*}trace"), resolve_entities=False,
                no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
            )
            for _, elem in parser:
                if elem.tag.endswith("trace"):
                    elem.clear(keep_tail=False)
                    while elem.getprevious() is not None:
                        del elem.getparent()[0]
                    continue
                parent = elem.getparent()
                if parent is not trace:
                    # Trace attributes precede the events, so they are parsed by now.
                    trace = parent
                    own = _attributes(parent) if parent.tag.endswith("trace") else {}
                    trace_attributes = {"case:" + k: v for k, v in own.items()}
                record = dict(trace_attributes)
                record.update(_attributes(elem))
                loader.add(elem.sourceline or 0, record)
                elem.clear(keep_tail=False)
        truncated = ended_early(raw)
    except etree.XMLSyntaxError as exc:
        raise DataError(f"{path}:{exc.lineno}: not well-formed XES: {exc.msg}",
                        "Check that the file is complete and is XES (XML).") from None
    except (OSError, EOFError) as exc:
        raise classify(exc) or DataError(f"{path}: cannot read the file: {exc}") from None
    return _finish(loader, path, "xes", index, truncated)


@contextlib.contextmanager
def _stop_at_cut(raw) -> Iterator[None]:
    """A file cut short ends in the middle of the XML: the events parsed before the cut are
    kept (each is whole), and the syntax error the cut causes ends the reading."""
    from lxml import etree

    try:
        yield
    except etree.XMLSyntaxError:
        if not ended_early(raw):
            raise
