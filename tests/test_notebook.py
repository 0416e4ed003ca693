"""Results show themselves in Jupyter: examples/tour.ipynb is run by a real kernel, and what
each cell displays is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def executed():
    nbformat = pytest.importorskip("nbformat", reason="the dev extra has nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the dev extra has nbclient")
    notebook = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _shown(cell) -> dict:
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    return result.data


def test_every_cell_runs_and_shows_its_result(executed):
    assert not [o for cell in executed for o in cell.outputs if o.output_type == "error"]
    log, jm, drawing, funnel, comparison, check, timing, steps, personas = map(
        _shown, executed[:9])
    assert log["text/plain"] == "EventLog: 3,000 journeys"
    assert "13,595" in log["text/html"] and "shop.csv" in log["text/html"]
    assert jm["text/plain"].startswith("JourneyMap: 3,000 journeys")
    assert "Purchase" in jm["text/html"] and "build_map" in jm["text/html"]
    assert drawing["image/svg+xml"].lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert "Add to Cart|Checkout" in funnel["text/html"]
    assert "goal rate" in comparison["text/html"]
    assert "conform" in check["text/html"]
    assert "<svg" in timing["text/html"] and "segment = vip" in timing["text/html"]
    assert "<svg" in steps["text/html"] and "(ended: goal reached)" in steps["text/html"]
    assert personas["text/plain"] == "Personas: 3,000 journeys"
    assert "persona 3" in personas["text/html"] and "k = 3" in personas["text/html"]


def test_the_notebook_map_needs_no_system_graphviz(tmp_path):
    """tests/conftest.py hides the system dot: the drawing comes from graphviz-pure."""
    import cjm.render.notebook

    with cjm.read_log(ROOT / "examples" / "shop.csv") as log:
        jm = cjm.discover(log, goals=["Purchase"])
        assert "Journey map" in jm._repr_html_()
        assert "<svg" in cjm.build_map(jm)._repr_svg_()
        assert jm._repr_mimebundle_()["text/html"] == jm._repr_html_()  # the same page


def test_hostile_names_stay_text(tmp_path):
    import cjm.render.notebook
    from tests.journey_logs import write_journeys

    path = write_journeys(tmp_path / "h.csv", {"a": ["<img src=x onerror=alert(1)>", "b"]})
    with cjm.read_log(path) as log:
        page = cjm.discover(log)._repr_html_()
        assert "<img" not in page and "&lt;img" in page
