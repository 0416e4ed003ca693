"""Properties of the journey map on generated logs (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import cjm
from cjm.cli import app

STAGES = ["Visit", "Search", "View", "Cart", "Pay", "Buy", "Help"]

journeys_strategy = st.dictionaries(
    keys=st.from_regex(r"[a-z]{1,4}[0-9]{0,2}", fullmatch=True),
    values=st.lists(st.sampled_from(STAGES), min_size=1, max_size=8),
    min_size=1, max_size=25,
)
PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _rows(journeys: dict[str, list[str]]) -> list[str]:
    """One CSV row an event; every journey's events a minute apart (no ties)."""
    rows = []
    for n, (case, stages) in enumerate(sorted(journeys.items())):
        for i, stage in enumerate(stages):
            rows.append(f"{case},{stage},2024-03-{1 + n % 28:02d}T{n % 24:02d}:{i:02d}:00Z")
    return rows


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("case_id,stage,timestamp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@PROPERTY
@given(journeys=journeys_strategy)
def test_in_and_out_balance_and_paths_sum_to_journeys(tmp_path_factory, journeys):
    path = _write(tmp_path_factory.mktemp("p") / "log.csv", _rows(journeys))
    log = cjm.read_log(path)
    try:
        jm = cjm.discover(log)
        incoming, outgoing = Counter(), Counter()
        for t in jm.transitions:
            outgoing[t.source] += t.count
            incoming[t.target] += t.count
        for s in jm.stages:
            assert s.starts + incoming[s.name] == s.events == outgoing[s.name] + s.ends
        assert sum(t.count for t in jm.transitions) == jm.events - jm.journeys
        assert sum(s.starts for s in jm.stages) == jm.journeys
        assert sum(p.journeys for p in jm.paths) == jm.journeys == len(journeys)
        assert Counter(tuple(v) for v in journeys.values()) == \
            Counter({p.stages: p.journeys for p in jm.paths})
        if jm.goals.source != "none":
            assert jm.goal_journeys + jm.dead_end_journeys + jm.open_journeys == jm.journeys
    finally:
        log.close()


@PROPERTY
@given(journeys=journeys_strategy, seed=st.integers(0, 2**16))
def test_shuffled_rows_give_the_same_bytes(tmp_path_factory, journeys, seed):
    rows = _rows(journeys)
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    outputs = []
    for order in (rows, shuffled):
        folder = tmp_path_factory.mktemp("s")
        _write(folder / "log.csv", order)
        result = CliRunner().invoke(
            app, ["discover", str(folder / "log.csv"), "-o", str(folder / "map.dot"),
                  "--json", str(folder / "out.json"), "--quiet"])
        assert result.exit_code == 0, result.output
        data = (folder / "out.json").read_text().replace(str(folder), "<dir>")
        outputs.append(((folder / "map.dot").read_text(), data))
    assert outputs[0] == outputs[1]
