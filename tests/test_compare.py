"""cjm compare: the statistics against scipy, and comparisons with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cjm
from cjm.cli import app
from cjm.compare import compare, compare_map, holm, two_proportion_p
from cjm.errors import UsageError
from cjm.segments import by_period, by_segment, period_labels
from tests.journey_logs import write_journeys

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [
    (30, 100, 45, 100), (5, 40, 9, 41), (120, 1000, 150, 1100), (0, 50, 6, 50)])
def test_two_proportion_test_equals_scipy(x1, n1, x2, n2):
    from scipy.stats import chi2_contingency

    table = [[x1, n1 - x1], [x2, n2 - x2]]
    expected = chi2_contingency(table, correction=False)[1]  # the same test, squared
    assert two_proportion_p(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9)


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def _log(tmp_path, name, journeys, extra=None):
    return cjm.read_log(write_journeys(tmp_path / name, journeys, extra))


def test_compare_two_logs_with_known_shares(tmp_path):
    # A: 60 of 100 Cart → Buy; B: 30 of 100. New path Visit → Help in B (25 journeys).
    a = {f"a{i}": ["Visit", "Cart", "Buy" if i < 60 else "Leave"] for i in range(100)}
    b = {f"b{i}": ["Visit", "Cart", "Buy" if i < 30 else "Leave"] for i in range(100)}
    b |= {f"h{i}": ["Visit", "Help"] for i in range(25)}
    with _log(tmp_path, "a.csv", a) as la, _log(tmp_path, "b.csv", b) as lb:
        ja = cjm.discover(la, goals=["Buy"])
        jb = cjm.discover(lb, goals=["Buy"])
        result = compare(ja, jb, "A", "B")
        changes = {t.key: t for t in result.transitions}
        buy = changes[("Cart", "Buy")]
        assert (buy.count_a, buy.total_a, buy.count_b, buy.total_b) == (60, 100, 30, 100)
        assert buy.change == pytest.approx(-0.3)
        assert buy.significant()
        # Help also takes a share of Visit's traffic from Cart: 100% → 80%.
        assert {("Cart", "Buy"), ("Cart", "Leave"), ("Visit", "Help"), ("Visit", "Cart")} == \
            {t.key for t in result.significant}
        assert [t.key for t in result.new_transitions] == [("Visit", "Help")]
        assert result.new_paths == [(("Visit", "Help"), 25)]
        assert result.vanished_paths == []
        assert result.goal_rate.share_a == pytest.approx(0.6)
        assert result.goal_rate.share_b == pytest.approx(30 / 125)
        graph = compare_map(result)
        edge = next(e for e in graph.edges if (e.source, e.target) == ("Cart", "Buy"))
        assert edge.count == 90 and edge.significant and edge.change == pytest.approx(-0.3)


def test_small_counts_are_not_tested(tmp_path):
    a = {"a1": ["V", "X"], "a2": ["V", "Y"]}
    b = {"b1": ["V", "X"], "b2": ["V", "X"]}
    with _log(tmp_path, "a.csv", a) as la, _log(tmp_path, "b.csv", b) as lb:
        result = compare(cjm.discover(la), cjm.discover(lb))
        assert all(t.p_value is None for t in result.transitions)
        assert result.significant == []


AWKWARD = ["vip / gold", "neu ünïcode", "a b"]


def test_segments_with_awkward_names(tmp_path):
    journeys = {f"j{i}": ["Visit", "Buy" if i % 2 else "Leave"] for i in range(30)}
    extra = {f"j{i}": {"segment": AWKWARD[i % 3]} for i in range(30)}
    with _log(tmp_path, "s.csv", journeys, extra) as log:
        parts = by_segment(log, "segment", values=["vip / gold", "neu ünïcode"])
        assert [p.label for p in parts] == ["segment = vip / gold", "segment = neu ünïcode"]
        assert [p.journeys for p in parts] == [10, 10]
        rest = by_segment(log, "segment", top=1)
        assert [p.journeys for p in rest] == [10, 20]
        assert rest[1].label == "segment = other"
        with pytest.raises(UsageError, match="no journeys with 'gold'"):
            by_segment(log, "segment", values=["gold"])
        with pytest.raises(UsageError, match="not a mapped role"):
            by_segment(log, "device")


def test_periods_by_first_event(tmp_path):
    journeys = {f"j{i}": ["Visit", "Buy"] for i in range(40)}  # one a day from 2024-01-01
    with _log(tmp_path, "p.csv", journeys) as log:
        assert period_labels(log, "month") == ["2024-01", "2024-02"]
        assert [p.journeys for p in by_period(log, "month")] == [31, 9]
        assert period_labels(log, "week")[:2] == ["2024-W01", "2024-W02"]
        assert period_labels(log, "quarter") == ["2024-Q1"]
        with pytest.raises(UsageError, match="--period"):
            period_labels(log, "fortnight")


def test_compare_cli_by_segment_and_period(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journeys = {f"j{i}": ["Visit", "Cart", "Buy" if i % 3 else "Leave"] for i in range(60)}
    extra = {f"j{i}": {"segment": AWKWARD[i % 3]} for i in range(60)}
    write_journeys(tmp_path / "s.csv", journeys, extra)
    result = CliRunner().invoke(app, ["compare", "s.csv", "--by", "segment", "--values",
                                      "vip / gold,a b", "--json", "c.json", "-o", "d.svg"],
                                env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(Path("c.json").read_text())
    assert data["schema"] == "cjm.compare/1"
    assert (data["a"]["label"], data["b"]["label"]) == ("segment = vip / gold",
                                                        "segment = a b")
    assert Path("d.svg").read_text().startswith("<?xml")
    result = CliRunner().invoke(app, ["compare", "s.csv", "--period", "month", "--json", "-"],
                                env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["a"]["label"], data["b"]["label"]) == ("2024-01", "2024-02")
    assert (data["a"]["journeys"], data["b"]["journeys"]) == (31, 29)


@pytest.mark.parametrize(("args", "message"), [
    (["s.csv"], "give two logs"),
    (["s.csv", "--by", "segment"], "--by needs --values"),
    # ... and names the values there are to pick, with their journeys.
    (["s.csv", "--by", "segment"], "Values (journeys): x (30), y (10)"),
    (["s.csv", "--by", "segment", "--values", "a"], "exactly two values"),
    (["s.csv", "--period", "year"], "covers one year only"),
    (["s.csv", "--period", "month", "--values", "2023-01,2024-01"], "no journey starts in"),
    (["s.csv", "--by", "segment", "--period", "month"], "not both"),
    # --where's own errors name --where, not --by or --values, which were not given.
    (["s.csv", "--where", "segment=nope", "--period", "month"],
     "--where: segment has no journeys with 'nope'"),
    (["s.csv", "--where", "device=x", "--period", "month"],
     "--where: 'device' is not a mapped role"),
])
def test_compare_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_journeys(tmp_path / "s.csv", {f"j{i}": ["V", "W"] for i in range(40)},
                   {f"j{i}": {"segment": "x" if i < 30 else "y"} for i in range(40)})
    result = CliRunner().invoke(app, ["compare", *args, "--no-map"], env=ENV)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_compare_periods_within_a_segment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # One journey a day from 2024-01-01; every third is vip.
    journeys = {f"j{i:02d}": ["Visit", "Buy" if i % 2 else "Leave"] for i in range(60)}
    extra = {f"j{i:02d}": {"segment": "vip" if i % 3 == 0 else "new"} for i in range(60)}
    write_journeys(tmp_path / "s.csv", journeys, extra)
    result = CliRunner().invoke(app, ["compare", "s.csv", "--where", "segment=vip", "--period",
                                      "month", "--json", "-"], env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # 60 days from 2024-01-01: the vip ones are Jan 1, 4, … 31 (11) and Feb 3, 6, … 27 (9).
    assert (data["a"]["label"], data["a"]["journeys"]) == ("segment = vip, 2024-01", 11)
    assert (data["b"]["label"], data["b"]["journeys"]) == ("segment = vip, 2024-02", 9)
    bad = CliRunner().invoke(app, ["compare", "s.csv", "--where", "segment", "--period",
                                   "month"], env=ENV)
    assert bad.exit_code == 2 and "ROLE=VALUE" in bad.output


@pytest.mark.parametrize(("args", "shown", "goals"), [
    ([], "goal rate (reaching Buy; inferred on A):",
     {"stages": ["Buy"], "source": "inferred", "outcome_column": None}),
    (["--goal", "Cart"], "goal rate (reaching Cart):",
     {"stages": ["Cart"], "source": "flag", "outcome_column": None}),
    (["--outcome", "paid"], "goal rate (paid is true):",
     {"stages": [], "source": "outcome", "outcome_column": "paid"}),
])
def test_compare_names_the_goals_of_its_goal_rate(tmp_path, monkeypatch, args, shown, goals):
    # A goal rate is only a claim a reader can check when it says what the goal is: the whole
    # log may have other goals (or none) than those decided on A.
    monkeypatch.chdir(tmp_path)
    journeys = {f"j{i:02d}": ["Visit", "Cart", "Buy"] if i % 3 else ["Visit", "Cart"]
                for i in range(60)}
    extra = {f"j{i:02d}": {"paid": "true" if i % 3 else "false"} for i in range(60)}
    write_journeys(tmp_path / "s.csv", journeys, extra)
    common = ["compare", "s.csv", "--period", "month", "--no-map", *args]
    result = CliRunner().invoke(app, common, env=ENV)
    assert result.exit_code == 0, result.output
    assert shown in result.output
    data = json.loads(CliRunner().invoke(app, [*common, "--json", "-"], env=ENV).stdout)
    assert data["goals"] == goals


def test_compare_summary_and_json_say_what_the_map_hides(tmp_path, monkeypatch):
    # The difference map is simplified as `cjm discover`'s is; its summary and JSON say so.
    monkeypatch.chdir(tmp_path)
    log = str(Path(__file__).resolve().parents[1] / "examples" / "shop.csv")
    args = ("compare", log, "--by", "segment", "--values", "vip,new", "--paths", "80%",
            "--no-map")
    data = json.loads(CliRunner().invoke(app, [*args, "--json", "-"], env=ENV).stdout)
    hidden = data["map"]["hidden_transitions"]
    assert hidden > 0
    shown = hidden + data["map"]["transitions_shown"]
    result = CliRunner().invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    assert f"Map: {hidden} of {shown} map edges hidden" in " ".join(result.stdout.split())


def test_compare_two_logs_when_b_lacks_a_goal_outcome_column(tmp_path, monkeypatch):
    # A's goal is its outcome column; B has none. The error names B and the way out, rather
    # than "the log has no outcome column" about a log the reader cannot tell.
    monkeypatch.chdir(tmp_path)
    journeys = {f"j{i}": ["Visit", "Buy"] for i in range(30)}
    write_journeys(tmp_path / "a.csv", journeys, {j: {"converted": "true"} for j in journeys})
    write_journeys(tmp_path / "b.csv", journeys)
    result = CliRunner().invoke(app, ["compare", "a.csv", "b.csv", "--no-map"], env=ENV)
    assert result.exit_code == 2, result.output
    assert "B b.csv has no outcome column, which A's goal rate counts (converted)" in \
        " ".join(result.output.split())
    assert "--goal STAGE" in result.output


def test_compare_lists_cut_at_top_say_how_many_more(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = {f"a{i}": ["Visit", "Cart"] for i in range(50)}
    b = {f"b{i}": ["Visit", "Cart"] for i in range(50)}
    b |= {f"h{i}": ["Visit", "Help"] for i in range(25)}
    b |= {f"c{i}": ["Visit", "Chat"] for i in range(30)}
    write_journeys(tmp_path / "a.csv", a)
    write_journeys(tmp_path / "b.csv", b)
    result = CliRunner().invoke(app, ["compare", "a.csv", "b.csv", "--no-map", "--top", "1"],
                                env=ENV)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "New transitions: Visit → Chat (30), … 1 more" in text
