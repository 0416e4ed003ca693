"""cjm discover from the command line: outputs, options, gates and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cjm.cli import app
from tests.journey_logs import write_journeys

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}
JOURNEYS = {
    "a": [("Visit", "web"), ("View", "web"), ("Buy", "web")],
    "b": [("Visit", "web"), ("View", "web"), ("Chat", "chat")],
    "c": [("Visit", "app"), ("Buy", "app")],
    "d": [("Visit", "web"), ("View", "web")],
}


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_journeys(tmp_path / "shop log.csv", JOURNEYS)


def run(*args: str):
    result = CliRunner().invoke(app, ["discover", *args], env=ENV)
    assert "Traceback" not in result.output
    return result


def test_summary_and_default_map(log_file):
    result = run(str(log_file), "--goal", "Buy")
    assert result.exit_code == 0, result.output
    assert "4 journeys, 10 events, 4 stages" in result.output
    assert "Goals: Buy — reached by 50.0% of journeys" in result.output
    assert "Dead-ends: 2 journeys (50.0%)" in result.output
    assert "Hand-offs: 1 of 6" in result.output
    assert "Wrote shop log.journey.svg" in result.output
    svg = Path("shop log.journey.svg").read_text()
    assert svg.startswith("<?xml") and "stage:Visit" in svg


@pytest.mark.parametrize("suffix, magic", [
    (".svg", b"<?xml"), (".png", b"\x89PNG"), (".dot", b"digraph"), (".json", b"{")])
def test_output_format_from_extension(log_file, suffix, magic):
    result = run(str(log_file), "-o", f"map{suffix}", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert Path(f"map{suffix}").read_bytes().startswith(magic)


@pytest.mark.system_dot
def test_pdf_with_system_dot(log_file):
    assert run(str(log_file), "-o", "map.pdf", "-q").exit_code == 0
    assert Path("map.pdf").read_bytes().startswith(b"%PDF")


def test_pdf_without_system_dot_says_how_to_install(log_file, monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dot"
                        else real(name, *a, **k))
    result = run(str(log_file), "-o", "map.pdf", "-q")
    assert result.exit_code == 1
    assert "needs the Graphviz 'dot' program" in result.output
    assert "apt-get install graphviz" in result.output
    assert not Path("map.pdf").exists()


def test_json_to_stdout_alone(log_file):
    result = run(str(log_file), "--json", "-", "--no-map")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "cjm.journey/1"
    assert data["journeys"] == 4 and data["events"] == 10
    assert {"from": "Visit", "to": "View", "count": 3} .items() <= data["transitions"][0].items()
    assert data["handoffs"]["matrix"] == [
        {"from": "web", "to": "chat", "count": 1, "median_seconds": 600.0}]
    assert not list(Path().glob("*.svg"))


def test_dead_end_rate_gate_writes_outputs_first(log_file):
    result = run(str(log_file), "--goal", "Buy", "--fail-on-dead-end-rate", "0.4", "-o",
                 "map.dot", "-q")
    assert result.exit_code == 1
    assert "dead-end rate 50.0% is above 40.0% (--fail-on-dead-end-rate)" in result.output
    assert Path("map.dot").exists()
    assert run(str(log_file), "--goal", "Buy", "--fail-on-dead-end-rate", "0.5",
               "--no-map", "-q").exit_code == 0


def test_dead_end_gate_needs_goals(tmp_path):
    # No stage ends 80% of the journeys reaching it: no goal can be inferred.
    path = write_journeys(tmp_path / "l.csv", {"a": ["V", "W"], "b": ["V", "W", "V"],
                                               "c": ["W", "V", "W"]})
    result = run(str(path), "--fail-on-dead-end-rate", "0.5", "--no-map", "-q")
    assert result.exit_code == 2  # a gate that cannot be evaluated is a usage error, no breach
    assert "--fail-on-dead-end-rate: no goal stage given or found, so there is no dead-end " \
        "rate to check" in result.output
    assert "Pass --goal STAGE or --outcome COLUMN." in result.output


def test_dead_end_gate_needs_ended_journeys(tmp_path):
    # No journey converted, and all are still active: none has ended, so none is a dead-end.
    path = write_journeys(tmp_path / "l.csv", {"a": ["V", "W"], "b": ["V", "X"]},
                          {"a": {"converted": "no"}, "b": {"converted": "no"}})
    result = run(str(path), "--fail-on-dead-end-rate", "0.5", "--still-active", "30d",
                 "--no-map", "-q")
    assert result.exit_code == 2, result.output
    assert "every journey (2) is still active" in result.output


def test_a_gate_on_inferred_goals_says_so(log_file):
    result = run(str(log_file), "--fail-on-dead-end-rate", "0.6", "--no-map", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Note: --fail-on-dead-end-rate counts dead-ends against inferred goals: Buy, Chat " \
        "(--goal STAGE sets them)" in result.stderr
    given = run(str(log_file), "--goal", "Buy", "--fail-on-dead-end-rate", "0.6", "--no-map",
                "-q")
    assert "inferred goals" not in given.output


def test_duration_gates(log_file):
    # Journeys last 20, 20, 10 and 10 minutes: the median is 15m, the p90 20m.
    result = run(str(log_file), "--fail-on-median-duration", "14m", "--no-map", "-q")
    assert result.exit_code == 1
    assert "median journey duration 15m is above 14m" in result.output
    assert run(str(log_file), "--fail-on-median-duration", "15m", "--no-map",
               "-q").exit_code == 0
    assert run(str(log_file), "--fail-on-median-duration", "1h", "--no-map",
               "-q").exit_code == 0
    assert run(str(log_file), "--fail-on-p90-duration", "5m", "--no-map", "-q").exit_code == 1


@pytest.mark.parametrize("args, message", [
    (["-o", "map.gif"], "cannot tell the format"),
    (["--view", "fancy"], "--view"),
    (["--goal", "buy"], "Did you mean 'Buy'"),
    (["--stages", "150%"], "--stages"),
    (["--still-active", "soon"], "--still-active"),
    (["--handoff-column", "mood"], "--handoff-column"),
    (["--case", "caseid"], "Did you mean 'case_id'"),
])
def test_usage_errors_exit_2(log_file, args, message):
    result = run(str(log_file), "--no-map", "-q", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_missing_file_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("nothing-here.csv")
    assert result.exit_code == 2
    assert "nothing-here.csv: no such file" in result.output


def test_simplification_is_reported(log_file):
    # Goal stages always stay on the map; Chat, the rarest other stage, goes.
    result = run(str(log_file), "--goal", "Buy", "--stages", "70%", "-o", "m.dot")
    assert result.exit_code == 0, result.output
    assert "Map: 1 stage hidden by --stages" in result.output
    assert "Chat" not in Path("m.dot").read_text()


def test_still_active_and_top(log_file):
    result = run(str(log_file), "--goal", "Buy", "--still-active", "30h", "--no-map",
                 "--top", "1")
    assert result.exit_code == 0, result.output
    assert "1 still open" in result.output
    assert "Transitions (top 1 of 4)" in result.output

