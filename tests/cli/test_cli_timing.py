"""`cjm timing`: the table, the JSON and the SVG chart, their bytes and their errors."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import run_cli
from tests.journey_logs import write_journeys

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "shop.csv"
SVG = "{http://www.w3.org/2000/svg}"


def test_timing_prints_the_curve_and_writes_json_and_svg(tmp_path):
    result = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--by", "channel",
                     "--json", "t.json", "-o", "t.svg")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert data["schema"] == "cjm.timing/1"
    assert data["goals"] == {"stages": ["Purchase"], "source": "flag", "outcome_column": None}
    assert [g["label"] for g in data["groups"]] == ["channel = web", "channel = app",
                                                    "channel = store"]
    assert data["logrank"]["df"] == 2
    assert sum(g["journeys"] for g in data["groups"]) == data["all"]["journeys"] == 3000
    out = result.stdout
    assert "Time to goal (95% intervals)" in out and "Log-rank test between the 3 groups" in out
    assert f"{data['all']['reached']:,}" in out
    root = ET.parse(tmp_path / "t.svg").getroot()
    assert [t.text for t in root.iter(f"{SVG}title")][1:] == [g["label"] for g in data["groups"]]
    assert len([p for p in root.iter(f"{SVG}path") if p.get("fill") == "none"]) == 3


def test_same_log_same_bytes_whatever_the_row_order(tmp_path):
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    shuffled = lines[1:]
    random.Random(3).shuffle(shuffled)
    (tmp_path / "s.csv").write_text("\n".join([lines[0], *shuffled]) + "\n", encoding="utf-8")
    outputs = []
    for name, log in (("a", EXAMPLE), ("b", EXAMPLE), ("c", tmp_path / "s.csv")):
        result = run_cli("timing", str(log), "--goal", "Purchase", "--period", "quarter",
                         "--json", f"{name}.json", "-o", f"{name}.svg", "-q")
        assert result.exit_code == 0, result.output
        data = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        del data["reading"]  # names the file read
        outputs.append((data, (tmp_path / f"{name}.svg").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0][0]["logrank"]["df"] == 3


def test_hostile_group_names_are_escaped_in_the_chart(tmp_path):
    hostile = '<script>alert("x")</script> & \x1b[2J'
    journeys = {f"j{i}": ["Visit"] * (i % 3 + 1) + ["Buy"] for i in range(12)}
    extra = {j: {"segment": hostile if i % 2 else "plain"} for i, j in enumerate(journeys)}
    write_journeys(tmp_path / "h.csv", journeys, extra)
    result = run_cli("timing", "h.csv", "--goal", "Buy", "--by", "segment", "-o", "h.svg")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "h.svg").read_text(encoding="utf-8")
    assert "<script" not in text and "\x1b" not in text
    titles = [t.text for t in ET.fromstring(text).iter(f"{SVG}title")]
    assert 'segment = <script>alert("x")</script> & \\x1b[2J' in titles
    assert "\x1b" not in result.stdout


def test_timing_errors_are_one_line_with_the_exit_code(tmp_path):
    chart = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "-o", "t.png")
    assert chart.exit_code == 2 and "is not an .svg file" in chart.output
    unknown = run_cli("timing", str(EXAMPLE), "--goal", "Purchse")
    assert unknown.exit_code == 2 and "Did you mean 'Purchase'?" in unknown.output
    none = run_cli("timing", str(EXAMPLE))
    assert none.exit_code == 2 and "nearest: Purchase" in none.output
    both = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--by", "channel",
                   "--period", "month")
    assert both.exit_code == 2 and "--by or --period" in both.output
    few = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--min-journeys", "5000")
    assert few.exit_code == 1 and "fewer than --min-journeys 5000" in few.output
    assert "Lower --min-journeys" in few.output


def test_min_journeys_hides_small_groups_and_pseudonyms_change_nothing(tmp_path):
    plain = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--by", "segment",
                    "--json", "-")
    private = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--by", "segment",
                      "--json", "-", "--pseudonymize", "--salt", "a-secret-key-1")
    assert plain.exit_code == private.exit_code == 0
    a, b = json.loads(plain.stdout), json.loads(private.stdout)
    del a["reading"], b["reading"]
    assert a == b
    sizes = {g["label"]: g["journeys"] for g in a["groups"]}
    k = min(sizes.values()) + 1  # the smallest segment goes
    kept = run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--by", "segment",
                   "--json", "-", "--min-journeys", str(k))
    data = json.loads(kept.stdout)
    assert all(g["journeys"] >= k for g in data["groups"])
    assert len(data["groups"]) < len(sizes)
    assert all(s["at_risk"] >= k for g in [data["all"], *data["groups"]] for s in g["curve"])


def test_report_has_a_time_to_goal_section_on_request(tmp_path):
    args = ["report", str(EXAMPLE), "--goal", "Purchase", "--by", "channel"]
    for name in ("a", "b"):
        result = run_cli(*args, "--timing", "-o", f"{name}.md", "-o", f"{name}.html")
        assert result.exit_code == 0, result.output
    markdown = (tmp_path / "a.md").read_text(encoding="utf-8")
    assert markdown == (tmp_path / "b.md").read_text(encoding="utf-8")
    section = markdown.split("## Time to goal", 1)[1].split("\n## ", 1)[0]
    data = json.loads(run_cli("timing", str(EXAMPLE), "--goal", "Purchase", "--by", "channel",
                              "--json", "-").stdout)
    assert f"| All journeys | 3,000 | {data['all']['reached']:,} |" in section
    assert "| channel = store | 215 |" in section and "not reached" in section
    assert f"p = {data['logrank']['p_value']:.3g}" in section
    assert "Time to goal" in (tmp_path / "a.html").read_text(encoding="utf-8")
    plain = run_cli(*args, "-o", "plain.md")
    assert plain.exit_code == 0
    assert "## Time to goal" not in (tmp_path / "plain.md").read_text(encoding="utf-8")


def test_report_batch_key_and_a_log_without_goals(tmp_path):
    journeys = {f"j{i}": ["Visit", "Cart"] if i % 2 else ["Cart", "Visit"] for i in range(10)}
    write_journeys(tmp_path / "n.csv", journeys)
    (tmp_path / "r.toml").write_text('[[report]]\nlogs = "n.csv"\noutput = "n.md"\n'
                                     "timing = true\n", encoding="utf-8")
    result = run_cli("report", "--config", "r.toml")
    assert result.exit_code == 0, result.output
    section = (tmp_path / "n.md").read_text(encoding="utf-8").split("## Time to goal", 1)[1]
    assert "No goal stage is known" in section.split("\n## ", 1)[0]
