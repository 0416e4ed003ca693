"""The drawn map: simplification, DOT text, and the SVG of both Graphviz programs."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import cjm
from cjm.errors import UsageError
from cjm.mapgraph import END, START, build_map
from cjm.render.dot import quote, to_dot
from cjm.render.graphviz import render
from tests.journey_logs import reachable, write_journeys

SPAGHETTI = {
    "a": ["Visit", "View", "Cart", "Buy"], "b": ["Visit", "View", "Cart", "Buy"],
    "c": ["Visit", "View", "Cart", "Buy"], "d": ["Visit", "Search", "View", "Cart"],
    "e": ["Visit", "Search", "Rare", "Buy"], "f": ["Visit", "Help", "Cart", "Buy"],
    "g": ["Visit", "View", "Help"],
}


@pytest.fixture
def journey_map(tmp_path):
    log = cjm.read_log(write_journeys(tmp_path / "log.csv", SPAGHETTI))
    yield cjm.discover(log, goals=["Buy"])
    log.close()


def test_full_map_has_every_transition_and_start_end_edges(journey_map):
    graph = build_map(journey_map)
    # One start edge (all begin at Visit), three end edges (Buy, Cart, Help).
    assert len(graph.edges) == len(journey_map.transitions) + 1 + 3
    assert graph.hidden_summary() is None
    assert {n.name for n in graph.nodes if n.goal} == {"Buy"}


@pytest.mark.parametrize("share", [0.1, 0.5, 0.8])
def test_paths_keeps_every_stage_connected(journey_map, share):
    graph = build_map(journey_map, paths=share)
    assert graph.hidden_edges > 0
    names = {n.name for n in graph.nodes}
    assert names <= reachable(graph.edges, START)
    assert names <= reachable(graph.edges, END, forward=False)
    # The strongest transition always stays.
    assert ("View", "Cart") in {(e.source, e.target) for e in graph.edges}


def test_min_count_hides_rare_transitions_but_not_connectivity(journey_map):
    graph = build_map(journey_map, min_count=2)
    kept = {(e.source, e.target) for e in graph.edges}
    assert ("Search", "Rare") in kept  # the only way to reach Rare
    assert ("Help", "Cart") not in kept or ("Visit", "Help") in kept


def test_stages_share_hides_stages_and_reconnects_journeys(tmp_path):
    """Leaving stages out counts the journeys again over those kept: from the log, which
    the journey map (plain data) does not hold."""
    with cjm.read_log(write_journeys(tmp_path / "log.csv", SPAGHETTI)) as log:
        journey_map = cjm.discover(log, goals=["Buy"])
        with pytest.raises(UsageError, match="Pass log="):
            build_map(journey_map, stages=0.9)
        graph = build_map(journey_map, stages=0.9, log=log)  # 24 of 26: Help and Rare go
    names = [n.name for n in graph.nodes]
    assert "Rare" not in names and "Rare" in graph.hidden_stages
    # Journey e was Visit → Search → Rare → Buy; without Rare, Search → Buy appears.
    assert ("Search", "Buy") in {(e.source, e.target) for e in graph.edges}
    assert "1 stage hidden by --stages" in graph.hidden_summary()


def test_maps_keeping_the_same_stages_share_one_recount(tmp_path):
    """Many maps of one log (the explorer's slider stops): the journeys are counted again
    once per set of stages kept, and each map is the one drawn without sharing."""
    with cjm.read_log(write_journeys(tmp_path / "log.csv", SPAGHETTI)) as log:
        journey_map = cjm.discover(log, goals=["Buy"])
        recounts: dict = {}
        for stages, paths in ((0.9, 0.5), (0.9, 1.0), (0.7, 0.5), (0.9, 0.8), (1.0, 0.5)):
            shared = build_map(journey_map, stages=stages, paths=paths, log=log,
                               recounts=recounts)
            alone = build_map(journey_map, stages=stages, paths=paths, log=log)
            assert to_dot(shared) == to_dot(alone)
        assert len(recounts) == 2  # 0.9 and 0.7 leave stages out; 1.0 keeps every one


def test_dot_is_deterministic_and_escapes_names(tmp_path):
    nasty = 'Say "hi" \\ <b>{x}|[y]</b>'
    path = write_journeys(tmp_path / "l.csv", {"a": ["Visit", "x"], "b": ["Visit"]})
    rows = [[nasty if cell == "x" else cell for cell in row]
            for row in csv.reader(path.read_text().splitlines())]
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    log = cjm.read_log(path)
    assert nasty in log.stage_names()
    jm = cjm.discover(log)
    dot = to_dot(build_map(jm))
    assert dot == to_dot(build_map(cjm.discover(log)))
    assert quote("stage:" + nasty) in dot
    assert "&lt;b&gt;{x}|[y]&lt;/b&gt;" in dot and "&quot;hi&quot;" in dot
    svg = render(dot, "svg", prefer_system=False).decode()
    titles = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}title")]
    # In a DOT id only \" is an escape, so the doubled backslash stays in the node's id;
    # the tooltip, an escString, shows the name itself.
    assert "stage:" + nasty.replace("\\", "\\\\") in titles
    assert 'xlink:title="Say &quot;hi&quot; \\ &lt;b&gt;{x}|[y]&lt;/b&gt;"' in svg
    log.close()


def _svg_parts(svg: bytes):
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    nodes, edges = set(), 0
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        kind = group.get("class")
        title = group.find("s:title", ns)
        if kind == "node" and not title.text.startswith("legend_"):
            nodes.add(title.text)
        elif kind == "edge":
            edges += 1
    return nodes, edges


@pytest.mark.parametrize("system", [False, pytest.param(True, marks=pytest.mark.system_dot)],
                         ids=["graphviz-pure", "system-dot"])
def test_svg_has_the_nodes_and_edges_of_the_map(journey_map, system):
    graph = build_map(journey_map)
    nodes, edges = _svg_parts(render(to_dot(graph), "svg", prefer_system=system))
    assert nodes == {"start", "end"} | {f"stage:{n.name}" for n in graph.nodes}
    assert graph.hidden_stages == []
    assert edges == len(graph.edges)


def test_png_is_a_png(journey_map):
    png = render(to_dot(build_map(journey_map)), "png", prefer_system=False)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def _assert_connected(graph) -> None:
    names = {n.name for n in graph.nodes}
    assert names <= reachable(graph.edges, START), "a stage cannot be reached from the start"
    assert names <= reachable(graph.edges, END, forward=False), "a stage cannot reach the end"


def test_two_way_edges_keep_the_direction_that_leads_out(tmp_path):
    # B -> C is rare and C -> B frequent; C's only way to the end is through B.
    journeys = {f"j{i}": ["A", "C", "B"] for i in range(5)}
    journeys |= {"k1": ["A", "B", "C", "B"], "k2": ["A", "B"], "k3": ["A", "B"]}
    log = cjm.read_log(write_journeys(tmp_path / "l.csv", journeys))
    graph = build_map(cjm.discover(log), paths=0.01)
    _assert_connected(graph)
    assert ("C", "B") in {(e.source, e.target) for e in graph.edges}
    log.close()


@pytest.mark.parametrize("name", ["sepsis.csv", "receipt.csv", "bpic2012.xes.gz"])
@pytest.mark.parametrize("share", [None, 0.2, 0.5])
def test_simplified_real_maps_stay_connected(name, share):
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / name).exists():
        pytest.skip(f"shared data not found at {shared} (needs ../shared/data beside the repo)")
    with cjm.read_log(shared / name) as log:
        _assert_connected(build_map(cjm.discover(log), paths=share))
