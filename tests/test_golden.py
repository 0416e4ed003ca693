"""Golden DOT and JSON for the bundled example; regenerate with CJM_UPDATE_GOLDEN=1 only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cjm.cli import app

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "shop.journey": ["examples/shop.csv"],
    "shop.journey-gap": ["examples/shop.csv", "--case", "customer_id", "--journey-gap", "14d",
                         "--goal", "Purchase", "--view", "frequency", "--stages", "90%"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_outputs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    dot, data = tmp_path / "map.dot", tmp_path / "out.json"
    result = CliRunner().invoke(app, ["discover", *CASES[name], "-o", str(dot),
                                      "--json", str(data), "--quiet"],
                                env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    for produced, suffix in ((dot, ".dot"), (data, ".json")):
        golden = GOLDEN / f"{name}{suffix}"
        if os.environ.get("CJM_UPDATE_GOLDEN") == "1":
            golden.write_bytes(produced.read_bytes())
        assert produced.read_bytes() == golden.read_bytes(), f"{golden.name} differs"


def test_journey_gap_recovers_the_example_visits(monkeypatch):
    import cjm

    monkeypatch.chdir(ROOT)
    by_gap = cjm.read_log("examples/shop.csv", columns={"case": "customer_id"},
                          journey_gap="14d")
    with by_gap, cjm.read_log("examples/shop.csv") as by_id:
        assert by_id.mapping.column("case") == "journey_id"
        assert by_gap.journeys == by_id.journeys == 3000
        customers = by_gap.con.execute("SELECT count(DISTINCT case_id) FROM events").fetchall()
        assert customers[0][0] == 2756
