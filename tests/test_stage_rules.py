"""Stage groups, renames and collapsed repeats, applied as the log is read."""

from __future__ import annotations

import json

import pytest

import cjm
from cjm.config import Config
from cjm.errors import UsageError
from cjm.funnel import funnel
from cjm.stage_rules import StageRules, parse_rule, stage_rules
from tests.conftest import run_cli
from tests.journey_logs import write_journeys

JOURNEYS = {
    "a": ["home", "product1", "product2", "product2", "cart", "paid"],
    "b": ["home", "product3", "cart", "cart", "paid"],
    "c": ["landing", "product1", "home"],
}


def _rules(**kwargs) -> StageRules:
    return stage_rules(kwargs.get("group"), kwargs.get("rename"),
                       kwargs.get("collapse"), Config(kwargs.get("config", {})))


def test_renames_come_first_then_the_first_group_that_matches():
    rules = _rules(group=[r"re:^product\d+$=product", "product,cart=shopping"],
                   rename=["landing=home", "nowhere=x"])
    mapping, unused = rules.mapping(["home", "landing", "product1", "product22", "cart",
                                     "paid"])
    assert mapping == {"landing": "home", "product1": "product", "product22": "product",
                       "cart": "shopping"}
    # A stage takes one group: product1 became product, and "product,cart" did not take it.
    assert [f"{r.target}" for r in unused] == ["x"]


def test_rules_written_wrong_are_usage_errors():
    with pytest.raises(UsageError, match="--group: write A,B=NAME"):
        parse_rule("product1,product2", "--group")
    with pytest.raises(UsageError, match="not a regular expression"):
        parse_rule("re:(unclosed=x", "--group")
    with pytest.raises(UsageError, match="--rename: write OLD=NEW"):
        parse_rule("=new", "--rename")
    # The last "=" names the target: a stage name may hold one (a URL's query).
    assert parse_rule("page?id=1=page", "--rename").names == ("page?id=1",)


def test_read_log_merges_renames_and_collapses_with_exact_accounting(tmp_path):
    path = write_journeys(tmp_path / "l.csv", JOURNEYS)
    with cjm.read_log(path, group=[r"re:^product\d$=product"], rename=["landing=home"],
                      collapse_repeats=True) as log:
        assert log.stage_names() == ["cart", "home", "paid", "product"]
        # a: product1 product2 product2 → one product; b: cart cart → one cart.
        assert (log.rows, log.events, log.filtered) == (14, 11, 3)
        assert log.rows == log.events + log.rejected + log.filtered
        assert log.notes == [
            "stage landing read as home",
            "stages product1, product2, product3 read as product",
            "3 repeated events set aside: consecutive events at one stage count once "
            "(--collapse-repeats)"]
        jm = cjm.discover(log, goals=["paid"])
        assert [p.stages for p in jm.paths][:1] == [("home", "product", "cart", "paid")]
        # Every command sees the merged stages: a funnel step names the group.
        assert [s.journeys for s in funnel(log, ["home", "product", "paid"]).steps] == [3, 3, 2]


def test_without_collapsing_repeats_stay(tmp_path):
    path = write_journeys(tmp_path / "l.csv", JOURNEYS)
    with cjm.read_log(path, group=[r"re:^product\d$=product"]) as log:
        assert (log.events, log.filtered) == (14, 0)
        assert ("home", "product", "product", "product", "cart", "paid") in {
            p.stages for p in cjm.discover(log).paths}


def test_the_config_stages_table(tmp_path):
    path = write_journeys(tmp_path / "l.csv", JOURNEYS)
    (tmp_path / "cjm.toml").write_text(
        '[stages]\ngroup = ["product1,product2,product3=product"]\ncollapse_repeats = true\n')
    result = run_cli("discover", str(path), "--no-map", "--json", "-", "--rename",
                     "home=start")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(s["name"] for s in data["stages"]) == [
        "cart", "landing", "paid", "product", "start"]
    assert "stage home read as start" in data["reading"]["notes"]
    (tmp_path / "cjm.toml").write_text('[stages]\ngroup = "a=b"\n')
    bad = run_cli("discover", str(path), "--no-map")
    assert bad.exit_code == 2 and "[stages] group must be a list" in bad.output
    (tmp_path / "cjm.toml").write_text('[stages]\ncolapse_repeats = true\n')
    bad = run_cli("discover", str(path), "--no-map")
    assert bad.exit_code == 2 and "no setting 'colapse_repeats'" in bad.output
