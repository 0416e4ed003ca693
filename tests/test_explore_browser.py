"""The explorer in real browsers, the same checks in each (tests/browsers.py): Chromium,
Firefox and WebKitGTK, Safari's engine. The page loads offline with no console error and no
request, each control changes the drawing as cjm discover would draw it, selection shows the
figures of cjm discover --json, and hostile stage names stay text. Screenshots of each state go
to build/screenshots/<browser>/."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
import time
from pathlib import Path

import pytest

from tests import browsers
from tests.conftest import run_cli
from tests.test_explore import IMG, hostile_log
from tests.test_report import DESIGN, EXAMPLE
from tests.test_report_browser import SCREENSHOTS, _open, browser  # noqa: F401

EDGES = "document.querySelectorAll('.drawing:not([hidden]) g.edge').length"


class Chromium:
    def __init__(self, launched) -> None:
        self.launched = launched

    def open(self, url: str) -> browsers.Page:
        return browsers.PlaywrightPage(*_open(self.launched, url))

    def quit(self) -> None:
        """The browser fixture closes it."""


@pytest.fixture(scope="module", params=["chromium", "firefox", "webkit"])
def engine(request):
    """The browser the module's tests run in, each in turn."""
    if request.param == "chromium":
        driven = Chromium(request.getfixturevalue("browser"))
    else:
        driven = getattr(browsers, request.param)()
    yield driven
    driven.quit()


def discovered(*flags: str) -> dict:
    result = run_cli("discover", str(EXAMPLE), "--json", "-", *flags)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _set(page: browsers.Page, control: str, value: str) -> None:
    """Move a slider or pick an option as a person would: the value, then an input event."""
    page.call("(id, v) => { const el = document.getElementById(id); el.value = v; "
              "el.dispatchEvent(new Event('input', {bubbles: true})); }", control, value)


def _shot(page: browsers.Page, name: str) -> None:
    folder = SCREENSHOTS / page.browser
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(folder / f"explore-{name}.png")


def _clean(page: browsers.Page, url: str | None = None) -> None:
    """No console message, no page error and, with ``url``, no request beyond the page (its
    data: icon, which Firefox reports as a request, is in the page)."""
    seen = page.seen()
    assert seen["console"] == [] and seen["errors"] == [], seen
    if url is not None:
        beyond = [r for r in seen["requests"] if r != url and not r.startswith("data:")]
        assert beyond == [], \
            "the page must not ask for anything beyond itself"


@pytest.fixture
def shop(engine, tmp_path):
    result = run_cli("explore", str(EXAMPLE), "-o", "shop.html", "--by", "segment",
                     "--top-values", "2")
    assert result.exit_code == 0, result.output
    url = (tmp_path / "shop.html").as_uri()
    page = engine.open(url)
    yield page
    _clean(page, url)
    page.close()


def test_each_browser_reports_console_messages_errors_and_requests(engine, write):
    """The checks above are worth something only if each browser tells of what they forbid."""
    with socketserver.TCPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        asked = f"http://127.0.0.1:{server.server_address[1]}/icon.png"
        page = engine.open(write("noisy.html", f"""<!DOCTYPE html><button id="b">go</button>
<script>document.getElementById("b").addEventListener("click", () => {{
  console.error("heard"); new Image().src = "{asked}";
  setTimeout(() => {{ throw new Error("thrown"); }});
}});</script>""").as_uri())
        page.click("#b")
        for _ in range(50):
            seen = page.seen()
            if seen["errors"] and asked in seen["requests"]:
                break
            time.sleep(0.1)
        server.shutdown()
    assert seen["console"] == ["error: heard"]
    assert len(seen["errors"]) == 1  # WebKit tells a file: page's errors as "Script error."
    assert asked in seen["requests"]
    page.close()


def test_loads_offline_and_each_slider_redraws_as_discover(shop):
    page = shop
    assert page.count(".drawing:not([hidden])") == 1
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
        assert page.text("#command").endswith(
            f"--stages {40 + 10 * int(stages)}% --paths {40 + 10 * int(paths)}%")
        _shot(page, f"stages{stages}-paths{paths}")
    assert page.evaluate(EDGES) < before


def test_view_group_and_highlights_change_the_drawing(shop):
    page = shop
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
    assert "segment = new" in page.text("#command")
    assert page.evaluate(EDGES) == Path("m.new.dot").read_text().count(" -> ")
    assert page.evaluate(visible) != frequency
    _shot(page, "segment")
    _set(page, "group", "0")
    page.click("#goals")
    assert page.evaluate("document.getElementById('goals').checked")
    opacity = ("[...document.querySelectorAll('.drawing:not([hidden]) g.node')]"
               ".map(g => getComputedStyle(g).opacity)")
    faded = page.evaluate(opacity)
    assert "0.25" in faded and "1" in faded  # goals and dead-ends stand out
    _shot(page, "goals")
    page.click("#goals")
    page.click("#handoffs")
    assert page.evaluate("!document.getElementById('goals').checked && "
                         "document.getElementById('handoffs').checked")
    edges = page.evaluate("[...document.querySelectorAll('.drawing:not([hidden]) g.edge')]"
                          ".map(g => g.classList.contains('handoff') + getComputedStyle(g)"
                          ".opacity)")
    assert "true1" in edges and "false0.25" in edges
    _shot(page, "handoffs")


