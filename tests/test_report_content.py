"""What a report says: how journeys were defined, readable times, only the tiles the log
can fill, and captions that agree with the maps they describe (parsed from the output)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

import cjm
from cjm.report import ReportOptions, build_report
from cjm.report.html import to_html
from cjm.report.markdown import to_markdown
from tests.conftest import run_cli

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "shop.csv"
DESIGN = ROOT / "examples" / "designed-journey.yaml"
EVERYTHING = ("--by", "segment", "--funnel", "View Product,Add to Cart,Checkout,Purchase",
              "--compare-period", "quarter", "--design", str(DESIGN))


def report_text(tmp_path: Path, *args: str, log: Path = EXAMPLE) -> tuple[str, str]:
    """The HTML page (its text, maps left out) and the Markdown of one report."""
    result = run_cli("report", str(log), "-o", "r.html", "-o", "r.md", *args)
    assert result.exit_code == 0, result.output
    return (tmp_path / "r.html").read_text(encoding="utf-8"), \
        (tmp_path / "r.md").read_text(encoding="utf-8")


def page_text(page: str) -> str:
    """What a reader sees of the HTML, outside the maps."""
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", page, flags=re.S)))


def plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def no_outcome_log(write) -> Path:
    """A log without outcome or channel column, where Purchase ends every journey."""
    rows = ["journey,stage,timestamp"]
    for n in range(40):
        stages = ["Visit", "Search", "Purchase"] if n % 2 else ["Visit", "Purchase"]
        rows += [f"j{n:02d},{stage},2024-03-{1 + n % 28:02d}T10:{minute:02d}:00.123456Z"
                 for minute, stage in enumerate(stages)]
    return write("plain.csv", "\n".join(rows) + "\n")


def test_report_says_how_journeys_were_defined_with_flags(tmp_path):
    page, markdown = report_text(tmp_path, "--journey-gap", "30m", "--where", "segment=new",
                                 "--since", "2024-03-01", "--until", "2024-10-01",
                                 "--goal", "Purchase")
    for text in (page_text(page), plain(markdown)):
        assert "one per value of journey_id" in text
        assert "split after 30m without an event (--journey-gap)" in text
        assert "--where segment=new" in text and "--since 2024-03-01" in text
        assert "--until 2024-10-01" in text
        assert "Goals: Purchase, given by --goal" in text


def test_report_says_where_goals_come_from_and_by_which_rule(tmp_path, write):
    _, markdown = report_text(tmp_path)
    text = plain(markdown)
    assert ("Goals: journeys whose converted is true (true, yes, 1, …), from the log's "
            "outcome column") in text
    assert "Filters: none" in text and "--journey-gap" in text  # not split: say how to
    _, markdown = report_text(tmp_path, log=no_outcome_log(write))
    text = plain(markdown)
    assert ("Goals: Purchase, inferred: stages where at least 80% of the journeys reaching "
            "them end, and that end at least 5% of all journeys") in text


def test_timestamps_are_readable_and_carry_their_time_zone(tmp_path, write):
    for log in (EXAMPLE, no_outcome_log(write)):
        page, markdown = report_text(tmp_path, log=log)
        for text in (page_text(page), plain(markdown)):
            assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), "raw ISO timestamp"
            assert re.search(r"from 2024-0\d-\d\d \d\d:\d\d UTC to 2024-\d\d-\d\d \d\d:\d\d UTC",
                             text)


def test_no_hand_off_tile_or_section_without_a_column(tmp_path, write):
    page, markdown = report_text(tmp_path, log=no_outcome_log(write))
    for text in (page_text(page), plain(markdown)):
        assert "Hand-off" not in text and "hand-off" not in text
    assert 'href="#handoffs"' not in page
    page, markdown = report_text(tmp_path)  # shop.csv has a channel column
    assert "## Hand-offs" in markdown and 'href="#handoffs"' in page


def test_the_paths_tile_counts_the_paths_there_are(tmp_path, write):
    _, markdown = report_text(tmp_path, log=no_outcome_log(write))
    assert "| top 2 cover 100% |" in plain(markdown)  # the log has two paths, not ten


def _claimed(caption: str) -> tuple[int, int]:
    """The stages and edges a caption says its map shows."""
    match = re.search(r"(?:shows )?([\d,]+) (?:of [\d,]+ )?stages and ([\d,]+) "
                      r"(?:of [\d,]+ )?edges", caption)
    assert match, f"the caption does not say what it shows: {caption}"
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def test_html_captions_agree_with_the_drawn_maps(tmp_path):
    page, _ = report_text(tmp_path, *EVERYTHING)
    figures = re.findall(r'<figure class="map"[^>]*>(.*?)<figcaption>(.*?)</figcaption>',
                         page, re.S)
    assert len(figures) == 7  # the map, four segments, the comparison, the check
    for svg, caption in figures:
        titles = re.findall(r'class="node">\s*<title>(.*?)</title>', svg)
        stages = [t for t in titles if html.unescape(t).startswith("stage:")]
        edges = re.findall(r'class="edge"', svg)
        assert _claimed(html.unescape(caption)) == (len(stages), len(edges)), caption


def test_markdown_captions_agree_with_the_drawn_diagrams(tmp_path):
    _, markdown = report_text(tmp_path, *EVERYTHING)
    blocks = re.findall(r"```mermaid\n(.*?)```\n\n\*(.*?)\*", markdown, re.S)
    assert len(blocks) == 7
    for diagram, caption in blocks:
        stages = re.findall(r'^  s\d+\["', diagram, re.M)
        edges = re.findall(r"^  \w+ -(?:-|\.-)>", diagram, re.M)
        assert _claimed(plain(caption)) == (len(stages), len(edges)), caption


@pytest.mark.parametrize(("view", "said", "unsaid"), [
    ("frequency", "Edge labels: transitions", "median wait"),
    ("performance", "Edge labels: median wait", "transitions ("),
    ("both", "Edge labels: transitions (median wait)", None),
])
def test_the_legend_of_a_map_follows_its_view(view, said, unsaid):
    log = cjm.read_log(EXAMPLE)
    try:
        report = build_report(log, ReportOptions(view=view))
        page, markdown = page_text(to_html(report)), plain(to_markdown(report))
    finally:
        log.close()
    for text in (page, markdown):
        assert said in text
        assert unsaid is None or unsaid not in text.split("Journey map", 1)[1][:2000]


def test_the_comparison_map_labels_only_what_its_caption_says(tmp_path):
    page, _ = report_text(tmp_path, "--compare-period", "quarter")
    svg, caption = re.findall(r'<figure class="map"[^>]*>(.*?)<figcaption>(.*?)</figcaption>',
                              page, re.S)[-1]
    section = page_text(page.split('id="comparison"', 1)[1])
    significant = 0 if "changed significantly (Holm-adjusted, alpha 0.05): none" in section \
        else None
    labelled = [title for title, body in
                re.findall(r'class="edge">\s*<title>(.*?)</title>(.*?)</g>', svg, re.S)
                if "<text" in body]
    transitions = [t for t in labelled
                   if not t.startswith("start") and not t.endswith("end")]
    assert significant == 0 and transitions == []  # no change is significant in shop.csv
    assert len(labelled) > 0 and "dotted edges from start and to end carry" in caption
