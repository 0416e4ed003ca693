"""JSON, JSON Lines and XES: parsed in Python record by record, loaded into DuckDB in batches.

Nested objects become dotted column names (``customer.id``); numbers keep the text they were
written with, so ids such as ``00042`` or ``1e5`` survive.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cjm.errors import DataError
from cjm.readers.base import ColumnNames, FileLoad, Reject, sql_name
from cjm.readers.sniff import open_binary

BATCH_ROWS = 50_000
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
    """Appends records to one DuckDB table, adding columns as new ones appear."""

    def __init__(self, con, table: str) -> None:
        self.con, self.table = con, table
        self.columns: list[str] = []
        self.lines: list[int] = []
        self.batch: list[Record] = []
        self.rows = 0
        self.rejects: list[Reject] = []
        self.unique = ColumnNames()
        con.execute(f"CREATE TABLE {table} (_line BIGINT)")

    def add(self, line: int, record: Record) -> None:
        self.lines.append(line)
        self.batch.append({self.unique(key): value for key, value in record.items()})
        if len(self.batch) >= BATCH_ROWS:
            self.flush()

    def reject(self, line: int, reason: str, content: str) -> None:
        self.rows += 1
        self.rejects.append(Reject(line, reason, content[:500]))

    def flush(self) -> None:
        if not self.batch:
            return
        import pyarrow as pa

        names: dict[str, None] = {}
        for record in self.batch:
            names.update(dict.fromkeys(record))
        for name in names:
            if name not in self.columns:
                self.columns.append(name)
                self.con.execute(f"ALTER TABLE {self.table} ADD COLUMN {sql_name(name)} VARCHAR")
        data = {"_line": pa.array(self.lines, pa.int64())}
        for name in names:
            data[name] = pa.array([r.get(name) for r in self.batch], pa.string())
        self.con.register("_batch", pa.table(data))
        self.con.execute(f"INSERT INTO {self.table} BY NAME SELECT * FROM _batch")
        self.con.unregister("_batch")
        self.rows += len(self.batch)
        self.batch, self.lines = [], []


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
    loader.add(line, record)


def _finish(loader: _Loader, path: Path, fmt: str, index: int, notes=None) -> FileLoad:
    loader.flush()
    relation = f"file_{index}"
    loader.con.execute(f"CREATE VIEW {relation} AS SELECT * FROM {loader.table} ORDER BY _line")
    return FileLoad(path, fmt, relation, loader.rows, loader.columns, loader.rejects,
                    {"encoding": "utf-8"}, notes or [])


def _text(path: Path) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="strict", newline="")


def load_jsonl(con, path: Path, index: int) -> FileLoad:
    loader = _Loader(con, f"raw_{index}")
    with open_binary(path) as raw:
        for number, line_bytes in enumerate(raw, start=1):
            try:
                line = line_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                loader.reject(number, "not valid UTF-8 text",
                              line_bytes.decode("utf-8", "replace").rstrip("\r\n"))
                continue
            if not line.strip():
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
    return _finish(loader, path, "jsonl", index)


def _array_items(text: str, where: str) -> Iterator[tuple[int, Any, str]]:
    """(line, value, source text) for each element of a top-level JSON array."""
    decoder = json.JSONDecoder(parse_int=_Number, parse_float=_Number)
    length = len(text)
    pos = text.index("[") + 1
    line, counted = 1, 0  # line holds the line of position `counted`

    def skip(p: int) -> int:
        while p < length and text[p] in " \t\r\n":
            p += 1
        return p

    pos = skip(pos)
    if pos < length and text[pos] == "]":
        return
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, end = decoder.raw_decode(text, pos)
        except ValueError as exc:
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
            return
        line += text.count("\n", counted, pos)
        raise DataError(f"{where}:{line}: malformed JSON: expected ',' or ']' after a record")


def load_json(con, path: Path, index: int) -> FileLoad:
    """A JSON array of records; a file holding one object per line is read as JSON Lines."""
    try:
        with _text(path) as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 text: {exc}") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty", "Give a JSON array of records.")
    if text.lstrip()[0] != "[":
        return load_jsonl(con, path, index)
    loader = _Loader(con, f"raw_{index}")
    for line, value, source in _array_items(text, str(path)):
        _record_or_reject(loader, line, value, source)
    return _finish(loader, path, "json", index)


_XES_VALUE_TAGS = frozenset(
    f"{{{ns}}}{tag}" if ns else tag
    for ns in ("", "http://www.xes-standard.org/", "http://code.deckfour.org/xes")
    for tag in ("string", "date", "int", "float", "boolean", "id")
)


def _attributes(element) -> Record:
    """The key/value attributes directly under an XES trace or event."""
    return {child.get("key"): child.get("value") for child in element
            if child.tag in _XES_VALUE_TAGS and child.get("key") is not None}


def load_xes(con, path: Path, index: int) -> FileLoad:
    """XES (IEEE 1849), streamed; trace attributes become ``case:<key>`` columns.

    Entities are never resolved and nothing is fetched from the network, so a hostile
    document can neither expand nor reach out.
    """
    from lxml import etree

    loader = _Loader(con, f"raw_{index}")
    trace, trace_attributes = None, {}
    try:
        with open_binary(path) as raw:
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
    except etree.XMLSyntaxError as exc:
        raise DataError(f"{path}:{exc.lineno}: not well-formed XES: {exc.msg}",
                        "Check that the file is complete and is XES (XML).") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the file: {exc}") from None
    return _finish(loader, path, "xes", index)
