"""cjm.discover on hand-made logs whose answers are known, and on the shared real logs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import cjm
from cjm.errors import UsageError
from tests.journey_logs import write_journeys

SHARED = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def journeys_of(tmp_path):
    opened = []

    def make(journeys, extra=None, **kwargs):
        discover_kw = {k: kwargs.pop(k) for k in list(kwargs)
                       if k in ("goals", "use_outcome", "goal_share", "still_active",
                                "handoff_column")}
        log = cjm.read_log(write_journeys(tmp_path / "log.csv", journeys, extra, **kwargs))
        opened.append(log)
        return cjm.discover(log, **discover_kw)

    yield make
    for log in opened:
        log.close()


def test_stages_transitions_and_paths(journeys_of):
    jm = journeys_of({
        "a": ["Visit", "View", "Buy"],
        "b": ["Visit", "View", "View", "Leave"],
        "c": ["Visit", "Buy"],
    })
    stages = {s.name: (s.events, s.journeys, s.starts, s.ends) for s in jm.stages}
    assert stages == {"Visit": (3, 3, 3, 0), "View": (3, 2, 0, 0), "Buy": (2, 2, 0, 2),
                      "Leave": (1, 1, 0, 1)}
    edges = {(t.source, t.target): (t.count, t.journeys) for t in jm.transitions}
    assert edges == {("Visit", "View"): (2, 2), ("View", "Buy"): (1, 1),
                     ("View", "View"): (1, 1), ("View", "Leave"): (1, 1),
                     ("Visit", "Buy"): (1, 1)}
    visit_view = next(t for t in jm.transitions if (t.source, t.target) == ("Visit", "View"))
    assert visit_view.share == pytest.approx(2 / 3)
    assert visit_view.median_seconds == 600
    assert [p.journeys for p in jm.paths] == [1, 1, 1]
    assert [p.stages for p in jm.paths] == [  # ties: name order of the path key
        ("Visit", "Buy"), ("Visit", "View", "Buy"), ("Visit", "View", "View", "Leave")]
    assert jm.paths[-1].coverage == pytest.approx(1.0)
    assert [(t.source, t.count) for t in jm.self_loops] == [("View", 1)]
    assert [(r.stage, r.journeys, r.extra_visits) for r in jm.rework] == [("View", 1, 1)]
    assert jm.duration_median == 1200
    assert jm.events_per_journey == {"median": 3.0, "mean": 3.0, "max": 4}


def test_inferred_goal_and_dead_ends(journeys_of):
    # Buy: 4 journeys reach it, all end there (100% >= 80%), and it ends 4/6 journeys.
    jm = journeys_of({
        "a": ["Visit", "View", "Buy"], "b": ["Visit", "Buy"], "c": ["Visit", "View", "Buy"],
        "d": ["Visit", "Cart", "Buy"], "e": ["Visit", "View"], "f": ["Visit", "Cart"],
    })
    assert jm.goals.source == "inferred"
    assert jm.goals.stages == ("Buy",)
    assert jm.goal_journeys == 4
    assert jm.dead_end_journeys == 2
    assert jm.dead_end_rate == pytest.approx(2 / 6)
    dead = {d.stage: d for d in jm.dead_ends}
    assert set(dead) == {"View", "Cart"}
    assert dead["View"].share_of_reaching == pytest.approx(1 / 3)
    assert dead["Cart"].share_of_reaching == pytest.approx(1 / 2)
    assert dead["View"].share_of_dead_ends == pytest.approx(1 / 2)
    assert dead["View"].top_path == ("Visit", "View")


def test_goal_share_and_the_five_percent_rule(journeys_of):
    # Buy ends 3 of the 4 journeys reaching it (75%): a goal only with --goal-share 75%.
    logs = {"a": ["V", "Buy"], "b": ["V", "Buy"], "c": ["V", "Buy"],
            "d": ["V", "Buy", "Help", "V"], "e": ["V"]}
    assert journeys_of(logs).goals.source == "none"
    assert journeys_of(logs, goal_share=0.75).goals.stages == ("Buy",)


def test_no_goal_means_no_dead_end_rate(journeys_of):
    # V ends 1 of the 3 journeys reaching it, W 2 of 3: neither reaches 80%.
    jm = journeys_of({"a": ["V", "W"], "b": ["V", "W", "V"], "c": ["W", "V", "W"]})
    assert jm.goals.source == "none"
    assert jm.dead_end_rate is None
    assert jm.dead_ends == []


def test_reaching_a_goal_is_success_even_when_the_journey_goes_on(journeys_of):
    jm = journeys_of({"a": ["Visit", "Buy", "Help"], "b": ["Visit", "Help"],
                      "c": ["Visit", "Buy"]}, goals=["Buy"])
    assert jm.goals.source == "flag"
    assert jm.goal_journeys == 2
    assert [(d.stage, d.journeys) for d in jm.dead_ends] == [("Help", 1)]
    assert jm.dead_ends[0].top_path == ("Visit", "Help")
    # Two journeys reach Help, one of them dead-ends there.
    assert jm.dead_ends[0].share_of_reaching == pytest.approx(0.5)


def test_unknown_goal_is_a_usage_error(journeys_of):
    with pytest.raises(UsageError, match="Did you mean 'Buy'"):
        journeys_of({"a": ["Visit", "Buy"]}, goals=["buy"])


def test_outcome_column_marks_success(journeys_of):
    journeys = {"a": ["V", "Cart"], "b": ["V", "Cart"], "c": ["V"], "d": ["V", "Cart", "Pay"]}
    outcome = {"a": {"converted": "true"}, "b": {"converted": "false"},
               "c": {"converted": "no"}, "d": {"converted": "yes"}}
    jm = journeys_of(journeys, outcome)  # boolean outcome column found: used by default
    assert jm.goals.source == "outcome"
    assert jm.goals.outcome_column == "converted"
    assert jm.goal_journeys == 2
    assert sorted((d.stage, d.journeys) for d in jm.dead_ends) == [("Cart", 1), ("V", 1)]
    # Naming a goal stage overrides the outcome column.
    assert journeys_of(journeys, outcome, goals=["Pay"]).goal_journeys == 1


def test_numeric_outcome_is_not_used_as_success(journeys_of):
    jm = journeys_of({"a": ["V", "Buy"], "b": ["V"]}, {"a": {"nps": "9"}, "b": {"nps": "3"}})
    assert jm.goals.source != "outcome"


def test_still_active_journeys_are_open_not_dead_ends(journeys_of):
    # Journeys start a day apart; with 36h, the last two journeys (days 3 and 4) are open.
    jm = journeys_of({"a": ["V", "Buy"], "b": ["V"], "c": ["V"], "d": ["V", "Buy"],
                      "e": ["V"]}, goals=["Buy"], still_active=36 * 3600)
    assert jm.open_journeys == 1  # e (d reached the goal)
    assert jm.dead_end_journeys == 2
    assert jm.dead_end_rate == pytest.approx(2 / 4)


def test_handoffs_by_channel(journeys_of):
    jm = journeys_of({
        "a": [("Visit", "web"), ("Chat", "chat"), ("Call", "phone")],
        "b": [("Visit", "web"), ("Chat", "chat")],
        "c": [("Visit", "web"), ("View", "web")],
    })
    assert jm.handoff_column == "channel"
    assert [(h.source, h.target, h.count) for h in jm.handoffs] == [
        ("web", "chat", 2), ("chat", "phone", 1)]
    assert jm.handoff_count == 3
    visit_chat = next(t for t in jm.transitions if t.target == "Chat")
    assert visit_chat.handoffs == 2


def test_handoff_column_must_be_a_role(journeys_of):
    with pytest.raises(UsageError, match="handoff-column"):
        journeys_of({"a": [("V", "web")]}, handoff_column="nope")


def test_waits_median_mean_p90(journeys_of):
    jm = journeys_of({"a": ["A", "B"], "b": ["A", "B"], "c": ["A", "B"]},
                     step=timedelta(hours=1))
    edge = jm.transitions[0]
    assert (edge.median_seconds, edge.mean_seconds, edge.p90_seconds) == (3600, 3600, 3600)


REFERENCES = [
    ("receipt.csv", "receipt_csv", {}),
    ("receipt.xes.gz", "receipt_xes", {}),
    ("sepsis.csv", "sepsis", {}),
    ("roadtraffic100traces.csv", "roadtraffic100traces", {}),
    ("helpdesk.xes.gz", "helpdesk", {}),
    ("bpic2012.xes.gz", "bpic2012_complete", {}),
    ("bpic2012.xes.gz", "bpic2012_all_lifecycles", {"lifecycle": "all"}),
]


@pytest.mark.parametrize(("name", "reference", "options"), REFERENCES,
                         ids=[r[1] for r in REFERENCES])
def test_real_logs_match_the_reference_edge_for_edge(name, reference, options):
    if not (SHARED / name).exists():
        pytest.skip(f"shared data not found at {SHARED} (needs ../shared/data beside the repo)")
    expected = json.loads((SHARED / "reference" / f"{reference}.json").read_text())
    log = cjm.read_log(SHARED / name, **options)
    try:
        jm = cjm.discover(log)
        edges = {(t.source, t.target): t.count for t in jm.transitions}
        assert edges == {(e["from"], e["to"]): e["count"] for e in expected["dfg_all_edges"]}
        assert sum(edges.values()) == expected["dfg_total_arc_count"]
        assert {s.name: s.starts for s in jm.stages if s.starts} == expected["start_activities"]
        assert {s.name: s.ends for s in jm.stages if s.ends} == expected["end_activities"]
        assert jm.paths_total == expected["variants"]
        assert [{"variant": list(p.stages), "count": p.journeys} for p in jm.paths[:5]] == \
            expected["top5_variants"]
        assert (jm.journeys, jm.events) == (expected["cases"], expected["events"])
        durations = expected["case_duration_seconds"]
        assert jm.duration_median == pytest.approx(durations["median"], abs=1e-3)
        assert jm.duration_mean == pytest.approx(durations["mean"], rel=1e-9)
    finally:
        log.close()


def test_discover_keeps_the_ordered_journeys_alone_and_hand_offs_as_an_enum(tmp_path):
    # What discover() leaves in the engine is what later analyses read (seq, jrn): no
    # table of the visits; and seq holds stages and the hand-off column as ENUMs.
    with cjm.read_log(write_journeys(tmp_path / "log.csv", {
            "a": [("Visit", "web"), ("View", "app"), ("View", "app")],
            "b": [("Visit", "web"), ("Buy", "store")]})) as log:
        jm = cjm.discover(log)
        con = log.con
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {"seq", "jrn"} <= tables and not any("visit" in t for t in tables), tables
        kinds = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE table_name = 'seq'").fetchall())
        assert all(kinds[c].startswith("ENUM(")
                   for c in ("stage", "next_stage", "hand", "next_hand")), kinds
        assert {(h.source, h.target, h.count) for h in jm.handoffs} == {
            ("web", "app", 1), ("web", "store", 1)}


def test_the_rows_are_built_without_the_cycle_collector(read, monkeypatch):
    """discover() pauses Python's cycle collector while it fetches and builds the rows of
    the aggregates (each of its passes walks every object alive), and turns it on again."""
    import gc

    from cjm.bulk import no_cycle_collection
    from cjm.engine.duckdb.engine import DuckDBEngine

    collecting = []
    paths = DuckDBEngine.paths

    def spy(self):
        collecting.append(gc.isenabled())
        return paths(self)

    monkeypatch.setattr(DuckDBEngine, "paths", spy)
    log = read(Path(__file__).parents[1] / "examples" / "shop.csv")
    cjm.discover(log)
    assert collecting == [False] and gc.isenabled()
    gc.disable()
    try:  # a collector its caller had paused stays paused
        with no_cycle_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
