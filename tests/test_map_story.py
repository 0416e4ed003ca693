"""Simplified maps keep the story: the goals' main routes, significant changes on top, and an
edge budget that keeps dense clickstream maps readable."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import cjm
from cjm.cli import app
from cjm.compare import compare, compare_map
from cjm.mapgraph import END, GOAL_ROUTE, MAX_EDGES, START, build_map, trim
from cjm.render.dot import to_dot
from cjm.render.json_out import journey_json
from cjm.render.mermaid import to_mermaid
from cjm.report.build import MERMAID_EDGES, MERMAID_STAGES, ReportOptions, build_report
from tests.journey_logs import dense_journeys, reachable, write_dense, write_journeys

# Eight side pages each lead to Buy twice and to Leave five times: the widest route to Buy
# runs through one of them, so that the repair alone would keep one in eight of Buy's routes.
SIDES = [f"Side{i}" for i in range(8)]
FAN_IN = {f"{side}-{n}": ["Visit", side, "Buy" if n < 2 else "Leave"]
          for side in SIDES for n in range(7)}


def _assert_connected(graph) -> None:
    names = {n.name for n in graph.nodes}
    assert names <= reachable(graph.edges, START), "a stage cannot be reached from the start"
    assert names <= reachable(graph.edges, END, forward=False), "a stage cannot reach the end"


def _incoming(edges, goal) -> int:
    return sum(e.count for e in edges if e.target == goal and e.source != goal)


@pytest.fixture
def fan_log(tmp_path):
    with cjm.read_log(write_journeys(tmp_path / "fan.csv", FAN_IN)) as log:
        yield log


@pytest.fixture
def fan_in(fan_log):
    return cjm.discover(fan_log, goals=["Buy"])


@pytest.mark.parametrize("simplify", [{"paths": 0.5}, {"paths": 0.2}, {"paths": 0.5,
                                                                         "stages": 0.9}])
def test_a_goal_keeps_most_of_its_incoming_traffic(fan_in, fan_log, simplify):
    full = build_map(fan_in, paths=1.0, stages=simplify.get("stages"), log=fan_log)
    graph = build_map(fan_in, log=fan_log, **simplify)
    assert graph.hidden_edges > 0
    total, shown = _incoming(full.edges, "Buy"), _incoming(graph.edges, "Buy")
    assert shown >= GOAL_ROUTE * total
    _assert_connected(graph)
    assert graph.goal_hidden == {"Buy": pytest.approx(1 - shown / total)}


def test_the_map_says_what_share_of_a_goals_traffic_is_hidden(fan_in):
    graph = build_map(fan_in, paths=0.5)
    hidden = graph.goal_hidden["Buy"]
    assert 0 < hidden < 1 - GOAL_ROUTE
    said = f"{hidden:.0%}"
    assert f"Buy: {said} of its incoming traffic hidden" in graph.hidden_summary()
    assert f"Buy: {said} of its incoming traffic hidden" in to_dot(graph)
    data = journey_json(fan_in, graph)["map"]
    assert data["goal_incoming_hidden"] == {"Buy": pytest.approx(hidden)}
    assert 0 < data["hidden_traffic_share"] < 1


def test_the_terminal_map_line_names_the_goal(tmp_path, monkeypatch):
    log = write_journeys(tmp_path / "fan.csv", FAN_IN)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["discover", str(log), "--goal", "Buy", "--paths", "50%",
                                      "-o", "m.dot"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert re.search(r"Buy: \d+% of its incoming traffic hidden", result.output)


# --- compare --------------------------------------------------------------------------------

def _shifted(visitors: int, seed: int) -> dict[str, list[str]]:
    """B: dense journeys where page000 is always followed by page001."""
    journeys = dense_journeys(20, visitors, seed=seed)
    for stages in journeys.values():
        for i in range(len(stages) - 1):
            if stages[i] == "page000":
                stages[i + 1] = "page001"
    return journeys


@pytest.fixture
def shifted(tmp_path):
    a = cjm.read_log(write_journeys(tmp_path / "a.csv", dense_journeys(20, 1000, seed=3)))
    b = cjm.read_log(write_journeys(tmp_path / "b.csv", _shifted(1000, 4)))
    result = compare(cjm.discover(a), cjm.discover(b), "A", "B")
    yield result
    a.close()
    b.close()


def test_significant_changes_are_drawn_on_top(shifted):
    graph = compare_map(shifted)
    assert any(e.significant for e in graph.edges) and any(not e.significant for e in graph.edges)
    # Graphviz draws edges in file order: later edges lie on top of earlier ones.
    order = [("label=" in line and "pp" in line) for line in to_dot(graph).splitlines()
             if "->" in line]
    assert order == sorted(order), "a significant change is drawn before a grey edge"


def test_mermaid_comparison_keeps_every_significant_edge(shifted):
    significant = {t.key for t in shifted.significant}
    assert len(significant) > MERMAID_EDGES // 2  # more than the cut would keep by traffic
    small = trim(compare_map(shifted), MERMAID_STAGES, MERMAID_EDGES)
    assert significant <= {(e.source, e.target) for e in small.edges}
    assert to_mermaid(small).count(" pp") == len(significant)
    _assert_connected(small)


def test_report_comparison_mermaid_keeps_what_its_table_calls_significant(tmp_path):
    journeys = dense_journeys(20, 600, seed=3)
    journeys |= {f"b{k}": v for k, v in _shifted(600, 4).items()}
    extra = {k: {"segment": "b" if k.startswith("b") else "a"} for k in journeys}
    with cjm.read_log(write_journeys(tmp_path / "ab.csv", journeys, extra)) as log:
        report = build_report(log, ReportOptions(compare_by="segment",
                                                 compare_values=["a", "b"]))
    table = {(t["from"], t["to"]) for t in report.comparison["transitions"] if t["significant"]}
    assert table
    small = report.comparison_figure.small
    assert table <= {(e.source, e.target) for e in small.edges}


def test_compare_takes_stages_paths_and_max_edges(tmp_path, monkeypatch):
    a = write_journeys(tmp_path / "a.csv", dense_journeys(20, 500, seed=3))
    b = write_journeys(tmp_path / "b.csv", _shifted(500, 4))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    wide = runner.invoke(app, ["compare", str(a), str(b), "--paths", "100%", "--max-edges", "0",
                               "-o", "wide.dot", "-q"])
    assert wide.exit_code == 0, wide.output
    small = runner.invoke(app, ["compare", str(a), str(b), "--stages", "50%", "--paths", "50%",
                                "--max-edges", "40", "-o", "small.dot", "-q"])
    assert small.exit_code == 0, small.output
    edges = [(tmp_path / f).read_text().count(" -> ") for f in ("wide.dot", "small.dot")]
    assert edges[1] <= 40 < edges[0]
    assert (tmp_path / "small.dot").read_text().count("stage:") < \
        (tmp_path / "wide.dot").read_text().count("stage:")


# --- the edge budget ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dense40(tmp_path_factory):
    path = write_dense(tmp_path_factory.mktemp("dense") / "dense40.csv", 40)
    log = cjm.read_log(path)
    yield path, cjm.discover(log)
    log.close()


def test_a_dense_log_keeps_to_the_edge_budget(dense40):
    _, jm = dense40
    assert len(jm.transitions) > 1000
    graph = build_map(jm)
    assert len(graph.edges) <= MAX_EDGES
    assert len(graph.nodes) == 40
    _assert_connected(graph)
    # Most of the budget goes to transitions between pages, not to start and end edges.
    assert sum(e.source != START and e.target != END for e in graph.edges) >= MAX_EDGES // 2
    summary = graph.hidden_summary()
    assert f"{graph.hidden_traffic:.0%} of the traffic" in summary
    assert "--max-edges" in summary
    assert to_dot(build_map(jm)) == to_dot(graph)


def test_the_budget_keeps_the_goals_main_routes(tmp_path):
    path = write_dense(tmp_path / "goal.csv", 40, goal="purchase")
    with cjm.read_log(path) as log:
        jm = cjm.discover(log, goals=["purchase"])
        full = build_map(jm, paths=1.0, max_edges=None)
        graph = build_map(jm)
    assert len(graph.edges) <= MAX_EDGES
    _assert_connected(graph)
    assert _incoming(graph.edges, "purchase") >= GOAL_ROUTE * _incoming(full.edges, "purchase")


@pytest.mark.parametrize("flag,most", [("120", 120), ("0", None)])
def test_max_edges_flag(dense40, tmp_path, monkeypatch, flag, most):
    path, jm = dense40
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["discover", str(path), "--max-edges", flag, "-o", "m.dot",
                                      "--json", "m.json"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    edges = (tmp_path / "m.dot").read_text().count(" -> ")
    data = json.loads((tmp_path / "m.json").read_text())["map"]
    assert data["transitions_shown"] == edges
    if most:
        assert MAX_EDGES < edges <= most and "--max-edges 240" in result.output
    else:  # no budget: the automatic simplification alone
        assert edges == len(build_map(jm, max_edges=None).edges) > MAX_EDGES


def test_an_exceeded_budget_names_a_flag_that_shows_more(dense40):
    # With a budget too small for the edges that keep every stage connected, the map holds
    # more edges than the budget; the flag it suggests must show more than that, not double
    # a budget the map already exceeds.
    _, jm = dense40
    graph = build_map(jm, max_edges=2)
    assert len(graph.edges) > 4
    suggested = int(re.search(r"--max-edges (\d+) shows more", graph.hidden_summary())[1])
    assert len(build_map(jm, max_edges=suggested).edges) > len(graph.edges)


def test_max_edges_rejects_a_negative_budget(dense40):
    path, _ = dense40
    result = CliRunner().invoke(app, ["discover", str(path), "--max-edges", "-1", "--no-map"])
    assert result.exit_code == 2


def test_max_edges_in_cjm_toml(dense40, tmp_path, monkeypatch):
    path, _ = dense40
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cjm.toml").write_text("max_edges = 120\n")
    runner = CliRunner()
    assert runner.invoke(app, ["discover", str(path), "-o", "m.dot", "-q"]).exit_code == 0
    assert MAX_EDGES < (tmp_path / "m.dot").read_text().count(" -> ") <= 120
    # The flag wins over the file.
    assert runner.invoke(app, ["discover", str(path), "--max-edges", "80", "-o", "m.dot",
                               "-q"]).exit_code == 0
    assert (tmp_path / "m.dot").read_text().count(" -> ") <= 80
    (tmp_path / "cjm.toml").write_text("max_edges = -3\n")
    result = runner.invoke(app, ["discover", str(path), "--no-map", "-q"])
    assert result.exit_code == 2
    assert "setting 'max_edges': must be 0 (no limit) or more, not -3" in " ".join(
        result.output.split())
