"""`cjm personas`: journeys grouped by what they do; sizes, goals, what sets them apart, the
sampling rule, --min-journeys, --pseudonymize, --before-goal, maps, and the missing extra."""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from collections import Counter
from importlib.util import find_spec
from itertools import pairwise
from pathlib import Path

import pytest

import cjm
from cjm.engine.protocol import Paths
from tests.conftest import run_cli

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "shop.csv"


# The tests that cluster need the personas extra; the last one hides it.
needs_sklearn = pytest.mark.skipif(find_spec("sklearn") is None,
                                   reason="cjm personas needs the personas extra")


def _rows() -> list[dict]:
    with EXAMPLE.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _json(tmp_path: Path, *args: str) -> dict:
    result = run_cli("personas", *args, "--json", "p.json", "-q")
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))


@needs_sklearn
def test_same_bytes_across_runs_and_row_orders(tmp_path):
    """Shuffled rows of the example log, less its journeys with ties (equal timestamps keep
    file order, so shuffling them changes their paths)."""
    rows = _rows()
    times = Counter((r["journey_id"], r["timestamp"]) for r in rows)
    tied = {j for (j, _), n in times.items() if n > 1}
    rows = [r for r in rows if r["journey_id"] not in tied]
    for name, seed in (("a.csv", None), ("s.csv", 5)):
        if seed is not None:
            random.Random(seed).shuffle(rows)
        with (tmp_path / name).open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    outputs = []
    for log in (tmp_path / "a.csv", tmp_path / "a.csv", tmp_path / "s.csv"):
        result = run_cli("personas", str(log), "--json", "-")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        del data["reading"]  # names the file read
        outputs.append(json.dumps(data))
    assert outputs[0] == outputs[1] == outputs[2]


@needs_sklearn
def test_every_journey_in_one_persona_numbered_by_size(tmp_path):
    data = _json(tmp_path, str(EXAMPLE), "--k", "4")
    assert data["schema"] == "cjm.personas/1" and data["k"] == 4
    assert data["k_chosen"] == "given" and data["silhouettes"] == []
    sizes = [p["journeys"] for p in data["personas"]]
    assert sum(sizes) == data["journeys"] == 3000 and sizes == sorted(sizes, reverse=True)
    assert [p["persona"] for p in data["personas"]] == [1, 2, 3, 4]


@needs_sklearn
def test_auto_picks_the_best_silhouette(tmp_path):
    data = _json(tmp_path, str(EXAMPLE))
    scores = {s["k"]: s["silhouette"] for s in data["silhouettes"]}
    assert set(scores) == set(range(2, 9))
    assert data["k_chosen"] == "auto" and scores[data["k"]] == max(scores.values())
    assert len(data["personas"]) == data["k"]


@needs_sklearn
def test_figures_match_the_persona_journeys():
    """Size, goals, channels, duration and the features' shares, recomputed from the
    persona's own journeys (its subset) in plain Python."""
    from cjm.personas import personas

    with cjm.read_log(EXAMPLE) as log:
        result = personas(log, k=3, goals=["Purchase"])
        engine = log.engine("_all")
        engine.prepare(None, None)
        paths = dict(engine.journey_paths())
        seen = set()
        for p in result.personas:
            part = log.subset(Paths(p.members), "p")
            sub = part.engine("_x")
            sub.prepare(None, None)
            mine = dict(sub.journey_paths())
            assert len(mine) == p.journeys and not seen & set(mine)
            seen |= set(mine)
            assert p.goals == sum("Purchase" in path for path in mine.values())
            others = [path for j, path in paths.items() if j not in mine]
            for f in p.features:
                if f.kind == "stage":
                    def has(path, name=f.name):
                        return name in path
                else:
                    pair = tuple(f.name.split(" -> "))

                    def has(path, pair=pair):
                        return pair in set(pairwise(path))
                assert f.share == pytest.approx(sum(map(has, mine.values())) / len(mine))
                assert f.rest == pytest.approx(sum(map(has, others)) / len(others))
                assert f.share > f.rest
            counts = Counter(mine.values())
            assert p.paths == sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        assert len(seen) == len(paths) == 3000


@needs_sklearn
def test_before_goal_profiles_what_comes_before_the_goal(tmp_path):
    data = _json(tmp_path, str(EXAMPLE), "--k", "3", "--before-goal", "--goal", "Purchase")
    assert data["before_goal"] is True
    shown = [s for p in data["personas"] for path in p["top_paths"] for s in path["stages"]]
    assert shown and "Purchase" not in shown
    assert "Purchase" not in {f["name"] for p in data["personas"] for f in p["apart"]}
    reached = {row["journey_id"] for row in _rows() if row["stage"] == "Purchase"}
    assert sum(p["goal_journeys"] for p in data["personas"]) == len(reached)


