"""Drawing is bounded: oversized maps are refused with the limits and the ways out, and the
renderer runs under a memory cap and a time limit (here graphviz-pure, as on a fresh machine)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cjm
from cjm.errors import DataError
from cjm.mapgraph import build_map
from cjm.render import graphviz
from cjm.render.dot import to_dot
from cjm.report import ReportOptions, build_report, write_report

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "shop.csv"
CJM = Path(sys.executable).parent / "cjm"


def dense_log(target: Path, pages: int, visits: int = 3000) -> Path:
    """A clickstream where any page may follow any other: 10 random pages per visit, in two
    segments."""
    rng = random.Random(7)
    rows = ["session_id,timestamp,page,segment"]
    for visit in range(visits):
        rows += [f"S{visit:05d},2024-01-01T{step:02d}:{visit % 60:02d}:00Z,"
                 f"p{rng.randrange(pages):04d},{'ab'[visit % 2]}" for step in range(10)]
    target.write_text("\n".join(rows) + "\n")
    return target


def full_dot(log_file: Path) -> str:
    log = cjm.read_log(log_file)
    try:
        return to_dot(build_map(cjm.discover(log), stages=1.0, paths=1.0, max_edges=0))
    finally:
        log.close()


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(CJM), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def test_dense_log_with_every_stage_is_refused_quickly_with_limits_and_ways_out(tmp_path):
    log = dense_log(tmp_path / "clicks.csv", pages=300)
    started = time.monotonic()
    done = run("discover", str(log), "--stages", "100%", "--max-edges", "0", "-o",
               str(tmp_path / "map.svg"))
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 60
    error = done.stderr
    assert "300 stages" in error and "edges" in error
    assert "GiB of memory" in error and " s" in error  # the limits
    assert "--stages" in error and "--paths" in error and ".dot" in error
    assert "Traceback" not in error and "panicked" not in error and "backtrace" not in error
    assert not (tmp_path / "map.svg").exists()
    lines = error.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(errors) == 1 and "cannot draw" in lines[errors[0]]  # one line, then its hint
    assert lines[errors[0] + 1].startswith("Draw fewer with --stages")


def chain_log(target: Path, pages: int) -> Path:
    """A clickstream whose pages follow one another in a line, each visit 10 of them from
    its own first page: a sparse map of 3 edges per stage."""
    rows = ["session_id,timestamp,page"]
    for visit in range(pages):
        rows += [f"S{visit:05d},2024-01-01T{step:02d}:00:00Z,p{(visit + step) % pages:04d}"
                 for step in range(10)]
    target.write_text("\n".join(rows) + "\n")
    return target


# Both renderers are refused what they were measured not to draw in minutes
# (docs/performance.md): the system dot is no faster than graphviz-pure.
RENDERERS = [pytest.param(True, marks=pytest.mark.system_dot, id="dot"),
             pytest.param(False, id="graphviz-pure")]


@pytest.mark.parametrize("system", RENDERERS)
def test_a_dense_map_under_the_size_limit_is_refused_at_once(tmp_path, system):
    dot = full_dot(dense_log(tmp_path / "clicks.csv", pages=40))  # 1,350 edges: over 3 min
    started = time.monotonic()
    with pytest.raises(DataError, match=r"cannot draw a map of 40 stages and 1,\d{3} edges"):
        graphviz.render(dot, "svg", prefer_system=system)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("system", RENDERERS)
def test_a_long_sparse_map_over_the_size_limit_is_refused_at_once(tmp_path, system):
    dot = full_dot(chain_log(tmp_path / "clicks.csv", pages=1000))  # about 4,000 in all
    started = time.monotonic()
    with pytest.raises(DataError, match=r"cannot draw a map of 1,000 stages and \d,\d{3} edges"):
        graphviz.render(dot, "svg", prefer_system=system)
    assert time.monotonic() - started < 5


def test_the_example_map_still_renders_under_the_limits(tmp_path):
    done = run("discover", str(EXAMPLE), "-o", str(tmp_path / "map.svg"), "-q")
    assert done.returncode == 0, done.stderr
    svg = (tmp_path / "map.svg").read_text()
    assert svg.count('class="node"') >= 10 and svg.count('class="edge"') >= 10


def test_memory_cap_stops_the_renderer_with_a_message(tmp_path, monkeypatch):
    dot = full_dot(dense_log(tmp_path / "clicks.csv", pages=300))
    monkeypatch.setitem(graphviz.MAX_ITEMS, "graphviz-pure", 10**6)  # let it try
    monkeypatch.setitem(graphviz.MAX_DENSE_EDGES, "graphviz-pure", 10**6)
    monkeypatch.setattr(graphviz, "MEMORY_LIMIT", 256 * 1024**2)
    started = time.monotonic()
    with pytest.raises(DataError) as raised:
        graphviz.render(dot, "svg", prefer_system=False)
    assert time.monotonic() - started < 60
    message = str(raised.value)
    assert "ran out of its memory" in message and "300 stages" in message
    assert "0 GiB" not in message and "256 MiB" in message
    assert "panicked" not in message and "alloc::" not in message


def test_time_limit_stops_a_slow_drawing(tmp_path, monkeypatch):
    dot = full_dot(dense_log(tmp_path / "clicks.csv", pages=30))  # about a minute to draw
    monkeypatch.setattr(graphviz, "BASE_SECONDS", 1.0)
    monkeypatch.setattr(graphviz, "SECONDS_PER_ITEM", 0.001)
    started = time.monotonic()
    with pytest.raises(DataError, match=r"did not finish drawing a map of 30 stages"):
        graphviz.render(dot, "svg", prefer_system=False)
    assert time.monotonic() - started < 20


def test_time_limit_grows_with_the_graph_up_to_a_ceiling():
    small, large = graphviz.time_limit(20, 60), graphviz.time_limit(200, 600)
    assert graphviz.BASE_SECONDS < small < large <= graphviz.MAX_SECONDS
    assert graphviz.time_limit(10**5, 10**6) == graphviz.MAX_SECONDS


def test_dot_size_counts_nodes_and_edges_whatever_the_labels():
    dot = """digraph g {
      graph [label="a -> b; c"];
      node [shape=box];
      start [label=""];
      "stage:a -> b" [label=<<B>a -&gt; b</B><BR/>x>];
      "stage:c" [label="c;d"];
      legend_note [label="x"];
      start -> "stage:a -> b" [label="1 -> 2"];
      "stage:a -> b" -> "stage:c" -> start;
    }"""
    assert graphviz.dot_size(dot) == (4, 2, 3)


def test_a_report_bounds_the_time_of_all_its_maps_together(tmp_path, monkeypatch):
    monkeypatch.setattr(graphviz, "REPORT_SECONDS", 0.0)
    log = cjm.read_log(EXAMPLE)
    try:
        report = build_report(log, ReportOptions(by="segment"))
    finally:
        log.close()
    with pytest.raises(DataError, match=r"the report's maps took more than 0 s"):
        write_report(report, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_a_report_with_an_oversized_map_exits_1_with_the_limits_and_writes_nothing(tmp_path):
    log = dense_log(tmp_path / "clicks.csv", pages=300)
    done = run("report", str(log), "--stages", "100%", "--max-edges", "0", "-o",
               str(tmp_path / "r.html"))
    assert done.returncode == 1, done.stderr
    assert "cannot draw a map of 300 stages" in done.stderr and "--paths" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.html").exists()


def test_a_comparison_map_too_large_exits_1_with_the_limits(tmp_path):
    log = dense_log(tmp_path / "clicks.csv", pages=60)  # about 3,500 edges
    done = run("compare", str(log), "--by", "segment", "--values", "a,b", "--stages", "100%",
               "--max-edges", "0", "-o", str(tmp_path / "diff.svg"))
    assert done.returncode == 1, done.stderr
    assert "cannot draw a map of 60 stages" in done.stderr and "--max-edges" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "diff.svg").exists()
