"""The step matrix on hand-made logs whose answers are known."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import cjm
from cjm.steps import difference, step_matrix
from tests.conftest import run_cli
from tests.journey_logs import write_journeys

JOURNEYS = {
    "a": ["home", "product", "cart", "paid"],   # reaches the goal at step 4
    "b": ["home", "product", "home"],           # a dead-end after 3 steps
    "c": ["search", "product"],                 # a dead-end after 2 steps
    "d": ["home"],                              # a dead-end after 1 step
}


@pytest.fixture
def log(tmp_path):
    with cjm.read_log(write_journeys(tmp_path / "s.csv", JOURNEYS)) as opened:
        yield opened


def _shares(result) -> dict[str, tuple]:
    return {r.name: r.shares for r in [*result.stages, *result.ended]}


def test_each_step_counts_every_journey_once(log):
    result = step_matrix(log, steps=5, goals=["paid"])
    shares = _shares(result)
    assert shares["home"] == (0.75, 0.0, 0.25, 0.0, 0.0)
    assert shares["product"] == (0.0, 0.75, 0.0, 0.0, 0.0)
    assert shares["search"] == (0.25, 0.0, 0.0, 0.0, 0.0)
    assert shares["cart"] == (0.0, 0.0, 0.25, 0.0, 0.0)
    assert shares["paid"] == (0.0, 0.0, 0.0, 0.25, 0.0)
    assert shares["goal"] == (0.0, 0.0, 0.0, 0.0, 0.25)  # a ended after its 4th event
    assert shares["dead_end"] == (0.0, 0.25, 0.5, 0.75, 0.75)
    for k in range(5):
        assert sum(s[k] for s in shares.values()) == pytest.approx(1.0)
    # Ordered by the step at which each stage is most common.
    assert [r.name for r in result.stages] == ["home", "search", "product", "cart", "paid"]


def test_still_active_journeys_are_counted_apart(tmp_path):
    path = write_journeys(tmp_path / "s.csv", JOURNEYS, step=timedelta(hours=1))
    with cjm.read_log(path) as log:
        # d (the last journey, started 3 days after a) ends within 2 days of the log's end.
        result = step_matrix(log, steps=2, goals=["paid"], still_active=2 * 86400)
        shares = _shares(result)
        assert shares["open"] == (0.0, 0.25)
        assert shares["dead_end"] == (0.0, 0.0)


def test_min_journeys_withholds_what_few_journeys_share(tmp_path):
    journeys = {**JOURNEYS, "e": ["home", "product"], "f": ["home", "product"]}
    with cjm.read_log(write_journeys(tmp_path / "s.csv", journeys), min_journeys=2) as log:
        result = step_matrix(log, steps=3, goals=["paid"])
        shares = _shares(result)
        assert "search" not in shares and "cart" not in shares  # one journey each
        assert result.withheld == 2  # search and cart; paid comes at step 4
        assert shares["home"] == (5 / 6, 0.0, None)  # 5 journeys, none, then b alone


def test_the_difference_is_b_less_a(log):
    a = step_matrix(log, steps=3, goals=["paid"])
    b = step_matrix(log, steps=3, goals=["paid"])
    same = difference(a, b)
    assert all(s == 0 for r in [*same.stages, *same.ended] for s in r.shares)


def test_cli_json_and_groups(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = {j: {"segment": "vip" if j in "ab" else "new"} for j in JOURNEYS}
    write_journeys(tmp_path / "s.csv", JOURNEYS, extra)
    result = run_cli("steps", "s.csv", "--goal", "paid", "--max-steps", "3", "--json", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "cjm.steps/1" and data["steps"] == 3
    assert {r["stage"]: r["journeys"] for r in data["stages"]}["home"] == [3, 0, 1]
    by = run_cli("steps", "s.csv", "--goal", "paid", "--by", "segment", "--values", "new,vip",
                 "--json", "-")
    assert by.exit_code == 0, by.output
    diff = json.loads(by.stdout)
    assert diff["schema"] == "cjm.steps-difference/1"
    # vip (a, b) all start at home; new (c, d): half at home, half at search.
    rows = {r["stage"]: r["shares"] for r in diff["difference"]["stages"]}
    assert rows["home"][0] == 0.5 and rows["search"][0] == -0.5
    # A group without the goal stage is measured against the whole log's goals all the same.
    assert run_cli("steps", "s.csv", "--goal", "paid", "--by", "segment", "--values",
                   "vip,new").exit_code == 0
    assert run_cli("steps", "s.csv", "--values", "a,b").exit_code == 2
    assert run_cli("steps", "s.csv", "--by", "segment", "--period", "month").exit_code == 2
