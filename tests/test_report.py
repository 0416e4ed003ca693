"""cjm report: the HTML page, the Markdown with Mermaid, escaping, batch runs, gates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cjm.render.mermaid import text as mermaid_text
from cjm.report.markdown import md
from tests.conftest import run_cli

EXAMPLE = Path(__file__).parents[1] / "examples" / "shop.csv"
DESIGN = Path(__file__).parents[1] / "examples" / "designed-journey.yaml"
HOSTILE = [
    '<script>alert("x")</script>',
    "Tom & Jerry's \"deal\"",
    "A-->B |pipe| [x] {y} (z) ~~strike~~",
    "#60; `code` *star* _under_ @mention :smile: $x$",
    "مرحبا 😀",
    "end",
]


def _hostile_log(write) -> Path:
    """Two journeys through stages whose names are markup in HTML, Markdown and Mermaid."""
    rows = ["journey,stage,timestamp"]
    for journey in ("j1", "j2"):
        for minute, stage in enumerate(HOSTILE):
            quoted = '"' + stage.replace('"', '""') + '"'
            rows.append(f"{journey},{quoted},2024-03-0{1 + (journey == 'j2')}T10:{minute:02}:00Z")
    return write("hostile.csv", "\n".join(rows) + "\n")


def test_html_report_has_every_section_and_inline_maps(tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "--by", "segment", "--funnel",
                     "View Product,Add to Cart,Checkout,Purchase", "--compare-period",
                     "quarter", "--design", str(DESIGN))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    for anchor in ("overview", "map", "paths", "dead-ends", "gaps", "handoffs", "slices",
                   "funnel", "comparison", "conformance", "data"):
        assert f'<section id="{anchor}">' in page
    # The whole map, the four segments, the comparison and the check: seven drawings inline.
    assert page.count("<svg ") == 7
    assert "segment = vip" in page and "3,000" in page
    # Self-contained: no DOCTYPE of the SVGs, no script, nothing fetched.
    assert "<script" not in page and "<!DOCTYPE svg" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids must be unique across the drawings"


def test_reports_are_byte_identical_run_to_run(tmp_path):
    for name in ("a", "b"):
        result = run_cli("report", str(EXAMPLE), "-o", f"{name}.html", "-o", f"{name}.md",
                         "--by", "segment")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert (tmp_path / "a.md").read_bytes() == (tmp_path / "b.md").read_bytes()


def test_markdown_report_has_tables_and_a_legible_mermaid_map(tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "r.md", "--assets", "maps")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert text.startswith("# shop.csv\n")
    block = re.search(r"```mermaid\nflowchart TD\n(.*?)```", text, re.S)
    assert block
    nodes = re.findall(r'^  s\d+\["', block[1], re.M)
    edges = re.findall(r"^  \w+ -(?:-|\.-)>", block[1], re.M)
    # shop.csv has 16 stages and 64 transitions; the diagram keeps it to a readable size.
    assert 0 < len(nodes) <= 15 and 0 < len(edges) <= 30 + 15
    assert "The diagram shows 15 of 16 stages" in text
    assert "| \\# | Path | Journeys |" in text
    # --assets: the map as SVG and PNG, linked relative to the Markdown file.
    assert (tmp_path / "maps" / "r.map.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "maps" / "r.map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](maps/r.map.svg)" in text


def test_hostile_stage_names_render_literally_in_html(write, tmp_path):
    log = _hostile_log(write)
    result = run_cli("report", str(log), "-o", "h.html", "--goal", "end")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "h.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "alert(\"x\")" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "Tom &amp; Jerry&#x27;s &quot;deal&quot;" in page
    assert "مرحبا 😀" in page


def test_hostile_stage_names_render_literally_in_markdown_and_mermaid(write, tmp_path):
    log = _hostile_log(write)
    result = run_cli("report", str(log), "-o", "h.md", "--goal", "end")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "h.md").read_text(encoding="utf-8")
    mermaid = re.search(r"```mermaid\n(.*?)```", text, re.S)[1]
    tables = text.replace(mermaid, "")
    assert "<script>" not in text and "@mention" not in tables.replace("\\@mention", "")
    for name in HOSTILE:
        assert mermaid_text(name) in mermaid
        assert md(name) in tables
    # Inside the diagram a name can neither close its quotes nor open a tag or an entity code.
    for label in re.findall(r'\["(.*?)"\]', mermaid):
        assert '"' not in label and "<" not in label and "#" not in label


@pytest.mark.parametrize(("name", "shown"), [
    ('a "b"', "a &quot;b&quot;"),
    ("<i>", "&lt;i&gt;"),
    ("#60;", "&num;60;"),
    ("x\ny", "x y"),
    ("`md`", "&grave;md&grave;"),
    ("A & B", "A &amp; B"),
    ("%%{init: {}}%%", "&percnt;&percnt;{init: {}}&percnt;&percnt;"),
])
def test_mermaid_label_text(name, shown):
    assert mermaid_text(name) == shown


@pytest.mark.parametrize(("value", "shown"), [
    ("a|b", "a\\|b"),
    ("<b>", "&lt;b&gt;"),
    ("- item", "\\- item"),
    ("12. x", "12\\. x"),
    ("@team #12 :tada:", "\\@team \\#12 \\:tada\\:"),
    ("two\nlines", "two lines"),
    ("a-b", "a-b"),
])
def test_markdown_text(value, shown):
    assert md(value) == shown


def test_gate_fails_after_writing_the_report(tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "r.md", "--fail-on-dead-end-rate", "50%")
    assert result.exit_code == 1
    assert "dead-end rate 71.5% is above 50.0%" in result.output
    assert (tmp_path / "r.md").exists()


def test_gate_without_goals_is_a_usage_error_and_inferred_goals_are_named(tmp_path):
    from tests.journey_logs import write_journeys

    # Both end at A or B, and each reaches both: no goal is inferred.
    none = write_journeys(tmp_path / "none.csv", {f"j{i}": ["V", *(["A", "B"] if i % 2 else
                                                                  ["B", "A"])] for i in range(8)})
    result = run_cli("report", str(none), "-o", "n.md", "--fail-on-dead-end-rate", "50%")
    assert result.exit_code == 2, result.output
    assert "no goal stage given or found" in result.output
    assert (tmp_path / "n.md").exists()
    inferred = write_journeys(tmp_path / "inf.csv", {f"j{i}": ["V", "Buy"] if i % 2 else
                                                     ["V", "W", "V"] for i in range(8)})
    result = run_cli("report", str(inferred), "-o", "i.md", "-q", "--fail-on-dead-end-rate",
                     "60%")
    assert result.exit_code == 0, result.output
    assert "--fail-on-dead-end-rate counts dead-ends against inferred goals: Buy" in \
        result.output


def test_report_needs_a_known_extension():
    result = run_cli("report", str(EXAMPLE), "-o", "r.pdf")
    assert result.exit_code == 2
    assert "a report is .html or .md" in result.output


def test_batch_goes_on_past_a_bad_entry_and_exits_1(write, tmp_path):
    config = write("reports.toml", f"""
