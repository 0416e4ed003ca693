"""--pseudonymize and --min-journeys: nothing that identifies a customer in any output."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "shop.csv"
DESIGN = ROOT / "examples" / "designed-journey.yaml"
KEY = ["--pseudonymize", "--salt", "a-secret-key-1"]


def _ids() -> set[str]:
    with EXAMPLE.open(newline="") as handle:
        return {row["journey_id"] for row in csv.DictReader(handle)}


def _outputs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(tmp_path.rglob("*")) if p.is_file() and p.name != "broken.csv"
                     and p.suffix in (".json", ".svg", ".dot", ".csv", ".html", ".md"))


def test_pseudonymised_outputs_hold_no_raw_journey_id(tmp_path, write):
    broken = write("broken.csv", EXAMPLE.read_text() + "J9999999,2024-01-01,Visit Site\n")
    runs = [
        ["discover", str(broken), "--json", "d.json", "-o", "d.svg", "-o", "d.dot",
         "--rejects", "rejects.csv", "--by", "segment"],
        ["check", str(EXAMPLE), "--design", str(DESIGN), "--json", "c.json", "-o", "c.svg",
         "--journeys", "verdicts.csv"],
        ["report", str(EXAMPLE), "-o", "r.html", "-o", "r.md", "--design", str(DESIGN)],
        ["inspect", str(broken), "--json", "i.json"],
        ["funnel", str(EXAMPLE), "--steps", "Visit Site,View Product", "--json", "f.json"],
        ["channels", str(EXAMPLE), "--json", "ch.json"],
        ["timing", str(EXAMPLE), "--goal", "Purchase", "--by", "segment", "--json", "t.json",
         "-o", "t.svg"],
    ]
    screens = []
    for args in runs:
        result = run_cli(*args, *KEY)
        assert result.exit_code == 0, result.output
        screens.append(result.output)
    text = _outputs(tmp_path) + "\n".join(screens)
    seen = set(re.findall(r"J\d{7}", text))
    assert not seen & _ids(), sorted(seen & _ids())[:5]
    assert "J9999999" not in text  # the rejected row's content is withheld too
    verdicts = list(csv.DictReader((tmp_path / "verdicts.csv").read_text().splitlines()))
    assert len(verdicts) == 3000 and all(re.fullmatch(r"p-[0-9a-f]{16}", v["journey"])
                                         for v in verdicts)
    rejects = list(csv.DictReader((tmp_path / "rejects.csv").read_text().splitlines()))
    assert rejects[0]["content"].startswith("(withheld")


def test_pseudonyms_are_stable_for_a_key_and_differ_between_keys(tmp_path):
    def examples(salt: str) -> list[str]:
        result = run_cli("check", str(EXAMPLE), "--design", str(DESIGN), "--json", "-",
                         "--pseudonymize", "--salt", salt)
        assert result.exit_code == 0, result.output
        return [e for d in json.loads(result.stdout)["deviations"] for e in d["examples"]]

    first, again, other = examples("key-one-1234"), examples("key-one-1234"), examples(
        "key-two-5678")
    assert first == again and first
    assert not set(first) & set(other)


def test_the_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CJM_SALT", "from-the-environment")
    result = run_cli("discover", str(EXAMPLE), "--no-map", "--pseudonymize")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--pseudonymize"], "--pseudonymize needs a key"),
    (["--pseudonymize", "--salt", "short"], "too easy to guess"),
    (["--salt", "a-secret-key-1"], "--salt goes with --pseudonymize"),
])
def test_key_mistakes_exit_2(args, message, monkeypatch):
    monkeypatch.delenv("CJM_SALT", raising=False)
    result = run_cli("discover", str(EXAMPLE), "--no-map", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_min_journeys_leaves_out_what_few_journeys_share(tmp_path):
    result = run_cli("discover", str(EXAMPLE), "--min-journeys", "10", "--json", "d.json",
                     "-o", "d.dot", "--stages", "100%", "--paths", "100%")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["paths"] and all(p["journeys"] >= 10 for p in data["paths"])
    assert all(s["journeys"] >= 10 for s in data["stages"])
    assert all(t["journeys"] >= 10 for t in data["transitions"])
    assert all(d["top_path_journeys"] in (0,) or d["top_path_journeys"] >= 10
               for d in data["dead_ends"]["stages"])
    assert all(h["count"] >= 10 for h in data["handoffs"]["matrix"])
    assert "--min-journeys 10" in " ".join(data["notes"])
    # Full figures are kept: the journeys and the number of distinct paths stay true.
    assert data["journeys"] == 3000 and data["paths_total"] == 897
    # The map carries no transition that fewer than 10 journeys took, nor rare starts or ends.
    dot = (tmp_path / "d.dot").read_text()
    small = [t for t in json.loads(run_cli("discover", str(EXAMPLE), "--json", "-").stdout)
             ["transitions"] if t["journeys"] < 10]
    assert small
    for t in small:
        assert f'"stage:{t["from"]}" -> "stage:{t["to"]}"' not in dot


def test_min_journeys_reaches_every_command(tmp_path):
    checked = run_cli("check", str(EXAMPLE), "--design", str(DESIGN), "--json", "-",
                      "--min-journeys", "50")
    assert checked.exit_code == 0, checked.output
    assert all(d["journeys"] >= 50 for d in json.loads(checked.stdout)["deviations"])
    funnel = run_cli("funnel", str(EXAMPLE), "--steps", "Visit Site,View Product,Purchase",
                     "--json", "-", "--min-journeys", "50")
    went = [w for s in json.loads(funnel.stdout)["steps"] for w in s["went_instead"]]
    assert went and all(w["journeys"] >= 50 for w in went)
    channels = run_cli("channels", str(EXAMPLE), "--json", "-", "--min-journeys", "50")
    assert all(s["journeys"] >= 50 for s in json.loads(channels.stdout)["sequences"])
    per_journey = run_cli("check", str(EXAMPLE), "--design", str(DESIGN), "--journeys",
                          "v.csv", "--min-journeys", "5")
    assert per_journey.exit_code == 2 and "--min-journeys forbids" in per_journey.output


def test_min_journeys_in_comparisons_starts_ends_and_slices(write, tmp_path):
    rows = ["journey,stage,timestamp,segment"]
    for j in range(6):  # five journeys A -> B, one rare A -> Rare -> B; segment z has one
        middle = ["Rare"] if j == 0 else []
        for k, stage in enumerate(["A", *middle, "B"]):
            rows.append(f"j{j},{stage},2024-0{1 + j % 2}-0{1 + j}T10:0{k}:00Z,"
                        f"{'z' if j == 5 else 'y'}")
    log = write("few.csv", "\n".join(rows) + "\n")
    data = json.loads(run_cli("discover", str(log), "--goal", "B", "--min-journeys", "2",
                              "--json", "-", "--no-map", "--by", "segment").stdout)
    assert [s["label"] for s in data["slices"]] == ["segment = y"]
    assert all(e["count"] >= 2 for e in data["all"]["starts"] + data["all"]["ends"])
    result = run_cli("compare", str(log), "--period", "month", "--goal", "B",
                     "--min-journeys", "2", "--json", "-", "--no-map")
    compared = json.loads(result.stdout)
    assert all("Rare" not in (t["from"], t["to"]) for t in compared["transitions"])
