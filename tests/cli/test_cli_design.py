"""cjm model and cjm check from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cjm.cli import app
from tests.journey_logs import write_journeys

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}
ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = {
    "a": ["Visit", "View", "Cart", "Buy"], "b": ["Visit", "View", "Cart", "Buy"],
    "c": ["Visit", "Cart", "Buy"], "d": ["Visit", "View"],
}
DESIGN = "stages: [Visit, View, Cart, Buy]\ngoals: [Buy]\n"


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_journeys(tmp_path / "log.csv", JOURNEYS)
    (tmp_path / "design.yaml").write_text(DESIGN, encoding="utf-8")
    return tmp_path


def run(*args: str):
    result = CliRunner().invoke(app, list(args), env=ENV)
    assert "Traceback" not in result.output
    return result


def test_model_writes_every_format(files):
    result = run("model", "log.csv", "-o", "m.bpmn", "-o", "m.pnml", "-o", "m.ptml", "-o",
                 "m.svg", "--noise", "0", "--quality")
    assert result.exit_code == 0, result.output
    assert "model: inductive miner, noise 0, from 3 of 3 paths (100.0% of journeys)" in \
        result.output
    assert "fitness 1.000 (token replay)" in result.output
    for name in ("m.bpmn", "m.pnml", "m.ptml", "m.svg"):
        assert Path(name).read_bytes().startswith(b"<?xml"), name
    assert "<bpmn:task" in Path("m.bpmn").read_text()


def test_model_default_name_and_bad_extension(files):
    assert run("model", "log.csv").exit_code == 0
    assert Path("log.bpmn").exists()
    result = run("model", "log.csv", "-o", "m.docx")
    assert result.exit_code == 2
    assert "cannot tell the model format" in result.output


def test_check_summary_map_and_json(files):
    result = run("check", "log.csv", "--design", "design.yaml", "-o", "c.dot", "--json",
                 "c.json")
    assert result.exit_code == 0, result.output
    assert "Conformance: 2 of 4 journeys (50.0%) follow the design" in result.output
    data = json.loads(Path("c.json").read_text())
    assert data["schema"] == "cjm.check/1"
    assert (data["journeys"], data["conforming"]) == (4, 2)
    assert {(d["kind"], d["detail"], d["journeys"]) for d in data["deviations"]} == {
        ("skipped", "View", 1), ("not_allowed", "Visit → Cart", 1), ("ended_early", "View", 1)}
    dot = Path("c.dot").read_text()
    assert '"stage:Visit" -> "stage:Cart"' in dot and 'color="#d7301f"' in dot


def test_check_gates(files):
    result = run("check", "log.csv", "--design", "design.yaml", "--no-map", "-q",
                 "--max-deviation-rate", "40%")
    assert result.exit_code == 1
    assert "50.0% of journeys deviate from the design, above 40.0% (--max-deviation-rate)" in \
        result.output
    result = run("check", "log.csv", "--design", "design.yaml", "--no-map", "-q",
                 "--min-fitness", "0.99")
    assert result.exit_code == 1 and "(--min-fitness)" in result.output
    assert run("check", "log.csv", "--design", "design.yaml", "--no-map", "-q",
               "--max-deviation-rate", "0.5", "--min-fitness", "0.5").exit_code == 0


def test_check_json_to_stdout_and_exact(files):
    result = run("check", "log.csv", "--design", "design.yaml", "--json", "-", "--exact")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["exact_paths"] == 3 and 0 < data["exact_fitness"] < 1
    assert not list(Path().glob("*.svg"))


@pytest.mark.parametrize(("design", "code", "message"), [
    ("missing.yaml", 2, "no such file"),
    ("design.txt", 2, "a design is a .yaml, .bpmn or .pnml file"),
    ("bad.yaml", 1, "bad.yaml:2: goals 'Pay' is not one of the stages"),
])
def test_bad_designs(files, design, code, message):
    (files / "design.txt").write_text(DESIGN, encoding="utf-8")
    (files / "bad.yaml").write_text("stages: [Visit, Buy]\ngoals: [Pay]\n", encoding="utf-8")
    result = run("check", "log.csv", "--design", design, "--no-map")
    assert result.exit_code == code
    assert message in result.output


def test_check_requires_a_design(files):
    result = run("check", "log.csv")
    assert result.exit_code == 2
    assert "--design" in result.output


def test_example_design_checks_the_example_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check", str(ROOT / "examples" / "shop.csv"), "--design",
                 str(ROOT / "examples" / "designed-journey.yaml"), "--json", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["journeys"] == 3000
    assert data["design"]["goals"] == ["Purchase"]
    assert data["designed_transitions_not_taken"] == [{"from": "Payment Failed",
                                                        "to": "Purchase"}]


def test_check_output_is_the_same_bytes_whatever_the_hash_seed(files):
    import os
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "cjm", "check", "log.csv", "--design", "design.yaml",
             "--json", "-", "--exact"],
            capture_output=True, check=False, timeout=300,
            env={**os.environ, **ENV, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]


def test_check_writes_every_journeys_verdict(files):
    from conftest import csv_rows

    result = run("check", "log.csv", "--design", "design.yaml", "--no-map", "-q",
                 "--journeys", "verdicts.csv")
    assert result.exit_code == 0, result.output
    assert csv_rows("verdicts.csv") == [
        ["journey", "conforms", "deviations"],
        ["a", "true", ""],
        ["b", "true", ""],
        ["c", "false", "required stage skipped: View; transition not allowed: Visit → Cart"],
        ["d", "false", "journey ended before a goal: View"],
    ]


def test_check_warns_about_a_service_level_that_times_nothing(files):
    (files / "sla.yaml").write_text(
        "stages: [Visit, View, Cart, Buy]\nservice_levels:\n  - {from: View, to: Buy, "
        "max_wait: 1h}\n", encoding="utf-8")
    result = run("check", "log.csv", "--design", "sla.yaml", "--no-map", "-q", "--json",
                 "c.json")
    assert result.exit_code == 0, result.output
    assert "Warning: sla.yaml:3: service level View → Buy can only time journeys that break " \
        "the design" \
        in result.stderr
    data = json.loads(Path("c.json").read_text())
    assert data["design"]["warnings"] == [result.stderr.split("Warning: ", 1)[1].split(
        "\n")[0]]


def test_check_summary_says_what_its_map_hides(tmp_path, monkeypatch):
    # As `cjm discover` does: the map leaves out weak edges, and the summary says how many,
    # their share of the traffic and the flag that shows them, as the JSON's map part does.
    monkeypatch.chdir(tmp_path)
    args = ("check", str(ROOT / "examples" / "shop.csv"), "--design",
            str(ROOT / "examples" / "designed-journey.yaml"), "--paths", "80%", "--no-map")
    data = json.loads(run(*args, "--json", "-").stdout)
    hidden = data["map"]["hidden_transitions"]
    shown = hidden + data["map"]["transitions_shown"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"Map: {hidden} of {shown} map edges hidden" in " ".join(result.stdout.split())


def test_check_lists_cut_at_top_say_how_many_more(tmp_path, monkeypatch):
    # A log that shares no stage with the example design: every designed transition is
    # unused. The summary lists --top of them and says how many it leaves out.
    monkeypatch.chdir(tmp_path)
    write_journeys(tmp_path / "x.csv", {f"j{i}": ["X", "Y"] for i in range(5)})
    args = ("check", "x.csv", "--design", str(ROOT / "examples" / "designed-journey.yaml"),
            "--no-map", "--top", "3")
    unused = json.loads(run(*args, "--json", "-").stdout)["designed_transitions_not_taken"]
    assert len(unused) > 3
    text = " ".join(run(*args).stdout.split())
    first = ", ".join(f"{t['from']} → {t['to']}" for t in unused[:3])
    assert f"designed transitions never taken: {first}, … {len(unused) - 3} more" in text
