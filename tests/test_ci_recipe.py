"""docs/ci.md's workflow, run: its cjm steps, as written, on the bundled example log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]


def _workflow() -> dict:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S)[1])


def _cjm_steps(workflow: dict) -> dict[str, str]:
    """The steps whose shell script runs cjm (installing and commenting need GitHub)."""
    steps = workflow["jobs"]["journeys"]["steps"]
    return {s["name"]: s["run"] for s in steps if "run" in s and re.search(r"^\s*cjm ", s["run"],
                                                                           re.M)}


def _run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture
def github_env(tmp_path: Path) -> dict[str, str]:
    """The workflow's env with the example as LOG, cjm on PATH, a job-summary file."""
    workflow = _workflow()
    env = {**os.environ, **{k: str(v) for k, v in workflow["env"].items()}}
    env["LOG"] = str(ROOT / "examples" / "shop.csv")
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "step-summary.md")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["NO_COLOR"] = "1"
    return env


def test_the_workflow_names_every_step_it_needs():
    steps = _workflow()["jobs"]["journeys"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert any("pip install cjm" in s.get("run", "") for s in steps)
    assert set(_cjm_steps(_workflow())) == {"Draw the journey map and write the reports",
                                             "Fail when the journeys got worse"}


def test_the_workflow_draws_the_maps_and_posts_the_summary(github_env, tmp_path):
    script = _cjm_steps(_workflow())["Draw the journey map and write the reports"]
    done = _run(script, github_env, tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert (out / "journey.svg").read_text().lstrip().startswith("<?xml")
    assert (out / "journey.png").read_bytes()[:4] == b"\x89PNG"
    assert '"schema": "cjm.journey/1"' in (out / "journey.json").read_text()
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (out / "maps" / "summary.map.png").exists()
    summary = Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("# Customer journeys\n") and "```mermaid" in summary
    assert summary == (out / "summary.md").read_text()


def test_the_gate_passes_then_fails_the_job_when_journeys_get_worse(github_env, tmp_path):
    script = _cjm_steps(_workflow())["Fail when the journeys got worse"]
    assert _run(script, github_env, tmp_path).returncode == 0  # 71.5% dead-ends, under 75%
    stricter = {**github_env, "MAX_DEAD_END_RATE": "50%"}
    done = _run(script, stricter, tmp_path)
    assert done.returncode == 1
    assert "dead-end rate 71.5% is above 50.0% (--fail-on-dead-end-rate)" in done.stderr