[defaults]
case = "journey_id"
goal = ["Purchase"]

[[report]]
name = "all"
logs = ["{EXAMPLE.as_posix()}"]
output = ["out/all.html", "out/all.md"]

[[report]]
name = "broken"
logs = ["missing.csv"]
output = "out/broken.html"

[[report]]
name = "vip in Q3"
logs = ["{EXAMPLE.as_posix()}"]
where = "segment=vip"
since = "2024-07-01"
until = "2024-10-01"
funnel = ["View Product", "Add to Cart", "Purchase"]
output = "out/vip.html"
""")
    result = run_cli("report", "--config", str(config))
    assert result.exit_code == 1
    assert (tmp_path / "out" / "all.html").exists() and (tmp_path / "out" / "all.md").exists()
    vip = (tmp_path / "out" / "vip.html").read_text(encoding="utf-8")
    assert "segment = vip, 2024-07-01 to 2024-10-01" in vip and 'id="funnel"' in vip
    assert not (tmp_path / "out" / "broken.html").exists()
    assert "1 of 3 reports failed" in result.output
    assert "broken:" in result.output and "missing.csv" in result.output


def test_batch_file_mistakes_are_reported_before_any_run(write):
    config = write("reports.toml", '[[report]]\nlogs = "a.csv"\noutput = "a.html"\n'
                                   'gaol = ["Purchase"]\n')
    result = run_cli("report", "--config", str(config))
    assert result.exit_code == 2
    assert "unknown key 'gaol'. Did you mean 'goal'?" in result.output


def test_batch_and_logs_do_not_mix(write):
    config = write("reports.toml", '[[report]]\nlogs = "a.csv"\noutput = "a.html"\n')
    result = run_cli("report", str(EXAMPLE), "--config", str(config))
    assert result.exit_code == 2
    assert "not both" in result.output


def test_progress_shows_each_step_on_a_terminal():
    import io

    from rich.console import Console

    from cjm import progress
    from cjm.engine.duckdb.eventlog import read_log
    from cjm.journeys import discover

    screen = io.StringIO()
    progress.enable(Console(file=screen, force_terminal=True, width=100))
    try:
        with read_log(EXAMPLE) as log:
            discover(log)
    finally:
        progress.enable(None)
    shown = screen.getvalue()
    assert "Reading shop.csv" in shown and "Aggregating the journeys" in shown


def test_progress_shows_names_from_the_data_as_written():
    """A step named after a file or a segment value ("Slice segment = …") shows the name as
    written, even one that looks like Rich markup or an emoji code, or would break markup."""
    import io

    from rich.console import Console

    from cjm import progress

    name = "Slice segment = [/] [red]:thumbs_up:"
    screen = io.StringIO()
    progress.enable(Console(file=screen, force_terminal=True, width=100, emoji=False))
    try:
        with progress.step(name):
            pass
    finally:
        progress.enable(None)
    assert name in screen.getvalue()


def test_progress_is_silent_off_a_terminal(capsys):
    from rich.console import Console

    from cjm import progress

    progress.enable(Console(file=None, force_terminal=False))
    with progress.step("Reading") as advance:
        advance(1, 2)
    progress.enable(None)
    assert capsys.readouterr().err == ""


def test_gate_names_the_segment_that_broke_it(tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "--by", "segment",
                     "--fail-on-dead-end-rate", "75%")
    assert result.exit_code == 1
    assert "segment = new: dead-end rate 77.8% is above 75.0%" in result.output
    assert "Wrote r.html" in result.output  # written, and said so, before the gate fails


def test_batch_takes_no_other_flags(write):
    config = write("reports.toml", f'[[report]]\nlogs = "{EXAMPLE.as_posix()}"\n'
                                   'output = "a.html"\nmin_journeys = 5\n')
    for extra in (["-o", "x.md"], ["--by", "segment"], ["--pseudonymize"]):
        result = run_cli("report", "--config", str(config), *extra)
        assert result.exit_code == 2, extra
        assert "belongs in the file" in result.output
    assert run_cli("report", "--config", str(config)).exit_code == 0  # min_journeys: an int


def test_slices_and_comparison_keep_still_active(tmp_path):
    import json

    result = run_cli("discover", str(EXAMPLE), "--no-map", "--still-active", "60d", "--by",
                     "segment", "--json", "-")
    data = json.loads(result.stdout)
    whole = data["all"]["dead_ends"]["journeys"]
    assert sum(s["dead_ends"]["journeys"] for s in data["slices"]) == whole
    assert all(s["dead_ends"]["open_journeys"] for s in data["slices"])


def test_the_library_runs_a_batch_file_as_the_cli_does(write, tmp_path):
    from cjm.report import run_batch

    config = write("reports.toml", f"""
