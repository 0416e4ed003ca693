"""Moments of truth on hand-made logs; the interval's error checked against scipy."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

import cjm
from cjm.cli import app
from cjm.errors import UsageError
from cjm.moments import Z95, moments
from tests.journey_logs import write_journeys


def _log(tmp_path, outcome: dict[str, str], journeys: dict[str, list[str]]):
    extra = {j: {"outcome": v} for j, v in outcome.items()}
    return cjm.read_log(write_journeys(tmp_path / "m.csv", journeys, extra))


def test_rate_with_and_without_a_stage(tmp_path):
    # 30 journeys with Chat (10 convert), 30 without (24 convert).
    journeys = {f"c{i}": ["Visit", "Chat"] for i in range(30)}
    journeys |= {f"n{i}": ["Visit", "Buy"] for i in range(30)}
    outcome = {f"c{i}": "yes" if i < 10 else "no" for i in range(30)}
    outcome |= {f"n{i}": "yes" if i < 24 else "no" for i in range(30)}
    with _log(tmp_path, outcome, journeys) as log:
        result = moments(log, min_count=10)
        assert (result.kind, result.journeys) == ("rate", 60)
        assert result.overall == pytest.approx(34 / 60)
        chat = next(m for m in result.items if m.name == "Chat")
        assert (chat.journeys_with, chat.journeys_without) == (30, 30)
        assert (chat.value_with, chat.value_without) == pytest.approx((1 / 3, 0.8))
        error = math.sqrt((1 / 3) * (2 / 3) / 30 + 0.8 * 0.2 / 30)
        assert chat.low == pytest.approx(1 / 3 - 0.8 - Z95 * error)
        assert chat.clear
        assert all(m.name != "Visit" for m in result.items)  # every journey has it


def test_numeric_outcome_uses_the_last_value_and_welch(tmp_path):
    from scipy.stats import ttest_ind

    scores_with = [9, 8, 10, 7, 9, 6, 10, 8, 9, 9, 8, 7]
    scores_without = [3, 5, 6, 4, 7, 2, 5, 6, 4, 3, 5, 6]
    journeys = {f"w{i}": ["Visit", "Help"] for i in range(12)}
    journeys |= {f"o{i}": ["Visit", "Leave"] for i in range(12)}
    outcome = {f"w{i}": str(s) for i, s in enumerate(scores_with)}
    outcome |= {f"o{i}": str(s) for i, s in enumerate(scores_without)}
    with _log(tmp_path, outcome, journeys) as log:
        result = moments(log, min_count=5)
        help_ = next(m for m in result.items if m.name == "Help")
        assert result.kind == "mean"
        t = ttest_ind(scores_with, scores_without, equal_var=False).statistic
        error = (help_.high - help_.low) / (2 * Z95)
        assert help_.difference / error == pytest.approx(t)


def test_outcome_errors(tmp_path):
    with _log(tmp_path, {"a": "maybe", "b": "perhaps"}, {"a": ["V"], "b": ["V"]}) as log, \
            pytest.raises(UsageError, match="neither yes/no nor numbers"):
        moments(log)


def test_moments_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journeys = {f"j{i}": ["Visit", "Buy" if i % 2 else "Leave"] for i in range(50)}
    write_journeys(tmp_path / "m.csv", journeys,
                   {f"j{i}": {"converted": "true" if i % 2 else "false"} for i in range(50)})
    result = CliRunner().invoke(app, ["moments", "m.csv", "--json", "-"],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "cjm.moments/1"
    assert data["items"][0]["difference"] == 1.0
    missing = CliRunner().invoke(app, ["moments", "m.csv", "--outcome", "nope"],
                                 env={"NO_COLOR": "1"})
    assert missing.exit_code == 2
