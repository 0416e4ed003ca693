"""cjm channels on a hand-made log with known mixes, escalations and costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cjm
from cjm.channels import channel_report, parse_costs
from cjm.cli import app
from cjm.errors import UsageError
from tests.journey_logs import write_journeys

JOURNEYS = {
    "a": [("Visit", "web"), ("Help", "chat"), ("Help", "phone")],   # web → chat → phone
    "b": [("Visit", "web"), ("Help", "chat"), ("Visit", "web")],    # web → chat → web
    "c": [("Visit", "app"), ("Buy", "app")],                         # app only
}
PRICES = "web=0.5,app=0.5,chat=2,phone=6"


@pytest.fixture
def log(tmp_path):
    with cjm.read_log(write_journeys(tmp_path / "c.csv", JOURNEYS)) as opened:
        yield opened


def test_mix_sequences_escalations_and_costs(log):
    report = channel_report(log, parse_costs(PRICES))
    assert report.mix["Help"] == [("chat", 2), ("phone", 1)]
    assert report.mix["Visit"] == [("web", 3), ("app", 1)]
    assert report.sequences == [(("app",), 1), (("web", "chat", "phone"), 1),
                                (("web", "chat", "web"), 1)]
    assert report.escalations == [("web", "chat", 2), ("chat", "phone", 1)]
    assert report.escalation_journeys == 2
    # a: 0.5 + 2 + 6, b: 0.5 + 2 + 0.5, c: 0.5 + 0.5
    assert report.cost_per_journey == pytest.approx({"total": 12.5, "median": 3.0,
                                                     "mean": 12.5 / 3, "journeys": 3})
    assert report.cost_by_stage[0] == ("Help", 3, 10.0)
    assert report.cost_by_path[0] == (("Visit", "Help", "Help"), 1, 8.5, 8.5)


def test_usual_order_without_prices(log):
    report = channel_report(log)
    assert report.escalations == [("web", "chat", 2), ("chat", "phone", 1)]
    assert report.cost_per_journey is None


@pytest.mark.parametrize("text", ["web=cheap", "=2", "web=-1"])
def test_bad_prices(text):
    with pytest.raises(UsageError, match="--channel-cost"):
        parse_costs(text)


def test_channels_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_journeys(tmp_path / "c.csv", JOURNEYS)
    (tmp_path / "cjm.toml").write_text("[channel_cost]\nweb = 0.5\napp = 0.5\nchat = 2\n"
                                       "phone = 6\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["channels", "c.csv", "--json", "out.json"],
                                env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Cost to serve: 12.50 in all" in result.output
    data = json.loads(Path("out.json").read_text())
    assert data["schema"] == "cjm.channels/1"
    assert data["escalation_journeys"] == 2
    assert data["prices"] == {"web": 0.5, "app": 0.5, "chat": 2, "phone": 6}
    (tmp_path / "cjm.toml").write_text("[channel_cost]\nweb = \"cheap\"\n", encoding="utf-8")
    bad = CliRunner().invoke(app, ["channels", "c.csv"], env={"NO_COLOR": "1"})
    assert bad.exit_code == 2 and "channel_cost" in bad.output


COST_LOG = ("journey_id,stage,timestamp,channel,cost\n"
            "j1,visit,2024-01-01T10:00:00Z,web,0.5\n"
            "j1,chat,2024-01-01T10:05:00Z,chat,2\n"
            "j1,buy,2024-01-01T10:10:00Z,web,0.5\n"
            "j2,visit,2024-01-01T11:00:00Z,web,0.5\n"
            "j2,call,2024-01-01T11:30:00Z,phone,6\n")


@pytest.mark.parametrize(("options", "total", "stage"), [
    ((), 9.5, ["call", 1, 6.0]),                      # the cost column, detected
    (("--cost", "cost"), 9.5, ["call", 1, 6.0]),      # the cost column, named
    (("--cost", "cost", "--channel-cost", "web=0.1,chat=2,phone=6"), 8.3, ["call", 1, 6.0]),
])
def test_cost_column_named_cost(tmp_path, options, total, stage):
    (tmp_path / "c.csv").write_text(COST_LOG, encoding="utf-8")
    result = CliRunner().invoke(app, ["channels", str(tmp_path / "c.csv"), *options,
                                      "--json", str(tmp_path / "out.json")],
                                env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["cost_per_journey"]["total"] == pytest.approx(total)
    assert data["cost_per_journey"]["journeys"] == 2
    assert [data["cost_by_stage"][0][k] for k in ("stage", "events", "total")] == stage


def test_costs_too_large_to_add_exactly_are_refused(tmp_path):
    """Costs are added as decimals (9 places, below 10**12): a larger one is refused with its
    line, never clipped; so is such a price."""
    (tmp_path / "c.csv").write_text(COST_LOG.replace("phone,6", "phone,1e12"), encoding="utf-8")
    env = {"NO_COLOR": "1", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["channels", str(tmp_path / "c.csv")], env=env)
    assert result.exit_code == 1
    assert "c.csv:6: the cost '1e12' is too large to add exactly" in result.output
    result = CliRunner().invoke(app, ["channels", str(tmp_path / "c.csv"), "--channel-cost",
                                      "web=1e13"], env=env)
    assert result.exit_code == 2
    assert "the price of 'web' (10000000000000.0) is too large" in result.output


def test_costs_are_exact_decimals(tmp_path):
    """Ten costs of 0.1 make 1, not 0.9999999999999999; the median of 0.7 and 6 is 3.35."""
    rows = "".join(f"j1,visit,2024-01-01T10:{m:02d}:00Z,web,0.1\n" for m in range(10))
    (tmp_path / "c.csv").write_text(COST_LOG.split("\n")[0] + "\n" + rows
                                    + "j2,visit,2024-01-02T10:00:00Z,web,0.7\n"
                                    "j3,visit,2024-01-02T10:00:00Z,web,6\n", encoding="utf-8")
    with cjm.read_log(tmp_path / "c.csv") as log:
        report = channel_report(log)
    assert report.cost_per_journey["total"] == 7.7
    assert report.cost_by_path == [(("visit",), 2, 6.7, 3.35), (("visit",) * 10, 1, 1.0, 1.0)]