def test_before_goal_subset_takes_the_journeys_of_a_cut_path():
    with cjm.read_log(EXAMPLE) as log:
        part = log.subset(Paths(((), ("Store Visit",)), ("Purchase",)), "cut")
        engine = part.engine("_cut")
        engine.prepare(None, None)
        for _, path in engine.journey_paths():
            cut = path[:path.index("Purchase")] if "Purchase" in path else path
            assert cut in ((), ("Store Visit",))
        whole = log.engine("_whole")
        whole.prepare(None, None)
        expected = sum(1 for _, path in whole.journey_paths()
                       if (path[:path.index("Purchase")] if "Purchase" in path else path)
                       in ((), ("Store Visit",)))
        assert part.journeys == expected > 0


@needs_sklearn
def test_rare_paths_join_the_nearest_persona(tmp_path, monkeypatch):
    monkeypatch.setattr("cjm.personas.MAX_FIT", 40)
    data = _json(tmp_path, str(EXAMPLE), "--k", "3")
    assert data["fitted"]["paths"] == 40 < data["paths"]
    assert data["fitted"]["journeys"] < data["journeys"]
    assert sum(p["journeys"] for p in data["personas"]) == data["journeys"]
    out = run_cli("personas", str(EXAMPLE), "--k", "3").stdout
    assert "k-means fitted on the 40 most common of" in out


@needs_sklearn
def test_min_journeys_hides_small_personas_and_paths(tmp_path):
    data = _json(tmp_path, str(EXAMPLE), "--k", "8", "--min-journeys", "300")
    assert data["withheld"]["personas"] >= 1
    assert all(p["journeys"] >= 300 for p in data["personas"])
    assert all(t["journeys"] >= 300 for p in data["personas"] for t in p["top_paths"])
    assert sum(p["journeys"] for p in data["personas"]) + data["withheld"]["journeys"] == 3000
    out = run_cli("personas", str(EXAMPLE), "--k", "8", "--min-journeys", "300").stdout
    assert f"{data['withheld']['personas']} personas of fewer than 300 journeys not shown" \
        in out.replace("\n", " ") or "persona of fewer than 300" in out


@needs_sklearn
def test_pseudonymized_output_holds_no_id(tmp_path):
    result = run_cli("personas", str(EXAMPLE), "--k", "3", "--pseudonymize", "--salt",
                     "a-secret-key-1", "--json", "p.json", "--maps", "maps")
    assert result.exit_code == 0, result.output
    texts = [result.output, (tmp_path / "p.json").read_text(encoding="utf-8")]
    texts += [f.read_text(encoding="utf-8") for f in sorted((tmp_path / "maps").iterdir())]
    ids = {r["journey_id"] for r in _rows()} | {r["customer_id"] for r in _rows()}
    for text in texts:
        assert not ids & set(re.findall(r"\b[JC]\d{6,7}\b", text))


@needs_sklearn
def test_one_map_per_persona(tmp_path):
    result = run_cli("personas", str(EXAMPLE), "--k", "3", "--maps", "maps")
    assert result.exit_code == 0, result.output
    assert "Wrote 3 maps in maps" in result.stdout
    assert sorted(f.name for f in (tmp_path / "maps").iterdir()) == [
        "persona-1.svg", "persona-2.svg", "persona-3.svg"]
    assert "Persona 1" in (tmp_path / "maps" / "persona-1.svg").read_text(encoding="utf-8")


@needs_sklearn
@pytest.mark.parametrize(("args", "message"), [
    (["--k", "many"], "--k must be auto or a whole number"),
    (["--k", "0"], "--k must be auto or a whole number"),
    (["--k", "5000"], "--k 5000 is more than the"),
])
def test_bad_k_is_a_usage_error(args, message):
    result = run_cli("personas", str(EXAMPLE), *args)
    assert result.exit_code == 2 and message in result.output


def test_without_scikit_learn_a_one_line_usage_error(monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # hidden: importing it fails
    result = run_cli("personas", str(EXAMPLE))
    assert result.exit_code == 2
    assert 'pip install "cjm[personas]"' in result.output
    assert "needs scikit-learn" in result.output.splitlines()[0]


def test_path_subsets_of_one_log_keep_their_cut_and_their_log_apart():
    """Subsets by path share each journey's path, made once per log and cut: the same paths
    with and without a cut, and within a subset, still pick their own journeys."""
    chosen = (("Store Visit",), ("Visit Site", "View Product"))
    with cjm.read_log(EXAMPLE) as log:
        whole = log.engine("_whole")
        whole.prepare(None, None)
        paths = dict(whole.journey_paths())

        def cut(path):
            return path[:path.index("Purchase")] if "Purchase" in path else path

        for before, shape in (((), tuple), (("Purchase",), cut), ((), tuple)):
            part = log.subset(Paths(chosen, before), "p")
            assert part.journeys == sum(shape(p) in chosen for p in paths.values()) > 0
        half = log.subset(Paths(tuple(paths.values())[:1500] + chosen), "half")
        inner = half.subset(Paths(chosen, ("Purchase",)), "inner")
        assert inner.journeys == sum(cut(p) in chosen for p in paths.values()
                                     if p in tuple(paths.values())[:1500] + chosen)
