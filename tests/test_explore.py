"""cjm explore: the page's bytes, its Content-Security-Policy, its drawings at each stop
(as cjm discover draws them), privacy and hostile names. The page in a browser:
tests/test_explore_browser.py."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path

import pytest

import cjm
from cjm.explore import STOPS, explore, script_source
from tests.conftest import run_cli
from tests.test_report import DESIGN, EXAMPLE

IMG = "<img src=x onerror=alert(1)>"


def page_data(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="cjm-data">(.*?)'
                                r"</script>", text, re.S)[1])


@pytest.fixture(scope="module")
def shop_page(_path_without_dot) -> str:
    """Drawn as every test draws, by graphviz-pure (tests/conftest.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", _path_without_dot)
        return explore(cjm.read_log(str(EXAMPLE)))


def test_the_same_log_gives_the_same_bytes(shop_page):
    assert explore(cjm.read_log(str(EXAMPLE))) == shop_page


def test_only_the_hashed_script_may_run_and_nothing_be_fetched(shop_page):
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', shop_page)[1]
    assert "default-src 'none'" in csp and "unsafe-inline'; img-src" in csp
    script_src = re.search(r"script-src ([^;]*)", csp)[1]
    assert "unsafe" not in script_src
    scripts = re.findall(r"<script>(.*?)</script>", shop_page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert script_src == f"'sha256-{digest}'"
    assert not re.search(r'(src|href)="(?!#|data:)', shop_page)
    assert "innerHTML" not in scripts[0] and "outerHTML" not in scripts[0]


@pytest.mark.parametrize("stages,paths", [(1.0, 1.0), (0.6, 0.9), (0.4, 0.4), (0.8, 0.5)])
def test_each_stop_draws_what_discover_draws(shop_page, stages, paths, tmp_path):
    result = run_cli("discover", str(EXAMPLE), "--stages", f"{stages:.0%}",
                     "--paths", f"{paths:.0%}", "--json", "-")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["map"]
    data = page_data(shop_page)
    graph = data["graphs"][data["groups"][0]["maps"][STOPS.index(stages)][STOPS.index(paths)]]
    assert len(graph["edges"]) == shown["transitions_shown"]
    assert len(graph["nodes"]) == shown["stages_shown"]
    for view in graph["svg"]:
        drawing = re.search(rf'<div class="drawing" id="d{view}" hidden>(.*?)</div>',
                            shop_page, re.S)[1]
        assert drawing.count('class="edge') == shown["transitions_shown"]


def test_stops_share_identical_drawings(shop_page):
    data = page_data(shop_page)
    drawn = [i for row in data["groups"][0]["maps"] for i in row]
    assert len(drawn) == len(STOPS) ** 2
    assert len(data["graphs"]) == len(set(drawn)) < len(drawn)
    assert shop_page.count('class="drawing"') == len({s for g in data["graphs"]
                                                      for s in g["svg"]})


def test_example_journeys_are_withheld_when_the_log_is_private(shop_page):
    shown = page_data(shop_page)
    ids = {e for c in shown["groups"][0]["context"].values() for e in c["examples"]}
    assert not shown["private"] and len(ids) > 10
    assert all(re.fullmatch(r"J\d{7}", i) for i in ids)
    private = page_data(explore(cjm.read_log(str(EXAMPLE), min_journeys=5)))
    assert private["private"]
    assert all(not c["examples"] for c in private["groups"][0]["context"].values())
    pseudonymous = page_data(explore(cjm.read_log(str(EXAMPLE), pseudonymize=True,
                                                  salt="test key")))
    assert pseudonymous["private"]
    assert all(not c["examples"] for c in pseudonymous["groups"][0]["context"].values())
    # Stages and paths fewer than 5 journeys share are left out of the whole page.
    assert all(n >= 5 for c in private["groups"][0]["context"].values()
               for _, n in c["paths"])


def test_segments_get_a_set_of_drawings_each(tmp_path):
    data = page_data(explore(cjm.read_log(str(EXAMPLE)), by="segment", top_values=2))
    assert [g["label"] for g in data["groups"]] == ["all journeys", "segment = new",
                                                    "segment = returning", "segment = other"]
    assert data["groups"][1]["journeys"] < data["groups"][0]["journeys"]


def hostile_log(write):
    rows = ["journey,stage,timestamp"]
    for journey in ("j1", "j2", "j3"):
        for minute, stage in enumerate(["home", IMG, '</script><script>alert(2)</script>',
                                        "buy"]):
            quoted = '"' + stage.replace('"', '""') + '"'
            rows.append(f"{journey},{quoted},2024-03-01T10:{minute:02}:00Z")
    return write("hostile.csv", "\n".join(rows) + "\n")


def test_hostile_names_never_become_markup(write):
    text = explore(cjm.read_log(str(hostile_log(write))), goals=["buy"])
    assert "<img" not in text and "<script>alert" not in text
    assert text.count("<script") == 2
    assert IMG in page_data(text)["names"]


def test_hostile_names_stay_text_in_the_embedded_explorer(write, tmp_path):
    """Quotes and ampersands of stage names cannot close the frame's attribute: the page
    comes back whole, and the report holds no markup of theirs."""
    quoting = "it's &amp; '<b>'"
    log = write("hostile.csv", hostile_log(write).read_text() + "".join(
        f'j4,"{stage}",2024-03-01T11:0{i}:00Z\n' for i, stage in enumerate(["home", quoting])))
    result = run_cli("report", str(log), "-o", "h.html", "--interactive", "--goal", "buy")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "h.html").read_text()
    srcdoc = re.search(r"srcdoc='([^']*)'", text)[1]
    assert html.unescape(srcdoc) == explore(cjm.read_log(str(log)), goals=["buy"],
                                            title="hostile.csv")
    assert "<img" not in text and "<script>alert" not in text and "'<b>'" not in text
    assert quoting in page_data(html.unescape(srcdoc))["names"]


def test_cli_writes_the_page_and_refuses_another_suffix(tmp_path):
    result = run_cli("explore", str(EXAMPLE), "-o", "shop.html")
    assert result.exit_code == 0, result.output
    assert "Wrote shop.html" in result.stdout
    assert (tmp_path / "shop.html").read_text() == explore(cjm.read_log(str(EXAMPLE)))
    result = run_cli("explore", str(EXAMPLE), "-o", "shop.svg")
    assert result.exit_code == 2 and "not an .html file" in result.output
    result = run_cli("explore", str(EXAMPLE), "--by", "segment", "--period", "month")
    assert result.exit_code == 2 and "--by or --period" in result.output


@pytest.mark.parametrize("stages,paths", [(1.0, 1.0), (0.5, 0.7)])
def test_the_design_view_draws_what_check_draws(stages, paths):
    from cjm.design import load_design

    text = explore(cjm.read_log(str(EXAMPLE)), design=load_design(str(DESIGN)))
    data = page_data(text)
    assert data["design"] and "against the design" in text
    result = run_cli("check", str(EXAMPLE), "--design", str(DESIGN), "--stages",
                     f"{stages:.0%}", "--paths", f"{paths:.0%}", "-o", "check.dot")
    assert result.exit_code in (0, 1), result.output
    graph = data["graphs"][data["groups"][0]["maps"][STOPS.index(stages)][STOPS.index(paths)]]
    assert len(graph["svg"]) == 3
    drawing = re.search(rf'<div class="drawing" id="d{graph["svg"][2]}" hidden>(.*?)</div>',
                        text, re.S)[1]
    dot = Path("check.dot").read_text()
    assert drawing.count('class="edge') == dot.count(" -> ")
    assert "deviation from the design" in dot and "deviation from the design" in drawing


def test_report_interactive_embeds_the_explorer_and_allows_its_script_alone(write, tmp_path):
    result = run_cli("report", str(EXAMPLE), "-o", "r.html", "-o", "r.md", "--interactive")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".html", ".md")) == [
        "r.html", "r.md"]
    text = (tmp_path / "r.html").read_text()
    frame = re.search(r'<iframe class="explorer" title="Journey explorer" '
                      r"sandbox=\"allow-scripts\" srcdoc='([^']*)'></iframe>", text)
    page = explore(cjm.read_log(str(EXAMPLE)), title="shop.csv")
    assert html.unescape(frame[1]) == page
    assert '<a href="#explorer">Explore the map</a>' in text
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)[1]
    assert policy == ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                      f"script-src {script_source()}")
    assert "<script" not in text.replace(frame[0], "")
    assert "explore" not in (tmp_path / "r.md").read_text()
    plain = run_cli("report", str(EXAMPLE), "-o", "plain.html")
    assert plain.exit_code == 0
    plain_text = (tmp_path / "plain.html").read_text()
    assert "Explore the map" not in plain_text and "script-src" not in plain_text
    config = write("reports.toml", f'[[report]]\nlogs = ["{EXAMPLE.as_posix()}"]\n'
                                   'output = "b.html"\ninteractive = true\n')
    result = run_cli("report", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert frame[0] in (tmp_path / "b.html").read_text()


def test_quiet_writes_the_page_and_prints_nothing(tmp_path):
    result = run_cli("explore", str(EXAMPLE), "-o", "q.html", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and (tmp_path / "q.html").stat().st_size > 0
