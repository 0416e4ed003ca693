"""cjm discover --by, --period, --since/--until: slices of a log, their maps and their JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cjm.cli import app
from cjm.safety import safe_name
from tests.journey_logs import write_journeys

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}
SEGMENTS = ["vip / gold", "../etc", "CON", "neu ünïcode"]


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journeys = {f"j{i:02d}": ["Visit", "Buy" if i % 2 else "Leave"] for i in range(40)}
    extra = {f"j{i:02d}": {"segment": SEGMENTS[i % 4]} for i in range(40)}
    return write_journeys(tmp_path / "s.csv", journeys, extra)


def run(*args):
    result = CliRunner().invoke(app, ["discover", *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def test_by_segment_writes_a_safe_map_per_value(log_file):
    result = run("s.csv", "--by", "segment", "--goal", "Buy", "-o", "map.svg", "--json",
                 "out.json")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in Path().glob("map*.svg"))
    assert names == ["map.CON.svg", "map.etc.svg", "map.neu_ünïcode.svg", "map.vip_gold.svg"] \
        or names == sorted(["map._CON.svg", "map.etc.svg", "map.neu_ünïcode.svg",
                            "map.vip_gold.svg"])
    assert not list(Path("..").glob("etc*.svg"))  # nothing escaped the folder
    data = json.loads(Path("out.json").read_text())
    assert data["schema"] == "cjm.slices/1"
    # Equally frequent values come in name order.
    assert [s["label"] for s in data["slices"]] == [f"segment = {v}" for v in sorted(SEGMENTS)]
    assert [s["journeys"] for s in data["slices"]] == [10, 10, 10, 10]
    assert data["all"]["journeys"] == 40
    # Odd journeys buy: ../etc and neu ünïcode hold the odd ones, CON and vip / gold the even.
    assert [s["goals"]["rate"] for s in data["slices"]] == [1.0, 0.0, 1.0, 0.0]
    assert "vip / gold" in result.output and "all" in result.output


def test_top_values_groups_the_rest(log_file):
    result = run("s.csv", "--by", "segment", "--top-values", "1", "--json", "-")
    data = json.loads(result.stdout)
    assert [s["label"] for s in data["slices"]] == ["segment = ../etc", "segment = other"]
    assert [s["journeys"] for s in data["slices"]] == [10, 30]


def test_period_and_window(log_file):
    # One journey a day from 2024-01-01: 31 in January, 9 in February.
    data = json.loads(run("s.csv", "--period", "month", "--json", "-").stdout)
    assert [(s["label"], s["journeys"]) for s in data["slices"]] == [("2024-01", 31),
                                                                      ("2024-02", 9)]
    data = json.loads(run("s.csv", "--since", "2024-01-10", "--until", "2024-01-20",
                          "--json", "-").stdout)
    assert data["journeys"] == 10
    # Clipping events at 09:05 on 2024-02-09 keeps j39's first event only.
    data = json.loads(run("s.csv", "--since", "2024-02-09T09:05:00", "--window", "events",
                          "--json", "-").stdout)
    assert (data["journeys"], data["events"]) == (1, 1)


def test_gates_name_the_slice(log_file):
    result = run("s.csv", "--by", "segment", "--goal", "Buy", "--no-map", "-q",
                 "--fail-on-dead-end-rate", "60%")
    assert result.exit_code == 1
    assert "segment = CON: dead-end rate 100.0% is above 60.0%" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "segment", "--period", "month"], "not both"),
    (["--by", "device"], "not a mapped role"),
    (["--period", "fortnight"], "--period"),
    (["--since", "yesterday"], "cannot read 'yesterday' as a date"),
    (["--window", "both"], "--window"),
    # A window that holds no journey is named with the log's own span, not a crash.
    (["--since", "2025-01-01"], "no journey starts on or after 2025-01-01 (the log runs from "
     "2024-01-01 to 2024-02-09)"),
    (["--until", "2023-06-01"], "no journey starts before 2023-06-01"),
    (["--since", "2025-01-01", "--window", "events"], "no event falls on or after 2025-01-01"),
])
def test_slice_usage_errors(log_file, args, message):
    result = run("s.csv", "--no-map", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(("zone", "days"), [
    ([], "2024-07-06 → 2024-07-07 (1d)"),
    # Half past midnight in Amsterdam is the day before in UTC, the days cjm counts in.
    (["--timezone", "Europe/Amsterdam"], "2024-07-05 → 2024-07-06 UTC (1d)"),
])
def test_the_log_s_days_say_when_they_are_utc_s(tmp_path, monkeypatch, zone, days):
    monkeypatch.chdir(tmp_path)
    Path("z.csv").write_text("journey_id,stage,timestamp\nA,Visit,2024-07-06 00:30\n"
                             "A,Buy,2024-07-07 00:30\n", encoding="utf-8")
    result = run("z.csv", "--no-map", *zone)
    assert result.exit_code == 0, result.output
    assert f"1 journey, 2 events, 2 stages, {days}" in result.output
    result = run("z.csv", "--no-map", "--since", "2025-01-01", *zone)
    assert result.exit_code == 2, result.output
    assert f"(the log runs from {days[:-5].replace(' → ', ' to ')})" in result.output


@pytest.mark.parametrize(("value", "expected"), [
    ("vip / gold", "vip_gold"), ("../../etc/passwd", "etc_passwd"), ("CON", "_CON"),
    ("nul", "_nul"), ("", "value"), ("...", "value"), ("a" * 200, "a" * 80),
])
def test_safe_names(value, expected):
    assert safe_name(value) == expected


def test_safe_names_stay_distinct():
    used: set[str] = set()
    assert [safe_name(v, used) for v in ("a/b", "a b", "A_B")] == ["a_b", "a_b_2", "A_B_3"]


def test_no_slice_large_enough_for_min_journeys(log_file):
    # 40 journeys in four segments of 10: --min-journeys 20 leaves out every segment, so the
    # table holds the whole log alone (and the JSON no slice), rather than a crash.
    result = run("s.csv", "--by", "segment", "--min-journeys", "20", "--no-map")
    assert result.exit_code == 0, result.output
    rows = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["all", "40"] in rows and ["segment", "journeys"] in rows
    data = json.loads(run("s.csv", "--by", "segment", "--min-journeys", "20", "--json",
                          "-").stdout)
    assert (data["slices"], data["all"]["journeys"]) == ([], 40)
