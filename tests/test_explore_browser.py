"""The explorer in a real headless Chromium (as tests/test_report_browser.py drives it): it
loads offline with no console error and no request, each control changes the drawing as
cjm discover would draw it, selection shows the figures of cjm discover --json, and hostile
stage names stay text. Screenshots of each state go to build/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_explore import IMG, hostile_log
from tests.test_report import DESIGN, EXAMPLE
from tests.test_report_browser import SCREENSHOTS, _open, browser  # noqa: F401

EDGES = "document.querySelectorAll('.drawing:not([hidden]) g.edge').length"


def discovered(*flags: str) -> dict:
    result = run_cli("discover", str(EXAMPLE), "--json", "-", *flags)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _set(page, control: str, value: str) -> None:
    """Move a slider or pick an option as a person would: the value, then an input event."""
    page.eval_on_selector(f"#{control}", "(el, v) => { el.value = v; "
                          "el.dispatchEvent(new Event('input', {bubbles: true})); }", value)


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"explore-{name}.png"), full_page=True)


@pytest.fixture
def shop(browser, tmp_path):  # noqa: F811
    result = run_cli("explore", str(EXAMPLE), "-o", "shop.html", "--by", "segment",
                     "--top-values", "2")
    assert result.exit_code == 0, result.output
    url = (tmp_path / "shop.html").as_uri()
    page, seen = _open(browser, url)
    yield page, seen, url
    assert seen["console"] == [] and seen["errors"] == []
    assert seen["requests"] == [url], "the page must not ask for anything beyond itself"
    page.close()


def test_loads_offline_and_each_slider_redraws_as_discover(shop):
    page, _, _ = shop
    assert page.locator(".drawing:not([hidden])").count() == 1
    # It opens at cjm discover's default for this map: every stage, paths 90%.
    assert page.evaluate(EDGES) == discovered()["map"]["transitions_shown"]
    _shot(page, "start")
    before = page.evaluate(EDGES)
    for stages, paths in (("6", "6"), ("2", "6"), ("2", "0"), ("0", "0")):
        _set(page, "stages", stages)
        _set(page, "paths", paths)
        shown = discovered("--stages", f"{40 + 10 * int(stages)}%",
                           "--paths", f"{40 + 10 * int(paths)}%")["map"]["transitions_shown"]
        assert page.evaluate(EDGES) == shown, (stages, paths)
        assert page.locator("#command").inner_text().endswith(
            f"--stages {40 + 10 * int(stages)}% --paths {40 + 10 * int(paths)}%")
        _shot(page, f"stages{stages}-paths{paths}")
    assert page.evaluate(EDGES) < before


def test_view_group_and_highlights_change_the_drawing(shop):
    page, _, _ = shop
    visible = "document.querySelector('.drawing:not([hidden])').id"
    labels = "document.querySelector('.drawing:not([hidden]) svg').textContent"
    frequency, counts = page.evaluate(visible), page.evaluate(labels)
    _set(page, "view", "1")
    assert page.evaluate(visible) != frequency
    assert "transitions (median wait)" not in page.evaluate(labels)
    assert "median wait" in page.evaluate(labels) and page.evaluate(labels) != counts
    _shot(page, "performance")
    _set(page, "view", "0")
    _set(page, "group", "1")
    # cjm discover --by draws a map per segment: m.new.dot is that of segment = new.
    discovered("--by", "segment", "--top-values", "2", "--paths", "90%", "-o", "m.dot")
    assert "segment = new" in page.locator("#command").inner_text()
    assert page.evaluate(EDGES) == Path("m.new.dot").read_text().count(" -> ")
    assert page.evaluate(visible) != frequency
    _shot(page, "segment")
    _set(page, "group", "0")
    page.check("#goals")
    opacity = ("[...document.querySelectorAll('.drawing:not([hidden]) g.node')]"
               ".map(g => getComputedStyle(g).opacity)")
    faded = page.evaluate(opacity)
    assert "0.25" in faded and "1" in faded  # goals and dead-ends stand out
    _shot(page, "goals")
    page.uncheck("#goals")
    page.check("#handoffs")
    edges = page.evaluate("[...document.querySelectorAll('.drawing:not([hidden]) g.edge')]"
                          ".map(g => g.classList.contains('handoff') + getComputedStyle(g)"
                          ".opacity)")
    assert "true1" in edges and "false0.25" in edges
    _shot(page, "handoffs")


def test_selecting_a_stage_or_transition_shows_its_figures(shop):
    page, _, _ = shop
    _set(page, "paths", "6")
    whole = discovered("--paths", "100%")
    stage = next(s for s in whole["stages"] if s["name"] == "Add to Cart")
    page.locator('.drawing:not([hidden]) g.node[data-k]', has_text="Add to Cart").click()
    panel = page.locator("#panel")
    assert panel.locator("h2").inner_text() == "Add to Cart"
    text = panel.inner_text()
    assert f"journeys\t{stage['journeys']:,}" in text and f"events\t{stage['events']:,}" in text
    assert "Went next" in text and "Came from" in text and "Example journeys" in text
    assert "J0" in text
    _shot(page, "stage")
    # A transition, chosen with the keyboard: Tab to it, Enter.
    move = whole["transitions"][0]
    key = page.evaluate("(names) => { const d = JSON.parse(document.getElementById('cjm-data')"
                        ".textContent).names; return d.indexOf(names[0]) + '>' + "
                        "d.indexOf(names[1]); }", [move["from"], move["to"]])
    edge = page.locator(f'.drawing:not([hidden]) g.edge[data-k="{key}"]')
    edge.focus()
    page.keyboard.press("Enter")
    assert panel.locator("h2").inner_text() == f"{move['from']} \u2192 {move['to']}"
    assert f"transitions\t{move['count']:,}" in panel.inner_text()
    _shot(page, "transition")


def test_private_page_says_example_ids_are_withheld(browser, tmp_path):  # noqa: F811
    result = run_cli("explore", str(EXAMPLE), "-o", "p.html", "--min-journeys", "5")
    assert result.exit_code == 0, result.output
    page, seen = _open(browser, (tmp_path / "p.html").as_uri())
    page.locator('.drawing:not([hidden]) g.node[data-k]').first.click()
    assert "Withheld: the log was read with --pseudonymize or --min-journeys" in \
        page.locator("#panel").inner_text()
    assert seen["errors"] == [] and seen["console"] == []
    page.close()


def test_hostile_stage_names_stay_text(browser, write, tmp_path):  # noqa: F811
    log = hostile_log(write)
    result = run_cli("explore", str(log), "-o", "h.html", "--goal", "buy")
    assert result.exit_code == 0, result.output
    page, seen = _open(browser, (tmp_path / "h.html").as_uri())
    page.on("dialog", lambda d: seen["errors"].append(f"dialog: {d.message}"))
    node = page.locator('.drawing:not([hidden]) g.node[data-k]', has_text=IMG)
    node.click()
    assert page.locator("#panel h2").inner_text() == IMG
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert seen["errors"] == [] and seen["console"] == []
    _shot(page, "hostile")
    page.close()


def test_the_design_view_marks_deviations_as_check_does(browser, tmp_path):  # noqa: F811
    result = run_cli("explore", str(EXAMPLE), "-o", "d.html", "--design", str(DESIGN))
    assert result.exit_code == 0, result.output
    page, seen = _open(browser, (tmp_path / "d.html").as_uri())
    before = page.evaluate(EDGES)
    _set(page, "view", "2")
    _set(page, "paths", "3")
    checked = run_cli("check", str(EXAMPLE), "--design", str(DESIGN), "--stages", "100%",
                      "--paths", "70%", "-o", "check.dot")
    assert checked.exit_code in (0, 1), checked.output
    assert page.evaluate(EDGES) == Path("check.dot").read_text().count(" -> ") != before
    assert page.locator("#command").inner_text().startswith("cjm check shop.csv --design ")
    assert "deviation from the design" in page.locator(".drawing:not([hidden])").inner_text()
    _shot(page, "design")
    assert seen["errors"] == [] and seen["console"] == []
    page.close()
