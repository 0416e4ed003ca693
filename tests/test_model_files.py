"""Model files written after a plain install: BPMN laid out without the system Graphviz, the
same bytes for the same journeys, no temporary files left, every output that can be written."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import run_cli
from tests.journey_logs import write_journeys

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
FLOW_NODES = ("startEvent", "endEvent", "task", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway")
JOURNEYS = {
    "a": ["Visit", "View", "Cart", "Buy"], "b": ["Visit", "View", "Cart", "Buy"],
    "c": ["Visit", "Cart", "Buy"], "d": ["Visit", "View"], "e": ["Visit", "Chat", "View"],
    "f": ["Visit", "View", "View", "Cart"], "g": ["Chat", "Visit", "Buy"],
}


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return write_journeys(tmp_path / "log.csv", JOURNEYS)


def test_tests_run_without_the_system_graphviz():
    """As on a fresh machine, even where CI installed Graphviz (tests/conftest.py)."""
    import graphviz

    assert shutil.which("dot") is None
    with pytest.raises(graphviz.ExecutableNotFound):
        graphviz.Source("digraph { a -> b }").pipe(format="svg")


def test_bpmn_is_laid_out_without_the_system_graphviz(log):
    result = run_cli("model", str(log), "-o", "m.bpmn", "--noise", "0")
    assert result.exit_code == 0, result.output
    root = etree.parse("m.bpmn").getroot()
    nodes = [e for tag in FLOW_NODES for e in root.iter(BPMN + tag)]
    flows = list(root.iter(BPMN + "sequenceFlow"))
    assert {e.get("name") for e in root.iter(BPMN + "task")} == {"Visit", "View", "Cart",
                                                                 "Buy", "Chat"}
    shapes = {s.get("bpmnElement"): s for s in root.iter(BPMNDI + "BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in root.iter(BPMNDI + "BPMNEdge")}
    assert set(shapes) == {n.get("id") for n in nodes}
    assert set(edges) == {f.get("id") for f in flows}
    boxes = []
    for shape in shapes.values():
        bounds = shape.find(DC + "Bounds")
        x, y, w, h = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        boxes.append((x, y, x + w, y + h))
    for i, a in enumerate(boxes):  # laid out: no two shapes overlap
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    for flow in flows:
        points = edges[flow.get("id")].findall(DI + "waypoint")
        assert len(points) >= 2
        first, last = (_point(points[0]), _point(points[-1]))
        assert _near(first, shapes[flow.get("sourceRef")]), flow.get("id")
        assert _near(last, shapes[flow.get("targetRef")]), flow.get("id")


def _point(element) -> tuple[float, float]:
    return float(element.get("x")), float(element.get("y"))


def _near(point: tuple[float, float], shape, slack: float = 3) -> bool:
    """The point lies on the shape's bounds (or within a few pixels of them)."""
    bounds = shape.find(DC + "Bounds")
    x, y, w, h = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
    return x - slack <= point[0] <= x + w + slack and y - slack <= point[1] <= y + h + slack


def test_bpmn_reads_back_with_pm4py_as_the_same_model(log):
    import pm4py

    from cjm.design import load_design

    assert run_cli("model", str(log), "-o", "m.bpmn", "-o", "m.ptml", "--noise", "0"
                   ).exit_code == 0
    bpmn = pm4py.read_bpmn("m.bpmn")
    assert len(bpmn.get_nodes()) > 5
    net, initial, final = pm4py.convert_to_petri_net(bpmn)
    tree_net = pm4py.convert_to_petri_net(pm4py.read_ptml("m.ptml"))
    paths = [tuple(stages) for stages in JOURNEYS.values()]
    # Both files hold the model that every journey fits (noise 0): the same language.
    for candidate in ((net, initial, final), tree_net):
        log = pm4py.format_dataframe(_frame(paths), case_id="case", activity_key="stage",
                                     timestamp_key="ts")
        fitness = pm4py.fitness_token_based_replay(log, *candidate)
        assert fitness["perc_fit_traces"] == 100.0
    assert set(load_design(Path("m.bpmn")).stages) == {"Visit", "View", "Cart", "Buy", "Chat"}


