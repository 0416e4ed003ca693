"""cjm discover options beyond the basics: map labels and simplification, outcomes, goals,
hand-offs, output targets, --debug, and a --help that loads nothing heavy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import deque
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import CLI_ENV
from typer.testing import CliRunner

from cjm.cli import app
from tests.journey_logs import write_journeys

HEAVY = ("pandas", "pm4py", "duckdb", "graphviz", "pyarrow")
SHOP = {
    "a": [("Visit", "web"), ("View", "web"), ("Buy", "web")],
    "b": [("Visit", "web"), ("View", "web"), ("Chat", "chat")],
    "c": [("Visit", "app"), ("Buy", "app")],
    "d": [("Visit", "web"), ("View", "web")],
}
# 13 journeys: A→B 7, B→C 6, A→C 3, A→D 2, D→C 2, E→D 1, B→E 1, E→C 1; 12 A starts and
# 1 E start; 12 C ends and 1 D end: 12 map edges carrying 49 in all.
BRANCHY = {
    **{f"j{i}": ["A", "B", "C"] for i in range(6)},
    **{f"k{i}": ["A", "C"] for i in range(3)},
    **{f"m{i}": ["A", "D", "C"] for i in range(2)},
    "n": ["E", "D"],
    "o": ["A", "B", "E", "C"],
}
EDGE = re.compile(r'^  (start|end|"stage:[^"]*") -> (start|end|"stage:[^"]*") \[(.*)\];$')


def run(*args: str):
    result = CliRunner().invoke(app, ["discover", *args], env=CLI_ENV)
    assert "Traceback" not in result.output
    return result


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (the summary wraps at 100 columns)."""
    return " ".join(text.split())


def _name(node: str) -> str:
    return node if node in ("start", "end") else node[len('"stage:'):-1]


def dot_edges(dot: str) -> dict[tuple[str, str], str]:
    """(source, target) -> the edge's attributes, for every edge of a DOT map."""
    edges = {}
    for line in dot.splitlines():
        match = EDGE.match(line)
        if match:
            edges[(_name(match[1]), _name(match[2]))] = match[3]
    return edges


def label(attributes: str) -> str:
    return re.search(r'label="([^"]*)"', attributes)[1]


