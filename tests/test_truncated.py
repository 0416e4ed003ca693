"""Input that ends early says so: a gzip file cut short (mid-stream, or without its trailer)
is read up to the cut, with a warning naming the file, ``truncated`` in its accounting, the
cut line rejected (never kept with half a value), and ``--strict`` failing; a Parquet file
cut short is refused in one line that says so."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI_ENV

import cjm

ROOT = Path(__file__).parents[1]
STAGES = ("Visit Site", "Search", "View Product", "Add to Cart", "Checkout", "Purchase")
ROWS = [{"journey": f"j{i // 5}", "stage": STAGES[i % 6],
         "timestamp": f"2024-03-{1 + i % 28:02d}T10:{i % 60:02d}:00Z", "channel": f"web{i}"}
        for i in range(20_000)]


def _xes(rows: list[dict]) -> str:
    traces: dict[str, list[str]] = {}
    for row in rows:
        traces.setdefault(row["journey"], []).append(
            f'<event><string key="concept:name" value="{row["stage"]}"/>'
            f'<date key="time:timestamp" value="{row["timestamp"]}"/>'
            f'<string key="channel" value="{row["channel"]}"/></event>')
    body = "".join(f'<trace><string key="concept:name" value="{name}"/>{"".join(events)}'
                   "</trace>\n" for name, events in traces.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n{body}</log>\n'


TEXTS = {
    "csv": "journey,stage,timestamp,channel\n" + "".join(
        f"{r['journey']},{r['stage']},{r['timestamp']},{r['channel']}\n" for r in ROWS),
    "jsonl": "".join(json.dumps(r) + "\n" for r in ROWS),
    "json": json.dumps(ROWS, indent=1),
    "xes": _xes(ROWS),
}
# Where to cut the compressed bytes: in the first block, mid-stream, late, the whole
# trailer (CRC and size) missing, part of it missing.
CUTS = {"early": lambda n: n // 20, "middle": lambda n: n // 2, "late": lambda n: n * 9 // 10,
        "no_trailer": lambda n: n - 8, "half_trailer": lambda n: n - 3}


def _cut(tmp_path: Path, fmt: str, cut: str) -> Path:
    data = gzip.compress(TEXTS[fmt].encode(), mtime=0)
    path = tmp_path / f"cut.{fmt}.gz"
    path.write_bytes(data[: CUTS[cut](len(data))])
    return path


def _cjm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cjm", *args], capture_output=True, text=True,
                          env={**os.environ, **CLI_ENV, "PYTHONPATH": str(ROOT)}, timeout=120,
                          check=False)


def _events(log: cjm.EventLog) -> set[tuple]:
    return set(log.con.execute("SELECT case_id, stage, epoch(ts), channel FROM events")
               .fetchall())


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> dict[str, set[tuple]]:
    """The events of each format read whole, to compare the cut files with."""
    folder = tmp_path_factory.mktemp("whole")
    found = {}
    for fmt, text in TEXTS.items():
        path = folder / f"whole.{fmt}.gz"
        path.write_bytes(gzip.compress(text.encode(), mtime=0))
        with cjm.read_log(path) as log:
            assert not log.warnings or all(w.code != "truncated" for w in log.warnings)
            assert "truncated" not in log.files[0].details
            found[fmt] = _events(log)
    return found


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("fmt", TEXTS)
def test_a_cut_gzip_is_read_up_to_the_cut_and_says_so(tmp_path, whole, fmt, cut, read):
    path = _cut(tmp_path, fmt, cut)
    log = read(path)
    report = log.files[0]
    assert report.details["truncated"] is True
    assert report.rows == report.events + report.rejected + report.filtered
    events = _events(log)
    # Every event kept is one of the file's own, whole: the cut line is never kept.
    assert events <= whole[fmt]
    if cut in ("no_trailer", "half_trailer"):
        assert len(events) == len(whole[fmt])
    else:
        assert 0 < len(events) < len(whole[fmt])
    warning = next(w for w in log.warnings if w.code == "truncated")
    assert str(path) in warning.message and "ends early" in warning.message
    assert f"{report.rows:,} rows read" in warning.message


def test_the_cut_line_is_rejected(tmp_path, read):
    path = tmp_path / "cut.csv.gz"
    text = "journey,stage,timestamp\nj1,Visit,2024-03-01T10:00:00Z\nj1,Buy,2024-03-0"
    data = gzip.compress(text.encode(), mtime=0)
    path.write_bytes(data[:-8])
    log = read(path)
    assert log.events == 1
    assert log.rejects() == [{"file": str(path), "line": 3, "reason": "cut short: the file "
                              "ends within this line (truncated)",
                              "content": "j1,Buy,2024-03-0"}]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_cli_warns_accounts_and_fails_under_strict(tmp_path, fmt):
    path = _cut(tmp_path, fmt, "middle")
    run = _cjm("discover", str(path), "--no-map")
    assert run.returncode == 0, run.stderr
    assert f"Warning: {path}: the file ends early" in " ".join(run.stderr.split())
    run = _cjm("inspect", str(path), "--json", "-")
    assert run.returncode == 0, run.stderr
    profile = json.loads(run.stdout)
    assert profile["files"][0]["truncated"] is True
    assert any(w["code"] == "truncated" for w in profile["warnings"])
    strict = _cjm("discover", str(path), "--no-map", "--strict")
    assert strict.returncode == 1
    assert f"Error: {path}: the file ends early (truncated; --strict)" in \
        strict.stderr.splitlines()


def test_a_cut_parquet_file_is_refused_in_one_line(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), whole, row_group_size=1_000)
    data = whole.read_bytes()
    for keep in (len(data) // 2, len(data) - 8, len(data) - 2):
        path = tmp_path / "cut.parquet"
        path.write_bytes(data[:keep])
        run = _cjm("inspect", str(path))
        assert run.returncode == 1
        assert run.stderr.splitlines()[0] == (
            f"Error: {path}: cannot read as Parquet: the file ends early (truncated) or is "
            "damaged: its footer, which holds the columns and where the rows are, is missing")


@pytest.mark.parametrize("fmt", TEXTS)
def test_a_file_cut_before_its_first_row_is_refused_saying_so(tmp_path, fmt):
    text = TEXTS[fmt]
    keep = {"csv": 12, "jsonl": 20, "json": 30}.get(fmt) or text.index("<event>") + 20
    path = tmp_path / f"cut.{fmt}.gz"
    path.write_bytes(gzip.compress(text[:keep].encode(), mtime=0)[:-8])
    run = _cjm("inspect", str(path))
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith("Error: ") and "ends early (truncated)" in run.stderr, \
        run.stderr