def test_each_control_answers_the_keyboard(shop):
    """Real key presses, not made-up events: each browser must fire the input event that the
    page listens to when a slider moves or an option is picked."""
    page = shop
    page.focus("#stages")
    page.press("ArrowLeft")
    assert page.text("#command").endswith("--stages 90% --paths 90%")
    shown = discovered("--stages", "90%", "--paths", "90%")["map"]["transitions_shown"]
    assert page.evaluate(EDGES) == shown
    page.focus("#view")
    page.press("ArrowDown")
    assert "median wait" in page.evaluate(
        "document.querySelector('.drawing:not([hidden]) svg').textContent")
    page.focus("#group")
    page.press("ArrowDown")
    assert page.text("#command").endswith("(segment = new)")
    _shot(page, "keyboard")


def test_selecting_a_stage_or_transition_shows_its_figures(shop):
    page = shop
    _set(page, "paths", "6")
    whole = discovered("--paths", "100%")
    stage = next(s for s in whole["stages"] if s["name"] == "Add to Cart")
    page.click(".drawing:not([hidden]) g.node[data-k]", "Add to Cart")
    assert page.text("#panel h2") == "Add to Cart"
    text = page.text("#panel")
    assert f"journeys\t{stage['journeys']:,}" in text and f"events\t{stage['events']:,}" in text
    assert "Went next" in text and "Came from" in text and "Example journeys" in text
    assert "J0" in text
    _shot(page, "stage")
    # A transition, chosen with the keyboard: focus it, Enter.
    move = whole["transitions"][0]
    key = page.call("(names) => { const d = JSON.parse(document.getElementById('cjm-data')"
                    ".textContent).names; return d.indexOf(names[0]) + '>' + "
                    "d.indexOf(names[1]); }", [move["from"], move["to"]])
    edge = f'.drawing:not([hidden]) g.edge[data-k="{key}"]'
    assert page.count(edge) == 1
    page.focus(edge)
    page.press("Enter")
    assert page.text("#panel h2") == f"{move['from']} \u2192 {move['to']}"
    assert f"transitions\t{move['count']:,}" in page.text("#panel")
    _shot(page, "transition")


def test_tab_from_the_controls_reaches_the_map_and_enter_selects(shop):
    """As the page says: Tab to a stage or transition and press Enter."""
    page = shop
    page.focus("#handoffs")  # the last control
    page.press("Tab")
    focused = ("(() => { const g = document.activeElement; return g.closest("
               "'.drawing:not([hidden])') ? g.dataset.k : null; })()")
    key = page.evaluate(focused)
    assert key is not None, "Tab must move into the drawing shown"
    page.press("Enter")
    names = page.evaluate("JSON.parse(document.getElementById('cjm-data').textContent).names")
    assert page.text("#panel h2") == names[int(key)]
    _shot(page, "tab")


def test_private_page_says_example_ids_are_withheld(engine, tmp_path):
    result = run_cli("explore", str(EXAMPLE), "-o", "p.html", "--min-journeys", "5")
    assert result.exit_code == 0, result.output
    page = engine.open((tmp_path / "p.html").as_uri())
    page.click(".drawing:not([hidden]) g.node[data-k]", first=True)
    assert "Withheld: the log was read with --pseudonymize or --min-journeys" in \
        page.text("#panel")
    _clean(page)
    page.close()


def test_hostile_stage_names_stay_text(engine, write, tmp_path):
    log = hostile_log(write)
    result = run_cli("explore", str(log), "-o", "h.html", "--goal", "buy")
    assert result.exit_code == 0, result.output
    page = engine.open((tmp_path / "h.html").as_uri())
    page.click(".drawing:not([hidden]) g.node[data-k]", IMG)
    assert page.text("#panel h2") == IMG
    assert page.count("img") == 0
    assert page.count("script") == 2
    _clean(page)
    _shot(page, "hostile")
    page.close()


def test_the_design_view_marks_deviations_as_check_does(engine, tmp_path):
    result = run_cli("explore", str(EXAMPLE), "-o", "d.html", "--design", str(DESIGN))
    assert result.exit_code == 0, result.output
    page = engine.open((tmp_path / "d.html").as_uri())
    before = page.evaluate(EDGES)
    _set(page, "view", "2")
    _set(page, "paths", "3")
    checked = run_cli("check", str(EXAMPLE), "--design", str(DESIGN), "--stages", "100%",
                      "--paths", "70%", "-o", "check.dot")
    assert checked.exit_code in (0, 1), checked.output
    assert page.evaluate(EDGES) == Path("check.dot").read_text().count(" -> ") != before
    assert page.text("#command").startswith("cjm check shop.csv --design ")
    assert "deviation from the design" in page.text(".drawing:not([hidden])")
    _shot(page, "design")
    _clean(page)
    page.close()
