"""The accounting invariant over generated logs: rows = events + rejected + filtered, per file,
and every injected bad row is rejected at its own line for its own reason."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import cjm
from cjm.config import Config

CSV_REASONS = {
    "missing_case": "missing journey id (column case_id)",
    "missing_stage": "missing stage (column activity)",
    "empty_ts": "empty timestamp (column timestamp)",
    "bad_ts": "unparsable timestamp (ISO 8601 expected)",
    "too_many": "malformed line: expected number of columns: 3 found: 4",
    "too_few": "malformed line: expected number of columns: 3 found: 2",
    "bad_utf8": "not valid utf-8 text (pass --encoding)",
}
JSONL_REASONS = {
    "missing_case": "missing journey id (column case_id)",
    "missing_stage": "missing stage (column activity)",
    "empty_ts": "empty timestamp (column timestamp)",
    "bad_ts": "unparsable timestamp (ISO 8601 expected)",
    "number": "not a record: a JSON number where an object was expected",
    "array": "not a record: a JSON array where an object was expected",
    "malformed": "malformed JSON: Expecting ',' delimiter",
    "bad_utf8": "not valid UTF-8 text",
}
QUOTE_REASON = ("malformed line: bad quoting (a quote is never closed, or text follows a "
                "closing quote)")

case_ids = st.sampled_from(["NA", "00000042", "1e5", "c1", "c2", "C-7", "x y", "0"])
stages = st.sampled_from(["Visit", "Search", "Add to cart", "Buy, now", "Chat\nagent", "é"])
instants = st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2024, 12, 31))
offsets = st.sampled_from(["Z", "+02:00", "-05:30", ""])
good_rows = st.tuples(case_ids, stages, instants, offsets, st.booleans())


@dataclass
class Generated:
    """One file's bytes and what reading it must give."""

    name: str
    content: bytes = b""
    rows: int = 0
    good: int = 0
    bad: dict[int, str] = field(default_factory=dict)  # line -> reason


def _iso(instant: dt.datetime, offset: str, with_t: bool) -> str:
    return instant.isoformat(sep="T" if with_t else " ", timespec="seconds") + offset