def reachable(edges, root: str, forward: bool = True) -> set[str]:
    links: dict[str, list[str]] = {}
    for a, b in edges:
        links.setdefault(a if forward else b, []).append(b if forward else a)
    seen, todo = {root}, deque([root])
    while todo:
        for nxt in links.get(todo.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.fixture
def shop(tmp_path) -> Path:
    return write_journeys(tmp_path / "shop.csv", SHOP)


# --node-label -----------------------------------------------------------------------------

def test_node_label_events_sizes_stages_in_events(tmp_path):
    # Visit and View are each visited 3 times by 2 journeys.
    write_journeys(tmp_path / "loops.csv", {"a": ["Visit", "View", "View", "Buy"],
                                            "b": ["Visit", "Visit", "View"]})
    result = run("loops.csv", "--node-label", "events", "-o", "events.dot", "-q")
    assert result.exit_code == 0, result.output
    dot = Path("events.dot").read_text()
    assert '<B>Visit</B><BR/><FONT POINT-SIZE="9">3 events</FONT>' in dot
    assert '<B>View</B><BR/><FONT POINT-SIZE="9">3 events</FONT>' in dot
    assert "journeys</FONT>" not in dot

    assert run("loops.csv", "-o", "journeys.dot", "-q").exit_code == 0
    dot = Path("journeys.dot").read_text()
    assert '<B>Visit</B><BR/><FONT POINT-SIZE="9">2 journeys</FONT>' in dot
    assert '<B>View</B><BR/><FONT POINT-SIZE="9">2 journeys</FONT>' in dot
    assert "events</FONT>" not in dot


def test_node_label_must_be_journeys_or_events(shop):
    result = run(str(shop), "--node-label", "visits", "--no-map")
    assert result.exit_code == 2
    assert "--node-label: 'visits' is not one of journeys, events" in result.output


# --paths and --min-count ------------------------------------------------------------------

def _assert_connected(edges) -> None:
    stages = {n for edge in edges for n in edge} - {"start", "end"}
    assert stages == {"A", "B", "C", "D", "E"}  # no stage is dropped by --paths
    assert reachable(edges, "start") >= stages  # every stage can be reached from the start
    assert reachable(edges, "end", forward=False) >= stages  # and leads to the end


def test_paths_hides_weak_edges_but_keeps_every_stage_connected(tmp_path):
    write_journeys(tmp_path / "branchy.csv", BRANCHY)
    result = run("branchy.csv", "--paths", "50%", "-o", "map.dot", "--json", "out.json")
    assert result.exit_code == 0, result.output
    # start→A 12, C→end 12 and A→B 7 carry half of the 49; the goal C keeps B→C, A→C and
    # D→C, 11 of the 12 that reach it; the widest routes to and from every stage put back
    # A→D, E→C and start→E; B→E 1, E→D 1, D→end 1 go: 3 of 49.
    assert ("Map: 3 of 12 map edges hidden, 6% of the traffic (--paths 100% shows them all); "
            "3 weaker transitions kept to connect stages; goal C: 0% of its incoming traffic "
            "hidden") in flat(result.output)
    edges = dot_edges(Path("map.dot").read_text())
    assert set(edges) == {("start", "A"), ("start", "E"), ("A", "B"), ("A", "C"), ("A", "D"),
                          ("B", "C"), ("D", "C"), ("E", "C"), ("C", "end")}
    _assert_connected(edges)
    assert json.loads(Path("out.json").read_text())["map"] == {
        "stages_shown": 5, "transitions_shown": 9, "hidden_stages": [],
        "hidden_transitions": 3, "hidden_traffic_share": round(3 / 49, 6),
        "goal_incoming_hidden": {"C": 0.0}}


def test_min_count_hides_rare_edges_but_keeps_every_stage_connected(tmp_path):
    write_journeys(tmp_path / "branchy.csv", BRANCHY)
    result = run("branchy.csv", "--min-count", "3", "-o", "map.dot")
    assert result.exit_code == 0, result.output
    assert "3 of 12 map edges hidden" in flat(result.output)
    assert "3 weaker transitions kept to connect stages" in flat(result.output)
    edges = dot_edges(Path("map.dot").read_text())
    # Taken fewer than 3 times: D→C stays on the goal C's main routes, A→D, E→C and start→E
    # as a stage's only or widest way in or out; B→E, E→D and D→end go.
    assert set(edges) == {("start", "A"), ("start", "E"), ("A", "B"), ("A", "C"), ("A", "D"),
                          ("B", "C"), ("D", "C"), ("E", "C"), ("C", "end")}
    _assert_connected(edges)


def test_paths_and_min_count_on_the_shop_log(shop):
    # 8 map edges carry 14; start→Visit 4 and Visit→View 3 reach half. View→Buy (1) is the
    # only edge no stage needs, but the goal Buy keeps it: it carries half of Buy's traffic.
    for args in (["--paths", "50%"], ["--min-count", "2"], ["--paths", "0.5", "--min-count",
                                                             "2"]):
        result = run(str(shop), *args, "-o", "m.dot")
        assert result.exit_code == 0, result.output
        assert "map edges hidden" not in flat(result.output)
        edges = dot_edges(Path("m.dot").read_text())
        assert set(edges) == {("start", "Visit"), ("Visit", "View"), ("Visit", "Buy"),
                              ("View", "Buy"), ("View", "Chat"), ("View", "end"),
                              ("Buy", "end"), ("Chat", "end")}


@pytest.mark.parametrize("args, message", [
    (["--paths", "0%"], "--paths: '0%' must be above 0%"),
    (["--paths", "lots"], "--paths: 'lots' is not a share"),
    (["--min-count", "0"], "Invalid value for '--min-count'"),
])
def test_bad_simplification_values_exit_2(shop, args, message):
    result = run(str(shop), "--no-map", *args)
    assert result.exit_code == 2
    assert message in flat(result.output)


# --view -----------------------------------------------------------------------------------

@pytest.mark.parametrize("view, visit_view, legend", [
    ("frequency", "3", "edge label: transitions\\nedge width"),
    ("performance", "7m", "edge label: median wait\\nedge width"),
    ("both", "3 (7m)", "edge label: transitions (median wait)\\nedge width"),
])
def test_view_sets_the_edge_labels(tmp_path, view, visit_view, legend):
    write_journeys(tmp_path / "shop.csv", SHOP, step=timedelta(minutes=7))
    result = run("shop.csv", "--view", view, "-o", "m.dot", "-q")
    assert result.exit_code == 0, result.output
    dot = Path("m.dot").read_text()
    edges = dot_edges(dot)
    assert label(edges[("Visit", "View")]) == visit_view
    assert label(edges[("Visit", "Buy")]) == visit_view.replace("3", "1")
    # Start and end edges always show the count.
    assert label(edges[("start", "Visit")]) == "4"
    assert label(edges[("Buy", "end")]) == "2"
    assert legend in dot


# --outcome and goals ------------------------------------------------------------------------

def test_outcome_column_marks_success(tmp_path):
    write_journeys(tmp_path / "conv.csv", SHOP, {
        "a": {"converted": "yes"}, "b": {"converted": "no"}, "c": {"converted": "No"},
        "d": {"converted": "no"}})
    result = run("conv.csv", "--outcome", "converted", "--no-map")
    assert result.exit_code == 0, result.output
    # Inferred goals (Buy, Chat) would give 75%; the outcome says one journey in four.
    assert "Goals: journeys whose converted is true — reached by 25.0% of journeys" \
        in result.output
    assert "Dead-ends: 3 journeys (75.0%)" in result.output
    data = json.loads(run("conv.csv", "--outcome", "converted", "--json", "-").stdout)
    assert data["goals"] == {"stages": [], "source": "outcome", "outcome_column": "converted",
                             "journeys": 1, "rate": 0.25, "candidates": []}
    assert data["dead_ends"]["journeys"] == 3
    assert data["dead_ends"]["rate"] == 0.75


def test_outcome_flag_with_numbers_exits_2_listing_the_values(tmp_path):
    write_journeys(tmp_path / "nps.csv", SHOP, {
        "a": {"nps": 10}, "b": {"nps": 3}, "c": {"nps": 7}, "d": {"nps": 10}})
    result = run("nps.csv", "--outcome", "nps", "--no-map")
    assert result.exit_code == 2
    assert ("Error: --outcome: column 'nps' does not say yes or no (values: '10', '3', '7')"
            in result.stderr)
    assert "pass --goal STAGE" in result.stderr
    assert result.stdout == ""


def test_detected_outcome_that_is_not_yes_no_is_ignored_with_a_note(tmp_path):
    # "nps" is detected as the outcome column; its numbers cannot mark success.
    write_journeys(tmp_path / "nps.csv", SHOP, {
        "a": {"nps": 10}, "b": {"nps": 3}, "c": {"nps": 7}, "d": {"nps": 10}})
    result = run("nps.csv", "--no-map")
    assert result.exit_code == 0, result.output
    assert "Goals: Buy, Chat — reached by 75.0% of journeys (inferred" in result.stdout
    assert ("Note: outcome column 'nps' holds '10', '3', '7', not yes/no values, so it does "
            "not mark success") in flat(result.stderr)


def test_goal_share_changes_the_inferred_goals(tmp_path):
    # Cart ends 7 of the 10 journeys reaching it (70%); Pay ends all 3 of its journeys.
    write_journeys(tmp_path / "cart.csv", {
        **{f"c{i}": ["Visit", "Cart"] for i in range(7)},
        **{f"p{i}": ["Visit", "Cart", "Pay"] for i in range(3)}})
    result = run("cart.csv", "--no-map")
    assert result.exit_code == 0, result.output
    assert "Goals: Pay — reached by 30.0% of journeys (inferred" in result.output
    result = run("cart.csv", "--no-map", "--goal-share", "60%")
    assert result.exit_code == 0, result.output
    assert "Goals: Cart, Pay — reached by 100.0% of journeys (inferred" in result.output
    result = run("cart.csv", "--no-map", "--goal-share", "0.71")
    assert "Goals: Pay — reached by 30.0% of journeys" in result.output


# --handoff-column -----------------------------------------------------------------------------

DEVICES = """case_id,stage,timestamp,channel,device
a,Visit,2024-01-01T09:00:00Z,web,mobile
a,View,2024-01-01T09:10:00Z,web,desktop
a,Buy,2024-01-01T09:20:00Z,web,desktop
b,Visit,2024-01-02T09:00:00Z,web,mobile
b,View,2024-01-02T09:10:00Z,web,mobile
b,Buy,2024-01-02T09:40:00Z,web,desktop
c,Visit,2024-01-03T09:00:00Z,web,desktop
c,View,2024-01-03T09:05:00Z,chat,mobile
"""


def test_handoff_column_device(write):
    write("devices.csv", DEVICES)
    data = json.loads(run("devices.csv", "--handoff-column", "device", "--json", "-").stdout)
    assert data["handoffs"] == {
        "column": "device", "count": 3,
        "matrix": [{"from": "mobile", "to": "desktop", "count": 2, "median_seconds": 1200.0},
                   {"from": "desktop", "to": "mobile", "count": 1, "median_seconds": 300.0}],
        "transitions": [{"from": "Visit", "to": "View", "handoffs": 2, "count": 3},
                        {"from": "View", "to": "Buy", "handoffs": 1, "count": 2}],
    }
    # By default a hand-off is a change of channel: only c's web → chat.
    data = json.loads(run("devices.csv", "--json", "-").stdout)
    assert data["handoffs"]["column"] == "channel"
    assert data["handoffs"]["matrix"] == [
        {"from": "web", "to": "chat", "count": 1, "median_seconds": 300.0}]


# Output targets -----------------------------------------------------------------------------

def test_output_json_is_a_journey_document(shop):
    result = run(str(shop), "-o", "x.json", "--goal", "Buy")
    assert result.exit_code == 0, result.output
    assert "Wrote x.json" in result.output
    assert not list(Path().glob("*.svg"))
    data = json.loads(Path("x.json").read_text(encoding="utf-8"))
    assert data["schema"] == "cjm.journey/1"
    assert (data["journeys"], data["events"], data["paths_total"]) == (4, 10, 4)
    assert data["goals"] == {"stages": ["Buy"], "source": "flag", "outcome_column": None,
                             "journeys": 2, "rate": 0.5, "candidates": []}
    assert data["dead_ends"]["journeys"] == 2
    assert [s["name"] for s in data["stages"]] == ["Visit", "View", "Buy", "Chat"]
    assert data["map"] == {"stages_shown": 4, "transitions_shown": 8, "hidden_stages": [],
                           "hidden_transitions": 0, "hidden_traffic_share": 0.0,
                           "goal_incoming_hidden": {"Buy": 0.0}}
    assert data["first_timestamp"] == "2024-01-01T09:00:00Z"
    assert data["last_timestamp"] == "2024-01-04T09:10:00Z"


def test_json_to_stdout_writes_no_default_map(shop):
    result = run(str(shop), "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["journeys"] == 4
    assert sorted(p.name for p in Path().iterdir()) == ["shop.csv"]


def test_output_into_a_folder_cannot_be_written(shop):
    Path("maps.dot").mkdir()
    result = run(str(shop), "-o", "maps.dot", "-q")
    assert result.exit_code == 1
    assert "Error: cannot write maps.dot: it is a folder" in result.stderr
    assert list(Path("maps.dot").iterdir()) == []


def test_output_under_a_file_cannot_be_written(shop):
    Path("notes.txt").write_text("keep")
    result = run(str(shop), "-o", "notes.txt/map.dot", "-q")
    assert result.exit_code == 1
    assert "Error: cannot write notes.txt/map.dot" in result.stderr
    assert Path("notes.txt").read_text() == "keep"


def test_glob_input_names_the_default_map_after_the_first_file(tmp_path):
    (tmp_path / "logs").mkdir()
    write_journeys(tmp_path / "logs" / "b-shop.csv", SHOP)
    write_journeys(tmp_path / "logs" / "a-shop.csv", {"e": ["Visit", "Buy"]})
    result = run("logs/*.csv", "--goal", "Buy")
    assert result.exit_code == 0, result.output
    assert "Wrote a-shop.journey.svg" in result.output
    assert sorted(p.name for p in tmp_path.glob("*.svg")) == ["a-shop.journey.svg"]
    assert not [p for p in tmp_path.rglob("*") if "*" in p.name]
    assert "5 journeys, 12 events, 4 stages" in result.output


# --debug ------------------------------------------------------------------------------------

def _boom(*args, **kwargs):
    raise RuntimeError("boom in discover")


def test_unexpected_error_is_one_line_without_debug(shop, monkeypatch):
    monkeypatch.setattr("cjm.journeys.discover", _boom)
    result = CliRunner().invoke(app, ["discover", str(shop), "--no-map"], env=CLI_ENV)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Error: unexpected RuntimeError: boom in discover" in result.stderr
    assert "This is a bug in cjm; run again with --debug" in result.stderr


def test_debug_lets_the_unexpected_error_through(shop, monkeypatch):
    monkeypatch.setattr("cjm.journeys.discover", _boom)
    result = CliRunner().invoke(app, ["discover", str(shop), "--no-map", "--debug"],
                                env=CLI_ENV)
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert str(result.exception) == "boom in discover"
    assert "This is a bug in cjm" not in result.output


def test_debug_changes_nothing_for_a_known_error(shop):
    result = run(str(shop), "--no-map", "--debug", "--goal", "Nope")
    assert result.exit_code == 2
    assert "Error: --goal: no stage 'Nope' in the log." in result.stderr


# --help loads nothing heavy -------------------------------------------------------------------

def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env={**os.environ, **CLI_ENV}, timeout=120, check=False)


def test_help_of_each_command_imports_no_heavy_module():
    code = (
        "import sys\n"
        f"heavy = {HEAVY!r}\n"
        "before = sorted(m for m in heavy if m in sys.modules)\n"
        "from cjm.cli import app\n"
        "codes = [app([c, '--help'], standalone_mode=False) for c in ('discover', 'inspect')]\n"
        "print(before, codes, sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert "--node-label" in done.stdout and "--rejects" in done.stdout
    # Nothing heavy before cjm (so the check means something), nor after both helps.
    assert done.stdout.strip().splitlines()[-1] == "[] [0, 0] []"


@pytest.mark.parametrize("command", ["discover", "inspect"])
def test_python_m_cjm_help_imports_no_heavy_module(command):
    done = _python("-X", "importtime", "-m", "cjm", command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Example: cjm" in done.stdout
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "cjm" in imported and "typer" in imported  # the report lists every import
    assert sorted(imported & set(HEAVY)) == []
