"""cjm check's engine: designs read from YAML, BPMN and PNML, deviations, fitness, precision."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import pytest

import cjm
from cjm.conformance import check, check_map, path_deviations
from cjm.design import load_design
from cjm.errors import CjmError, DataError, UsageError
from cjm.model import (
    PetriNet,
    alignment_fitness,
    discover_model,
    precision,
    read_net,
    replay,
    write_model,
)
from tests.journey_logs import write_journeys

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DESIGN = """\
name: Shop
stages:
  - Visit
  - {name: Search, optional: true, repeatable: true}
  - View
  - Cart
  - Buy
transitions:
  - [Cart, View]
goals: [Buy]
service_levels:
  - {from: Cart, to: Buy, max_wait: 15m}
"""


@pytest.fixture
def design(tmp_path):
    path = tmp_path / "design.yaml"
    path.write_text(DESIGN, encoding="utf-8")
    return load_design(path)


def test_yaml_design_reads_order_options_and_service_levels(design):
    assert list(design.stages) == ["Visit", "Search", "View", "Cart", "Buy"]
    assert design.stages["Search"].required is False and design.stages["Search"].repeatable
    assert design.allowed == {("Visit", "Search"), ("Visit", "View"), ("Search", "View"),
                              ("View", "Cart"), ("Cart", "Buy"), ("Search", "Search"),
                              ("Cart", "View")}
    assert design.starts == {"Visit"} and design.goals == {"Buy"}
    assert design.service_levels == {("Cart", "Buy"): 900.0}


@pytest.mark.parametrize(("path", "expected"), [
    (("Visit", "View", "Cart", "Buy"), set()),
    (("Visit", "Search", "Search", "View", "Cart", "View", "Cart", "Buy"), set()),
    (("Visit", "Cart", "Buy"), {("skipped", "View"), ("not_allowed", "Visit → Cart")}),
    (("Visit", "Chat", "View", "Cart", "Buy"), {("not_in_design", "Chat")}),
    (("View", "Cart", "Buy"), {("not_allowed", "● → View"), ("skipped", "Visit")}),
    # View may come back through Cart → View, but not straight after itself.
    (("Visit", "View", "View", "Cart", "Buy"), {("not_allowed", "View → View")}),
    (("Visit", "View", "Cart", "Buy", "Buy"),
     {("repeated", "Buy"), ("not_allowed", "Buy → Buy")}),
    (("Visit", "View", "Cart"), {("ended_early", "Cart")}),
    (("Visit", "View", "Cart", "Buy", "Visit"),
     {("repeated", "Visit"), ("not_allowed", "Buy → Visit")}),
])
def test_each_deviation_kind(design, path, expected):
    assert path_deviations(path, design) == expected


@pytest.fixture
def shop(tmp_path):
    journeys = {
        "a": ["Visit", "View", "Cart", "Buy"],       # conforms
        "b": ["Visit", "View", "Cart", "Buy"],       # conforms, but Cart → Buy is slow
        "c": ["Visit", "Cart", "Buy"],               # View skipped, Visit → Cart not allowed
        "d": ["Visit", "Chat", "View", "Cart", "Buy"],  # Chat not in the design
        "e": ["Visit", "View"],                      # ended before the goal
        "f": ["Visit", "View"],                      # ended before the goal
    }
    path = write_journeys(tmp_path / "shop.csv", journeys)
    # Journey b's Cart → Buy waits 20 minutes (the service level is 15), not 10.
    rows = path.read_text().splitlines()
    (slow,) = [i for i, row in enumerate(rows) if row.startswith("b,Buy,")]
    assert rows[slow].endswith("T09:30:00Z")
    rows[slow] = rows[slow].replace("T09:30:00Z", "T09:40:00Z")
    path.write_text("\n".join(rows) + "\n")
    log = cjm.read_log(path)
    yield log
    log.close()


def test_check_counts_journeys_per_deviation(shop, design):
    jm = cjm.discover(shop, goals=["Buy"])
    result = check(jm, design, log=shop)
    assert result.journeys == 6
    assert result.conforming == 1  # a (b breaches the service level)
    found = {(d.kind, d.detail): (d.journeys, d.examples) for d in result.deviations}
    assert found == {
        ("ended_early", "View"): (2, ("e", "f")),
        ("skipped", "View"): (1, ("c",)),
        ("not_allowed", "Visit → Cart"): (1, ("c",)),
        ("not_in_design", "Chat"): (1, ("d",)),
        ("slow", "Cart → Buy"): (1, ("b",)),
    }
    assert result.deviations[0].kind == "ended_early"  # most journeys first
    assert result.unused_stages == ["Search"]
    assert result.missing_stages == [("Chat", 1)]
    assert ("Cart", "View") in result.unused_transitions
    assert result.deviation_rate == pytest.approx(5 / 6)
    verdicts = {j: found for j, _, found in result.journey_verdicts(shop)}
    assert verdicts["a"] == []
    assert verdicts["b"] == ["service level breached: Cart → Buy"]
    assert sum(1 for found in verdicts.values() if not found) == result.conforming


def test_check_map_marks_deviations_and_unused_design(shop, design):
    result = check(cjm.discover(shop, goals=["Buy"]), design, log=shop)
    graph = check_map(result)
    status = {n.name: n.status for n in graph.nodes}
    assert status["Chat"] == "deviation" and status["Search"] == "unused"
    edges = {(e.source, e.target): e.status for e in graph.edges}
    assert edges[("Visit", "Cart")] == "deviation"
    assert edges[("Cart", "View")] == "unused"
    assert edges[("View", "Cart")] == ""


def _pm4py_frame(log):
    """The whole event log as pm4py reads it: every journey, not one path at a time."""
    import pm4py

    return pm4py.format_dataframe(
        log.to_pandas().rename(columns={"journey": "case:concept:name"}),
        case_id="case:concept:name", activity_key="stage", timestamp_key="ts")


def _pm4py_scores(log, net):
    import pm4py

    frame = _pm4py_frame(log)
    fitness = pm4py.fitness_token_based_replay(frame, net.net, net.initial, net.final)
    return fitness["log_fitness"], pm4py.precision_token_based_replay(
        frame, net.net, net.initial, net.final)


def test_weighted_replay_equals_pm4py_on_the_full_log(shop, design):
    jm = cjm.discover(shop)
    weighted = [(p.stages, p.journeys) for p in jm.paths]
    net = design.petri_net()
    fitness, prec = _pm4py_scores(shop, net)
    assert replay(net, weighted).fitness == pytest.approx(fitness, abs=1e-12)
    assert precision(net, weighted) == pytest.approx(prec, abs=1e-12)
    assert check(jm, design, log=shop).fitness == pytest.approx(fitness, abs=1e-12)


@pytest.mark.parametrize("name", ["roadtraffic100traces.csv", "receipt.csv"])
def test_weighted_replay_equals_pm4py_on_real_logs(name):
    if not (SHARED / name).exists():
        pytest.skip(f"shared data not found at {SHARED} (needs ../shared/data beside the repo)")
    with cjm.read_log(SHARED / name) as log:
        jm = cjm.discover(log)
        weighted = [(p.stages, p.journeys) for p in jm.paths]
        net = discover_model(weighted, noise=0.2).petri_net()
        fitness, prec = _pm4py_scores(log, net)
        assert replay(net, weighted).fitness == pytest.approx(fitness, abs=1e-12)
        assert precision(net, weighted) == pytest.approx(prec, abs=1e-12)


def _paths_frame(paths):
    """A log for pm4py that holds each path as often as it has journeys, in case order."""
    import pandas as pd

    rows = [(f"j{n:03}_{copy:03}", stage, pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=i))
            for n, (stages, journeys) in enumerate(paths) for copy in range(journeys)
            for i, stage in enumerate(stages)]
    return pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp"])


def _pm4py_precision(paths, net) -> float:
    import pm4py

    return pm4py.precision_token_based_replay(_paths_frame(paths), net.net, net.initial,
                                              net.final)


def _tree_net(text: str):
    import pm4py

    return PetriNet(*pm4py.convert_to_petri_net(pm4py.parse_process_tree(text)))


# Silent transitions (a loop's redo, a skip), parallel branches and a label on two transitions.
TREES = {
    "loop, skip and parallel": "->('a', *(X('b', 'c'), tau), +('d', 'e'), X('f', tau))",
    "label on two transitions": "->('a', X(->('b', 'c'), ->('b', 'd')), *('e', tau))",
    "nested loops": "*(->('a', *('b', ->('c', tau))), X('d', tau))",
}
PATHS = [
    (("a", "b", "d", "e", "f"), 5), (("a", "c", "b", "e", "d"), 3), (("a", "b", "c"), 2),
    (("a", "d", "e"), 4),  # the loop skipped: a silent transition walks past it
    (("a", "f"), 2),  # does not fit: the replay of its prefixes stops
    (("a", "zz", "b", "d", "e"), 1),  # a stage the net lacks is passed over
    (("a", "d,e", "f"), 1),  # pm4py splits a prefix at commas: "d,e" replays as d then e
    (("b", "a", "c", "d"), 1), (("a", "b", "d", "b", "e"), 2), (("a",), 3),
    (("a", "c", "e", "a", "b", "d", "e", "c"), 1),
]


@pytest.mark.parametrize("tree", sorted(TREES))
def test_precision_is_pm4pys_on_nets_with_silent_transitions_and_loops(tree):
    net = _tree_net(TREES[tree])
    assert precision(net, PATHS) == _pm4py_precision(PATHS, net)


@pytest.mark.parametrize("tree", sorted(TREES))
def test_replay_is_pm4pys_on_nets_with_silent_transitions_and_loops(tree):
    import pm4py

    net = _tree_net(TREES[tree])
    paths = [*PATHS, (("a", "b", "d", "e", "f", "f"), 1), (("e", "d"), 1),  # tokens left over
             (("a", "b"), 2), (("a", "b", "c", "b", "d", "a", "b"), 1)]
    frame = _paths_frame(paths)
    replayed = replay(net, paths)
    assert replayed.fitness == pm4py.fitness_token_based_replay(
        frame, net.net, net.initial, net.final)["log_fitness"]
    one_each = _paths_frame([(stages, 1) for stages, _ in paths])
    diagnostics = pm4py.conformance_diagnostics_token_based_replay(
        one_each, net.net, net.initial, net.final)
    assert [replayed.path_fitness[stages] for stages, _ in paths] == [
        d["trace_fitness"] for d in diagnostics]
    assert [replayed.path_fits[stages] for stages, _ in paths] == [
        d["trace_is_fit"] for d in diagnostics]


def test_precision_is_pm4pys_on_the_shop_example():
    with cjm.read_log(Path(__file__).parents[1] / "examples" / "shop.csv") as log:
        jm = cjm.discover(log)
        weighted = [(p.stages, p.journeys) for p in jm.paths]
        frame = _pm4py_frame(log)
    import pm4py

    for net in (load_design(Path(__file__).parents[1] / "examples" / "designed-journey.yaml")
                .petri_net(), discover_model(weighted, noise=0.2).petri_net()):
        assert precision(net, weighted) == pm4py.precision_token_based_replay(
            frame, net.net, net.initial, net.final)


@pytest.mark.parametrize("name", ["helpdesk.xes.gz"])  # larger: benchmarks/bench_replay.py
def test_precision_is_pm4pys_on_real_logs(name):
    if not (SHARED / name).exists():
        pytest.skip(f"shared data not found at {SHARED} (needs ../shared/data beside the repo)")
    import pm4py

    with cjm.read_log(SHARED / name) as log:
        weighted = [(p.stages, p.journeys) for p in cjm.discover(log).paths]
        net = discover_model(weighted, noise=0.2).petri_net()
        assert precision(net, weighted) == pm4py.precision_token_based_replay(
            _pm4py_frame(log), net.net, net.initial, net.final)


@pytest.fixture
def receipt():
    """The shared receipt log, its journey map and its weighted paths."""
    if not (SHARED / "receipt.csv").exists():
        pytest.skip(f"shared data not found at {SHARED} (needs ../shared/data beside the repo)")
    with cjm.read_log(SHARED / "receipt.csv") as log:
        jm = cjm.discover(log)
        yield log, jm, [(p.stages, p.journeys) for p in jm.paths]


def test_receipt_model_round_trips_through_bpmn_and_pnml(tmp_path, receipt):
    log, jm, weighted = receipt
    model = discover_model(weighted, noise=0.0)  # no noise: every path fits the tree
    assert alignment_fitness(model.petri_net(), weighted[:10]) == pytest.approx(1.0)
    for suffix in (".bpmn", ".pnml"):
        write_model(model, tmp_path / f"receipt{suffix}")
        net = read_net(tmp_path / f"receipt{suffix}")
        fitness, _ = _pm4py_scores(log, net)
        result = check(jm, load_design(tmp_path / f"receipt{suffix}"), log=log)
        assert result.fitness == pytest.approx(fitness, abs=1e-12)
        assert result.fitness > 0.999
    assert {s.name for s in jm.stages} == set(load_design(tmp_path / "receipt.bpmn").stages)


def test_exact_fitness_equals_pm4py_alignments_on_the_full_log(shop, design):
    import pm4py

    result = check(cjm.discover(shop), design, log=shop, exact=True)
    assert result.exact_paths == 4 and not result.notes
    frame = _pm4py_frame(shop)
    net = design.petri_net()
    from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments

    log = pm4py.convert_to_event_log(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        fitness = [alignments.apply_trace(trace, net.net, net.initial, net.final)["fitness"]
                   for trace in log]  # every journey, one by one
    expected = sum(fitness) / len(fitness)
    assert result.exact_fitness == pytest.approx(expected, abs=1e-12)
    capped = check(cjm.discover(shop), design, log=shop, exact=True, max_paths=1)
    assert capped.exact_paths == 1
    assert capped.notes == ["exact fitness from the 1 most frequent paths (33.3% of journeys); "
                            "--max-paths changes that"]


@pytest.mark.parametrize(("text", "error", "fragment"), [
    ("stages: [a, b\n", DataError, ":2: not valid YAML"),  # where the parser gives up
    ("- a\n- b\n", DataError, "a design is a mapping"),
    ("name: x\n", DataError, "lists no 'stages'"),
    ("stages: [a, b]\ngoals: [c]\n", DataError, ":2: goals 'c' is not one of the stages"),
    ("stages: [a, b]\nstart: [A]\n", DataError, "Did you mean 'a'?"),
    ("stages: [a, b]\nstagez: []\n", DataError, ":2: unknown key 'stagez'"),
    ("stages:\n  - a\n  - {name: b, optional: maybe}\n", DataError, ":3: 'optional' must be"),
    ("stages: [a, a]\n", DataError, "listed twice"),
    ("stages: [a, b]\ntransitions:\n  - {from: a, to: b, max_wait: soon}\n", DataError,
     ":3: max_wait"),
    ("stages: [a, b]\nservice_levels:\n  - [a, b]\n", DataError, "needs max_wait"),
])
def test_malformed_yaml_designs(tmp_path, text, error, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as caught:
        load_design(path)
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(("name", "content", "error"), [
    ("missing.yaml", None, UsageError),
    ("design.txt", "stages: [a]", UsageError),
    ("broken.bpmn", "<definitions><process", DataError),
    ("broken.pnml", "not xml at all", DataError),
])
def test_unreadable_design_files(tmp_path, name, content, error):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(error) as caught:
        load_design(path)
    assert isinstance(caught.value, CjmError) and str(path) in str(caught.value)


def test_discovered_model_files(tmp_path, shop):
    weighted = [(p.stages, p.journeys) for p in cjm.discover(shop).paths]
    model = discover_model(weighted, noise=0.2)
    for suffix, magic in ((".bpmn", b"<?xml"), (".pnml", b"<?xml"), (".ptml", b"<?xml"),
                          (".svg", b"<?xml"), (".png", b"\x89PNG"), (".dot", b"digraph")):
        write_model(model, tmp_path / f"m{suffix}")
        assert (tmp_path / f"m{suffix}").read_bytes().startswith(magic)
    first = (tmp_path / "m.dot").read_text()
    write_model(discover_model(weighted, noise=0.2), tmp_path / "again.dot")
    assert (tmp_path / "again.dot").read_text() == first  # node ids are not memory addresses
    assert not list(tmp_path.glob(".*tmp*"))
    with pytest.raises(UsageError, match="cannot tell the model format"):
        write_model(model, tmp_path / "m.gif")


def test_model_noise_bounds():
    with pytest.raises(UsageError):
        discover_model([(("a",), 1)], noise=1.5)


def test_wait_step(tmp_path):
    # A quick sanity check of the fixture helper the tests above rely on.
    path = write_journeys(tmp_path / "l.csv", {"x": ["A", "B"]}, step=timedelta(minutes=5))
    assert "2024-01-01T09:05:00Z" in path.read_text()


def test_journeys_conforming_to_a_model_are_those_pm4py_finds_fit(tmp_path, receipt):
    import pm4py

    log, jm, weighted = receipt
    write_model(discover_model(weighted, noise=0.2), tmp_path / "m.bpmn")
    design = load_design(tmp_path / "m.bpmn")
    frame = _pm4py_frame(log)
    net = design.petri_net()
    fit = pm4py.conformance_diagnostics_token_based_replay(frame, net.net, net.initial,
                                                            net.final)
    result = check(jm, design, log=log)
    assert result.conforming == sum(1 for t in fit if t["trace_is_fit"])
    assert sum(1 for _, ok, _ in result.journey_verdicts(log) if ok) == result.conforming


def test_model_drawing_keeps_long_numbers_in_stage_names(tmp_path):
    path = write_journeys(tmp_path / "n.csv", {"a": ["Call 0800123456", "Buy"],
                                               "b": ["Call 0800123456", "Buy"]})
    with cjm.read_log(path) as log:
        weighted = [(p.stages, p.journeys) for p in cjm.discover(log).paths]
        write_model(discover_model(weighted), tmp_path / "m.dot")
        assert "Call 0800123456" in (tmp_path / "m.dot").read_text()


def test_exact_deviations_from_alignments(shop, design):
    result = check(cjm.discover(shop), design, log=shop, exact=True)
    found = {(d.kind, d.detail): (d.journeys, d.examples) for d in result.exact_deviations}
    # c skips View (a model move); d's Chat is a log move; e and f stop before Cart and Buy.
    assert found[("model", "View")] == (1, ("c",))
    assert found[("log", "Chat")] == (1, ("d",))
    assert found[("model", "Cart")] == (2, ("e", "f"))
    assert found[("model", "Buy")] == (2, ("e", "f"))
    assert ("model", "Visit") not in found


def test_check_map_marks_breached_service_levels(shop, design):
    graph = check_map(check(cjm.discover(shop, goals=["Buy"]), design, log=shop))
    edges = {(e.source, e.target): e.status for e in graph.edges}
    assert edges[("Cart", "Buy")] == "deviation"  # b waited 20 minutes, the limit is 15


def test_a_service_level_between_stages_never_adjacent_is_warned_at_load(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("stages: [Visit, View, Cart, Buy]\nservice_levels:\n"
                    "  - {from: Cart, to: Buy, max_wait: 1h}\n"
                    "  - {from: Visit, to: Buy, max_wait: 2d}\n", encoding="utf-8")
    design = load_design(path)
    assert design.warnings == [
        f"{path}:4: service level Visit → Buy can only time journeys that break the design: "
        "it never has Buy directly after Visit, and only directly consecutive events are timed"]
    assert load_design(tmp_path / "d.yaml").service_levels == {("Cart", "Buy"): 3600.0,
                                                               ("Visit", "Buy"): 172800.0}


def test_check_notes_service_levels_the_log_never_has_and_design_stage_typos(tmp_path):
    journeys = {"a": ["Visit", "delivery_choice", "Pay"], "b": ["Visit", "Pay"]}
    path = tmp_path / "d.yaml"
    path.write_text("stages: [Visit, {name: delivery_choise, optional: true}, Pay, "
                    "{name: Review, optional: true}]\ngoals: [Pay]\nservice_levels:\n"
                    "  - {from: Pay, to: Review, max_wait: 1d}\n"
                    "  - {from: Visit, to: Pay, max_wait: 1d}\n", encoding="utf-8")
    design = load_design(path)
    assert design.warnings == []  # both are designed transitions
    with cjm.read_log(write_journeys(tmp_path / "l.csv", journeys)) as log:
        result = check(cjm.discover(log, goals=["Pay"], infer_goals=False), design, log=log)
    assert result.notes == [
        "design stage 'delivery_choise' never occurs in the log. Did you mean "
        "'delivery_choice'?",
        "service level Pay → Review: no journey has Review directly after Pay, so it timed "
        "nothing",
    ]
