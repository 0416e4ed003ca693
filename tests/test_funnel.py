"""Funnels on hand-made logs whose answers are known."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cjm
from cjm.cli import app
from cjm.errors import UsageError
from cjm.funnel import END, funnel, parse_steps
from tests.journey_logs import write_journeys

JOURNEYS = {
    "a": ["View", "Cart", "Pay"],          # all three, in order
    "b": ["View", "Cart", "Help"],         # drops before Pay: went to Help
    "c": ["View", "Search"],               # drops before Cart: went to Search
    "d": ["View"],                         # drops before Cart: journey ended
    "e": ["Cart", "View", "Pay"],          # Cart before View: strict misses Cart
    "f": ["Search", "Cart"],               # never views: not in the funnel
}


@pytest.fixture
def log(tmp_path):
    with cjm.read_log(write_journeys(tmp_path / "f.csv", JOURNEYS)) as opened:
        yield opened


def test_strict_funnel(log):
    result = funnel(log, ["View", "Cart", "Pay"])
    assert [(s.stage, s.journeys, s.dropped) for s in result.steps] == [
        ("View", 5, 0), ("Cart", 2, 3), ("Pay", 1, 1)]
    assert result.steps[1].step_conversion == pytest.approx(2 / 5)
    assert result.steps[2].overall_conversion == pytest.approx(1 / 5)
    assert result.conversion == pytest.approx(1 / 5)
    # View → Cart is 10 minutes apart in a and b; where c, d and e went after View:
    assert result.steps[1].median_seconds == 600
    assert result.steps[1].went_instead == (("Pay", 1), ("Search", 1), (END, 1))
    assert result.steps[2].went_instead == (("Help", 1),)


def test_any_order_funnel(log):
    result = funnel(log, ["View", "Cart", "Pay"], order="any")
    # e has all three in another order; f never views.
    assert [s.journeys for s in result.steps] == [5, 3, 2]
    # a and b: Cart 10 minutes after View; e: 10 minutes before it. Time apart, unsigned.
    assert result.steps[1].median_seconds == 600


def test_window_from_the_first_step(tmp_path):
    path = write_journeys(tmp_path / "w.csv", {"a": ["View", "Cart", "Pay"]},
                          step=timedelta(days=4))
    with cjm.read_log(path) as log:
        assert [s.journeys for s in funnel(log, ["View", "Cart", "Pay"],
                                           within=7 * 86400).steps] == [1, 1, 0]
        assert [s.journeys for s in funnel(log, ["View", "Cart", "Pay"],
                                           within=8 * 86400).steps] == [1, 1, 1]


def test_a_step_may_accept_any_of_several_stages(log):
    """Cart|Search: b's Cart and c's Search both make step 2; where the others went is
    counted from their first event at any of the step's stages."""
    result = funnel(log, ["View", ("Cart", "Search"), "Pay"])
    assert [(s.stage, s.stages, s.journeys, s.dropped) for s in result.steps] == [
        ("View", ("View",), 5, 0), ("Cart|Search", ("Cart", "Search"), 3, 2),
        ("Pay", ("Pay",), 1, 2)]
    # d ended after View; e went from View to Pay; after step 2, b went to Help, c ended.
    assert result.steps[1].went_instead == (("Pay", 1), (END, 1))
    assert result.steps[2].went_instead == (("Help", 1), (END, 1))


def test_steps_as_the_command_line_writes_them():
    assert parse_steps("cart, courier|pickup ,paid,") == [
        ("cart",), ("courier", "pickup"), ("paid",)]


@pytest.mark.parametrize(("steps", "options", "message"), [
    (["View"], {}, "at least two stages"),
    (["View", "View"], {}, "once in a funnel"),
    (["View", ("Cart", "View")], {}, "once in a funnel"),
    (["View", ("Cart", "Nope")], {}, "no stage 'Nope'"),
    (["View", ()], {}, "at least two stages"),
    (["View", "cart"], {}, "Did you mean 'Cart'"),
    (["View", "Cart"], {"order": "loose"}, "--order"),
])
def test_funnel_usage_errors(log, steps, options, message):
    with pytest.raises(UsageError, match=message):
        funnel(log, steps, **options)


def test_funnel_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_journeys(tmp_path / "f.csv", JOURNEYS)
    env = {"NO_COLOR": "1", "COLUMNS": "120"}
    result = CliRunner().invoke(app, ["funnel", "f.csv", "--steps", "View, Cart,Pay",
                                      "--json", "out.json"], env=env)
    assert result.exit_code == 0, result.output
    assert "20.0% of the journeys that start it finish it" in result.output
    data = json.loads(Path("out.json").read_text())
    assert data["schema"] == "cjm.funnel/1"
    assert [(s["stage"], s["journeys"]) for s in data["steps"]] == [
        ("View", 5), ("Cart", 2), ("Pay", 1)]
    either = CliRunner().invoke(app, ["funnel", "f.csv", "--steps", "View,Cart|Search,Pay",
                                      "--json", "-"], env=env)
    assert either.exit_code == 0, either.output
    steps = json.loads(either.stdout)["steps"]
    assert [(s["stage"], s["stages"], s["journeys"]) for s in steps] == [
        ("View", ["View"], 5), ("Cart|Search", ["Cart", "Search"], 3), ("Pay", ["Pay"], 1)]
    bad = CliRunner().invoke(app, ["funnel", "f.csv", "--steps", "View,Nope"], env=env)
    assert bad.exit_code == 2 and "no stage 'Nope'" in bad.output
    assert CliRunner().invoke(app, ["funnel", "f.csv", "--steps", "View,Cart", "--within",
                                    "soon"], env=env).exit_code == 2


def test_funnel_by_segment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = {j: {"segment": "vip" if j in "abe" else "new"} for j in JOURNEYS}
    write_journeys(tmp_path / "f.csv", JOURNEYS, extra)
    result = CliRunner().invoke(app, ["funnel", "f.csv", "--steps", "View,Cart,Pay", "--by",
                                      "segment", "--json", "-"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "cjm.funnels/1"
    by_label = {f["label"]: [s["journeys"] for s in f["steps"]] for f in data["funnels"]}
    # vip: a, b, e (e views after its cart: strict misses it); new: c, d, f (f never views).
    assert by_label == {"segment = vip": [3, 2, 1], "segment = new": [2, 0, 0]}