[defaults]
goal = ["Purchase"]
by = "segment"

[[report]]
name = "all"
logs = ["{EXAMPLE.as_posix()}"]
output = ["out/all.html", "out/all.md"]
fail_on_dead_end_rate = "75%"

[[report]]
name = "broken"
logs = ["missing.csv"]
output = "out/broken.html"
""")
    done = run_batch(config)
    assert done.reports == 2
    assert [(f.name, "missing.csv" in f.message) for f in done.failures] == [
        ("all", False), ("broken", True)]
    assert "segment = new: dead-end rate" in done.failures[0].message  # written, then gated
    by_library = {p: (tmp_path / "out" / p).read_bytes() for p in ("all.html", "all.md")}
    for path in by_library:
        (tmp_path / "out" / path).unlink()
    result = run_cli("report", "--config", str(config))
    assert result.exit_code == 1 and "2 of 2 reports failed" in result.output
    assert by_library == {p: (tmp_path / "out" / p).read_bytes() for p in by_library}


def test_a_report_from_flags_is_the_command_s(tmp_path):
    from cjm.report import run_report

    flags = {"by": "segment", "goal_share": "70%", "max_edges": 12}
    run = run_report([str(EXAMPLE)], flags, [tmp_path / "api.md"], reading={"case": "journey_id"})
    assert run.written == [tmp_path / "api.md"] and run.log.files[0].path.endswith("shop.csv")
    result = run_cli("report", str(EXAMPLE), "-o", "cli.md", "--by", "segment", "--goal-share",
                     "70%", "--max-edges", "12", "--case", "journey_id")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "api.md").read_bytes() == (tmp_path / "cli.md").read_bytes()


def test_batch_keys_are_the_reading_flags():
    from dataclasses import fields

    from cjm.cli.common import LogArgs
    from cjm.config import READING_OPTIONS

    assert set(READING_OPTIONS) == {f.name for f in fields(LogArgs)} - {"paths", "debug"}


def test_attribution_section_shows_the_command_s_shares(tmp_path):
    import json

    args = ["--goal", "Purchase"]
    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "-o", "r.md", "--attribution",
                     "channel", *args)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert '<section id="attribution">' in page and "## Attribution" in text
    shown = run_cli("attribution", str(EXAMPLE), "--by-channel", *args, "--json", "-")
    data = json.loads(shown.stdout)
    for t in data["touchpoints"]:
        markov, last = t["markov"], t["last_touch"]
        dash = "\N{EN DASH}"
        row = (f"| {md(t['name'])} | {t['journeys']:,} | {markov['share'] * 100:.1f}% | "
               + md(f"{markov['low'] * 100:.1f}{dash}{markov['high'] * 100:.1f}%") + " | ")
        assert row in text, row
        assert md(f"{last['share'] * 100:.1f}% ({last['low'] * 100:.1f}{dash}") in text
    assert "Association, not cause" in text
    again = run_cli("report", str(EXAMPLE), "-o", "again.md", "--attribution", "channel", *args)
    assert again.exit_code == 0
    assert (tmp_path / "again.md").read_bytes() == text.encode("utf-8")
    wrong = run_cli("report", str(EXAMPLE), "-o", "x.md", "--attribution", "page")
    assert wrong.exit_code == 2 and "stage, channel" in wrong.output


def test_step_matrix_section_shows_the_command_s_shares(tmp_path):
    import json

    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "-o", "r.md", "--step-matrix",
                     "4", "--goal", "Purchase")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert '<section id="steps">' in page and "## Step matrix" in text
    data = json.loads(run_cli("steps", str(EXAMPLE), "--goal", "Purchase", "--max-steps", "4",
                              "--json", "-").stdout)
    shown = [r for r in [*data["stages"], *data["ended"]] if any(r["journeys"])]
    section = page.split('<section id="steps">')[1].split("</section>")[0]
    assert section.count("<rect") == 4 * len(shown)  # a cell per step and row
    for row in shown:
        for share in row["shares"]:
            if share:
                assert f"{share * 100:.1f}%" in section and f"{share * 100:.1f}%" in text


def test_the_heat_map_escapes_names_and_is_the_same_every_time():
    from cjm.render.heatmap import heatmap_svg

    rows = [("<script>alert(1)</script>", [0.5, None]), ("a & b", [0.0, 0.25])]
    svg = heatmap_svg("t <x>", ["1", "2"], rows)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    assert svg == heatmap_svg("t <x>", ["1", "2"], rows)
    assert svg.count("<rect") == 4 and ">*<" in svg  # the withheld cell says so


def test_personas_section_shows_the_command_s_personas(tmp_path):
    import json

    pytest.importorskip("sklearn", reason="the personas extra (scikit-learn) is not installed")
    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "-o", "r.md", "--personas", "3",
                     "--goal", "Purchase")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert '<section id="personas">' in page and "## Personas" in text
    data = json.loads(run_cli("personas", str(EXAMPLE), "--k", "3", "--goal", "Purchase",
                              "--json", "-").stdout)
    for persona in data["personas"]:
        assert f"persona {persona['persona']}" in text
        assert f"{persona['journeys']:,}" in text
    bad = run_cli("report", str(EXAMPLE), "-o", "r.html", "--personas", "many")
    assert bad.exit_code == 2 and "--k must be auto or a whole number" in bad.output
