"""Mutated logs through every reader (hypothesis): a clear DataError or a log that adds up.

A valid small log is written in each format, then cut, flipped, stuffed with NUL bytes,
random bytes or odd Unicode. ``cjm.read_log`` must either raise a DataError with a message
or return a log whose rows = events + rejected + filtered, per file and in total; any other
exception (the CLI's "unexpected …, this is a bug in cjm") fails the test, and so does a read
that takes longer than HANG_SECONDS. Derandomized, so CI runs the same examples every time.
benchmarks/fuzz_readers.py runs many more, through the CLI.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import signal
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cjm
from cjm.config import Config
from cjm.errors import CjmError, DataError
from cjm.files import csv_field_limit

HANG_SECONDS = 20
FUZZ = settings(max_examples=35, deadline=None, derandomize=True, database=None,
                # The autouse folder fixture only sets the working folder: safe to share.
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

ROWS = [
    ("c1", "Visit", "2024-03-01T10:00:00Z", "web"),
    ("c1", "Search, then view", "2024-03-01T10:05:00Z", "web"),
    ("c1", "Buy", "2024-03-01T11:00:00+01:00", "app"),
    ("00042", "Visit", "2024-03-02T09:00:00Z", "store"),
    ("00042", 'Chat "help"', "2024-03-02 09:30:00", "chat"),
    ("1e5", "Café ☕", "2024-03-03T08:00:00Z", "web"),
    ("1e5", "Leave", "2024-03-03T08:10:00Z", "web"),
]
COLUMNS = ("case_id", "activity", "timestamp", "channel")

# Bytes and text that readers trip over.
SPECIAL = [b"\x00", b"\r", b"\n", b"\r\n", b'"', b",", b"\t", b";", b"\\", b"\xff", b"\xc3",
           b"\xef\xbb\xbf", b"\\ud800", b"\\u0000", "\u2028".encode(), "\u202e".encode(),
           "😀".encode(), b"<!ENTITY x 'y'>", b"&x;", b"&amp;", b"<", b">", b"[", b"]",
           b"{", b"}", b"1e999", b"99999999999999999999999", b"-", b"PAR1", b"\x1f\x8b"]


def _csv(delimiter: str) -> bytes:
    def cell(value: str) -> str:
        return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(
            ch in value for ch in f'"{delimiter}\n') else value
    lines = [delimiter.join(COLUMNS)] + [delimiter.join(cell(v) for v in row) for row in ROWS]
    return ("\n".join(lines) + "\n").encode()


def _records() -> list[dict[str, str]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]


def _json() -> bytes:
    return json.dumps(_records(), indent=1, ensure_ascii=False).encode()


def _jsonl() -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records()).encode()


def _xes() -> bytes:
    def attr(kind: str, key: str, value: str) -> str:
        value = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return f'<{kind} key="{key}" value="{value}"/>'
    traces: dict[str, list[str]] = {}
    for case, stage, ts, channel in ROWS:
        traces.setdefault(case, []).append(
            f"<event>{attr('string', 'concept:name', stage)}{attr('date', 'time:timestamp', ts)}"
            f"{attr('string', 'channel', channel)}</event>")
    body = "".join(f"<trace>{attr('string', 'concept:name', case)}\n" + "\n".join(events)
                   + "\n</trace>\n" for case, events in traces.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0" '
            f'xmlns="http://www.xes-standard.org/">\n{body}</log>\n').encode()


def _parquet() -> bytes:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    out = io.BytesIO()
    pq.write_table(pa.table({c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)}), out)
    return out.getvalue()


# name -> (file name, valid bytes, how the mutated bytes become the file)
def _plain(data: bytes) -> bytes:
    return data


def _gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


FORMATS: dict[str, tuple[str, Callable[[], bytes], Callable[[bytes], bytes]]] = {
    "csv": ("log.csv", lambda: _csv(","), _plain),
    "tsv": ("log.tsv", lambda: _csv("\t"), _plain),
    "json": ("log.json", _json, _plain),
    "jsonl": ("log.jsonl", _jsonl, _plain),
    "xes": ("log.xes", _xes, _plain),
    "parquet": ("log.parquet", _parquet, _plain),
    # A mutated log, compressed; and a compressed log, mutated (damaged gzip).
    "csv.gz": ("log.csv.gz", lambda: _csv(","), _gzipped),
    "gz-damaged": ("log.jsonl.gz", lambda: _gzipped(_jsonl()), _plain),
}

mutations = st.lists(
    st.one_of(
        st.tuples(st.just("truncate"), st.integers(0, 10**6)),
        st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
        st.tuples(st.just("insert"), st.integers(0, 10**6), st.one_of(
            st.sampled_from(SPECIAL),
            st.binary(min_size=1, max_size=6),
            st.text(min_size=1, max_size=4).map(lambda t: t.encode("utf-8", "surrogatepass")),
        )),
        st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
        st.tuples(st.just("repeat"), st.integers(0, 10**6), st.integers(1, 60)),
    ),
    min_size=1, max_size=4,
)


def mutate(data: bytes, steps: list[tuple]) -> bytes:
    """Apply the mutation steps in order; positions wrap around the current length."""
    for kind, position, *extra in steps:
        at = position % (len(data) + 1)
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and data:
            at %= len(data)
            data = data[:at] + bytes([data[at] ^ extra[0]]) + data[at + 1:]
        elif kind == "insert":
            data = data[:at] + extra[0] + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + extra[0]:]
        elif kind == "repeat":
            data = data[:at] + data[at:at + extra[0]] + data[at:]
    return data


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cjm-fuzz-") as name:
        yield Path(name)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"reading took longer than {HANG_SECONDS} s")


def read_or_refuse(path: Path) -> cjm.EventLog | CjmError:
    """Read ``path``; return the log, or the DataError it was refused with. Anything else
    raises, and so fails the test."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        return cjm.read_log(path, config=Config())
    except CjmError as exc:
        return exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def records_in(path: Path, fmt: str, details: dict) -> int | None:
    """The records of a CSV or JSON Lines file, counted with the standard library: cjm must
    count the same rows, read or rejected (None for the other formats)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        # As far as it goes: a file cut short is read up to the cut.
        data = zlib.decompressobj(wbits=31).decompress(data)
    if fmt == "csv":
        text = data.decode(details["encoding"], "surrogateescape").removeprefix("\ufeff")
        with csv_field_limit():
            rows = [r for r in csv.reader(io.StringIO(text, newline=""),
                                          delimiter=details["delimiter"]) if r]
        return len(rows) - 1
    if fmt == "jsonl":
        return sum(1 for line in data.split(b"\n") if line.strip(b" \t\r\n\xef\xbb\xbf"))
    return None


def check_outcome(outcome: cjm.EventLog | CjmError, path: Path) -> None:
    if isinstance(outcome, CjmError):
        # A file can be refused, never the user's flags (exit 2): none were given.
        assert isinstance(outcome, DataError), repr(outcome)
        assert outcome.message.strip()
        return
    log = outcome
    try:
        assert log.rows == log.events + log.rejected + log.filtered
        for report in log.files:
            assert report.rows == report.events + report.rejected + report.filtered
        stored = log.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        rejected = log.con.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
        assert (stored, rejected) == (log.events, log.rejected)
        assert log.events > 0
        expected = records_in(path, log.files[0].format, log.files[0].details)
        assert expected in (None, log.rows), (expected, log.files[0].to_dict())
    finally:
        log.close()


@pytest.mark.parametrize("name", list(FORMATS))
def test_the_valid_log_reads_in_every_format(folder, name):
    filename, valid, finish = FORMATS[name]
    path = folder / filename
    path.write_bytes(finish(valid()))
    log = read_or_refuse(path)
    assert isinstance(log, cjm.EventLog), log
    try:
        assert (log.rows, log.events, log.rejected) == (len(ROWS), len(ROWS), 0)
    finally:
        log.close()


@pytest.mark.parametrize("name", list(FORMATS))
@FUZZ
@given(steps=mutations)
def test_mutated_log_is_read_or_refused_clearly(folder, name, steps):
    filename, valid, finish = FORMATS[name]
    path = folder / filename
    path.write_bytes(finish(mutate(valid(), steps)))
    check_outcome(read_or_refuse(path), path)
