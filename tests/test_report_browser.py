"""The reports in a real headless Chromium: the HTML page offline, the Mermaid diagrams drawn.

Chromium comes from Debian (apt-get install chromium) and Mermaid from tests/browser
(npm ci --prefix tests/browser); .ci/run installs both. Screenshots are written to
build/screenshots/ for a person to look at.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_report import DESIGN, EXAMPLE, HOSTILE, _hostile_log

ROOT = Path(__file__).parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"
MERMAID = ROOT / "tests" / "browser" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
# As Debian's Chromium runs headless for root in a container with a closed network.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        launched.close()


def _open(browser, url: str, media: str = "screen"):
    """A page at ``url``; every console message, page error and request is recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list[str]] = {"console": [], "errors": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.emulate_media(media=media)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, seen


def test_html_report_opens_offline_with_every_map_drawn(browser, tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "report.html", "--by", "segment",
                     "--funnel", "View Product,Add to Cart,Checkout,Purchase",
                     "--compare-period", "quarter", "--design", str(DESIGN))
    assert result.exit_code == 0, result.output
    url = (tmp_path / "report.html").as_uri()
    page, seen = _open(browser, url)
    assert seen["console"] == [] and seen["errors"] == []
    assert seen["requests"] == [url], "the report must not ask for anything beyond itself"
    sizes = page.eval_on_selector_all(
        "figure.map svg", "els => els.map(e => { const r = e.getBoundingClientRect(); "
        "return [r.width, r.height]; })")
    assert len(sizes) == 7
    assert all(width > 300 and height > 100 for width, height in sizes), sizes
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report.png"))
    page.screenshot(path=str(SCREENSHOTS / "report-full.png"), full_page=True)
    page.close()


def test_html_report_prints_without_the_navigation(browser, tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "report.html")
    assert result.exit_code == 0, result.output
    page, seen = _open(browser, (tmp_path / "report.html").as_uri(), media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3  # a page per section
    assert seen["errors"] == []
    page.close()


def test_hostile_names_show_as_text_in_the_browser(browser, write, tmp_path):
    log = _hostile_log(write)
    result = run_cli("report", str(log), "-o", "h.html", "--goal", "end")
    assert result.exit_code == 0, result.output
    page, seen = _open(browser, (tmp_path / "h.html").as_uri())
    assert seen["console"] == [] and seen["errors"] == []
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    cells = page.eval_on_selector_all("#dead-ends td, #paths td", "els => els.map(e => "
                                      "e.textContent)")
    drawn = page.eval_on_selector_all("figure.map svg text", "els => els.map(e => "
                                      "e.textContent)")
    for name in HOSTILE:
        assert any(name in cell for cell in cells), name
        assert any(" ".join(name.split()) in label for label in drawn), name
    page.close()


def test_mermaid_draws_the_markdown_maps_with_names_as_text(browser, write, tmp_path):
    if not MERMAID.exists():
        pytest.skip("Mermaid is not installed: npm ci --prefix tests/browser (.ci/run does it)")
    log = _hostile_log(write)
    for args in (["report", str(EXAMPLE), "-o", "shop.md", "--by", "segment",
                  "--compare-period", "quarter", "--design", str(DESIGN)],
                 ["report", str(log), "-o", "hostile.md", "--goal", "end"]):
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
    blocks = []
    for name in ("shop.md", "hostile.md"):
        blocks += re.findall(r"```mermaid\n(.*?)```", (tmp_path / name).read_text(), re.S)
    assert len(blocks) == 8
    # Drawn as GitHub does: mermaid.render on each block, in strict security mode.
    page_file = write("mermaid.html", f"""<!DOCTYPE html><html><body><div id="out"></div>
<script src="{MERMAID.as_uri()}"></script>
<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
(async () => {{
  const blocks = {json.dumps(blocks)};
  try {{
    for (let i = 0; i < blocks.length; i++) {{
      const drawn = await mermaid.render("d" + i, blocks[i]);
      const box = document.createElement("div");
      box.className = "diagram";
      box.innerHTML = drawn.svg;
      document.getElementById("out").appendChild(box);
    }}
    document.title = "done";
  }} catch (e) {{ document.title = "error: " + e; }}
}})();
</script></body></html>""")
    page, seen = _open(browser, page_file.as_uri())
    page.wait_for_function("document.title.length > 0", timeout=60_000)
    assert page.title() == "done"
    assert seen["errors"] == []
    sizes = page.eval_on_selector_all(".diagram svg", "els => els.map(e => "
                                      "e.getBoundingClientRect().height)")
    assert len(sizes) == 8 and all(h > 200 for h in sizes)
    hostile = page.locator(".diagram").nth(7)
    labels = hostile.inner_text()
    for name in HOSTILE:
        assert " ".join(name.split()) in labels, name
    assert hostile.locator("script, b, i").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".diagram").first.screenshot(path=str(SCREENSHOTS / "mermaid-map.png"))
    hostile.screenshot(path=str(SCREENSHOTS / "mermaid-hostile.png"))
    page.close()


def test_embedded_explorer_runs_in_its_frame_and_redraws(browser, tmp_path):
    """The report's policy lets the explorer's script run in its frame, and nothing else:
    no console error, no request, and its sliders redraw the map as cjm discover draws it."""
    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "--interactive")
    assert result.exit_code == 0, result.output
    url = (tmp_path / "r.html").as_uri()
    page, seen = _open(browser, url)
    drawn = "document.querySelectorAll('.drawing:not([hidden]) g.edge').length"
    explorer = next(f for f in page.frames if f is not page.main_frame)
    explorer.wait_for_function(f"{drawn} > 0")
    shown = json.loads(run_cli("discover", str(EXAMPLE), "--json", "-").stdout)
    assert explorer.evaluate(drawn) == shown["map"]["transitions_shown"]
    explorer.eval_on_selector("#stages", "el => { el.value = 0; "
                              "el.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert explorer.locator("#command").inner_text().endswith("--stages 40% --paths 90%")
    fewer = json.loads(run_cli("discover", str(EXAMPLE), "--json", "-", "--stages", "40%",
                               "--paths", "90%").stdout)
    assert explorer.evaluate(drawn) == fewer["map"]["transitions_shown"] < shown["map"][
        "transitions_shown"]
    page.eval_on_selector("iframe.explorer", "el => el.scrollIntoView()")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-explorer.png"))
    assert seen["console"] == [] and seen["errors"] == []
    assert seen["requests"] == [url], "the report must not ask for anything beyond itself"
    page.close()