def _frame(paths):
    import pandas as pd

    rows = [(str(i), stage, pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=j))
            for i, path in enumerate(paths) for j, stage in enumerate(path)]
    return pd.DataFrame(rows, columns=["case", "stage", "ts"])


@pytest.mark.parametrize("suffix", [".bpmn", ".pnml", ".ptml", ".dot", ".svg"])
def test_same_journeys_give_the_same_bytes(tmp_path, log, suffix):
    lines = log.read_text(encoding="utf-8").splitlines()
    shuffled = tmp_path / "shuffled.csv"
    body = lines[1:]
    random.Random(7).shuffle(body)
    shuffled.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    outputs = []
    for n, source in enumerate((log, log, shuffled)):
        target = f"m{n}{suffix}"
        assert run_cli("model", str(source), "-o", target).exit_code == 0
        outputs.append(Path(target).read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_no_temporary_files_are_left(tmp_path, log, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    result = run_cli("model", str(log), *(f"--output=m.{f}" for f in
                                           ("bpmn", "pnml", "ptml", "svg", "png", "dot")))
    assert result.exit_code == 0, result.output
    assert list(temp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "log.csv", "m.bpmn", "m.dot", "m.png", "m.pnml", "m.ptml", "m.svg", "temp"]


def test_a_failing_model_output_does_not_stop_the_others(log):
    Path("taken.bpmn").mkdir()
    result = run_cli("model", str(log), "-o", "taken.bpmn", "-o", "m.svg", "-o", "m.pnml")
    assert result.exit_code == 1
    assert Path("m.svg").read_bytes().startswith(b"<?xml")
    assert Path("m.pnml").read_bytes().startswith(b"<?xml")
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: cannot write taken.bpmn: it is a folder"]
    assert "Wrote m.svg" in result.stdout and "taken.bpmn" not in result.stdout


def test_a_failing_map_output_does_not_stop_the_others(log):
    """PDF needs the system Graphviz, which the tests hide: the SVG and JSON are written."""
    result = run_cli("discover", str(log), "-o", "map.pdf", "-o", "map.svg", "-o",
                     "map.json", "-q")
    assert result.exit_code == 1
    assert Path("map.svg").read_bytes().startswith(b"<?xml")
    assert Path("map.json").read_bytes().startswith(b"{")
    assert not Path("map.pdf").exists()
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: map.pdf: PDF output needs the Graphviz 'dot' program, which is "
                      "not installed"]


def test_a_failing_report_output_does_not_stop_the_others(log):
    Path("taken.html").mkdir()
    result = run_cli("report", str(log), "-o", "taken.html", "-o", "r.md")
    assert result.exit_code == 1
    assert Path("r.md").read_text(encoding="utf-8").startswith("#")
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: cannot write taken.html: it is a folder"]


def test_a_stage_name_xml_cannot_hold_is_named_and_the_drawings_are_written(write):
    log = write("c.csv", "case,stage,ts\n1,A\x01b,2024-01-01T00:00:00Z\n"
                "1,B,2024-01-01T00:01:00Z\n2,A\x01b,2024-01-01T00:00:00Z\n")
    result = run_cli("model", str(log), "-o", "m.bpmn", "-o", "m.pnml", "-o", "m.svg",
                     "-o", "m.dot")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: cannot write m.{f}: the stage 'A\\x01b' holds a control "
                      f"character, which {f.upper()} (XML) cannot hold" for f in ("bpmn", "pnml")]
    assert Path("m.svg").exists() and Path("m.dot").exists()


def test_quiet_prints_no_summary_but_writes_the_model(tmp_path):
    example = Path(__file__).parents[1] / "examples" / "shop.csv"
    result = run_cli("model", str(example), "-o", "quiet.bpmn", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and (tmp_path / "quiet.bpmn").is_file()
    assert "quiet.bpmn" in run_cli("model", str(example), "-o", "quiet.bpmn").stdout