def _csv_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _interleave(draw, reasons) -> tuple[list[object], set[int]]:
    """Good rows with bad kinds inserted at random places, and where blank lines go."""
    goods = draw(st.lists(good_rows, min_size=4, max_size=12))
    bads = draw(st.lists(st.sampled_from(sorted(reasons)), max_size=len(goods) // 2 + 2))
    items: list[object] = list(goods)
    for kind in bads:
        items.insert(draw(st.integers(0, len(items))), kind)
    return items, draw(st.sets(st.integers(0, len(items)), max_size=3))


@st.composite
def csv_files(draw, name: str) -> Generated:
    items, blank_after = _interleave(draw, CSV_REASONS)
    unterminated = draw(st.booleans())
    out = Generated(name)
    lines = [b"case_id,activity,timestamp"]
    line = 1

    def add(text: bytes) -> int:
        nonlocal line
        start = line + 1
        lines.append(text)
        line += text.count(b"\n") + 1
        return start

    for i, item in enumerate(items):
        if i in blank_after:
            add(b"")
        if isinstance(item, tuple):
            case, stage, instant, offset, with_t = item
            add(f"{_csv_quote(case)},{_csv_quote(stage)},{_iso(instant, offset, with_t)}"
                .encode())
            out.good += 1
        else:
            text = {
                "missing_case": ",Visit,2024-01-01T00:00:00Z",
                "missing_stage": "c1,,2024-01-01T00:00:00Z",
                "empty_ts": "c1,Visit,",
                "bad_ts": "c1,Visit,not a time",
                "too_many": "c1,Visit,2024-01-01T00:00:00Z,extra",
                "too_few": "c1,Visit",
            }.get(item)
            data = text.encode() if text else b"c1,Caf\xe9,2024-01-01T00:00:00Z"
            out.bad[add(data)] = CSV_REASONS[item]
        out.rows += 1
    if unterminated:
        out.bad[add(b'c9,"Visit,2024-01-01T00:00:00Z')] = QUOTE_REASON
        out.rows += 1
    out.content = b"\n".join(lines) + b"\n"
    return out


@st.composite
def jsonl_files(draw, name: str) -> Generated:
    items, blank_after = _interleave(draw, JSONL_REASONS)
    out = Generated(name)
    lines: list[bytes] = []
    for i, item in enumerate(items):
        if i in blank_after:
            lines.append(b"")
        if isinstance(item, tuple):
            case, stage, instant, offset, with_t = item
            record = {"case_id": case, "activity": stage, "timestamp": _iso(instant, offset,
                                                                             with_t)}
            lines.append(json.dumps(record, ensure_ascii=False).encode())
            out.good += 1
        else:
            data = {
                "missing_case": b'{"activity": "Visit", "timestamp": "2024-01-01T00:00:00Z"}',
                "missing_stage": b'{"case_id": "c1", "activity": " ", '
                                 b'"timestamp": "2024-01-01T00:00:00Z"}',
                "empty_ts": b'{"case_id": "c1", "activity": "Visit", "timestamp": ""}',
                "bad_ts": b'{"case_id": "c1", "activity": "Visit", "timestamp": "soon"}',
                "number": b"12.5",
                "array": b'["c1", "Visit"]',
                "malformed": b'{"case_id": "c1" "activity": "Visit"}',
                "bad_utf8": b'{"case_id": "c1", "activity": "Caf\xe9", "timestamp": "x"}',
            }[item]
            lines.append(data)
            out.bad[len(lines)] = JSONL_REASONS[item]
        out.rows += 1
    out.content = b"\n".join(lines) + b"\n"
    return out


def _check(files: list[Generated], **options) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for generated in files:
            path = Path(folder) / generated.name
            path.write_bytes(generated.content)
            paths.append(path)
        log = cjm.read_log(paths, config=Config(), **options)
        try:
            for generated, path, report in zip(files, paths, log.files, strict=True):
                assert report.path == str(path)
                assert report.rows == report.events + report.rejected + report.filtered
                assert (report.rows, report.events, report.rejected, report.filtered) == (
                    generated.rows, generated.good, len(generated.bad), 0)
                got = {r["line"]: r["reason"] for r in log.rejects() if r["file"] == str(path)}
                assert got == generated.bad
            assert log.rows == log.events + log.rejected + log.filtered
            assert log.events == sum(g.good for g in files)
        finally:
            log.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(), min_size=1, max_size=3).flatmap(
    lambda sizes: st.tuples(*[csv_files(f"part{i}.csv") for i in range(len(sizes))])))
def test_csv_accounting_with_injected_bad_rows(files):
    # utf-8 is given: a file whose sample is not UTF-8 would otherwise be read as cp1252.
    _check(list(files), encoding="utf-8")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(), min_size=1, max_size=2).flatmap(
    lambda sizes: st.tuples(*[jsonl_files(f"part{i}.jsonl") for i in range(len(sizes))])))
def test_jsonl_accounting_with_injected_bad_rows(files):
    _check(list(files))


def test_the_reading_accounting_adds_up_when_a_window_selects_journeys(tmp_path):
    # --since selects journeys after the read; the reading line and the JSON's reading
    # section count the rows read, so the events there are the read's, not the window's.
    from conftest import run_cli

    log = tmp_path / "log.csv"
    log.write_text("case,stage,timestamp\na,x,2024-01-01T10:00:00Z\na,y,2024-01-01T11:00:00Z\n"
                   "b,x,2024-03-01T10:00:00Z\nb,y,2024-03-01T11:00:00Z\n"
                   "c,x,not-a-date\n")
    out = tmp_path / "out.json"
    shown = run_cli("discover", str(log), "--since", "2024-02-01", "--no-map",
                    "--json", str(out))
    assert shown.exit_code == 0, shown.output
    assert "rows read 5 = events 4 + rejected 1 + filtered 0" in shown.stdout
    data = json.loads(out.read_text())
    reading = data["reading"]
    assert reading["rows"] == reading["events"] + reading["rejected"] + reading["filtered"]
    assert (reading["events"], data["events"]) == (4, 2)
