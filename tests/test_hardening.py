"""Hostile names through every renderer, outputs that never replace inputs, Ctrl-C, logs with
tens of thousands of stages."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import weakref
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import run_cli

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "shop.csv"
NAMES = [
    'say "hi"', "back\\slash", "two\nlines", "<b>&amp;</b>", "{curly} | [square]",
    "digraph { a -> b }", "A-->B; click A call x()", "emoji 😀 and עברית", "=1+1",
]


def _log(write) -> Path:
    """Journeys through every hostile name, ending at Done."""
    rows = ["journey,stage,timestamp"]
    for j in range(3):
        for minute, stage in enumerate([*NAMES, "Done"]):
            rows.append(f'j{j},"{stage.replace(chr(34), 2 * chr(34))}",'
                        f"2024-05-0{j + 1}T09:{minute:02}:00Z")
    return write("names.csv", "\n".join(rows) + "\n")


def test_names_survive_json_exactly(write):
    result = run_cli("discover", str(_log(write)), "--goal", "Done", "--json", "-")
    assert result.exit_code == 0, result.output
    stages = {s["name"] for s in json.loads(result.stdout)["stages"]}
    assert stages == {*NAMES, "Done"}


def test_names_show_literally_in_the_terminal(write):
    result = run_cli("discover", str(_log(write)), "--goal", "Done", "--no-map")
    assert result.exit_code == 0, result.output
    for name in NAMES:
        for line in name.split("\n"):
            assert line in result.stdout, line


@pytest.mark.parametrize("system", [pytest.param(True, marks=pytest.mark.system_dot), False],
                         ids=["dot", "graphviz-pure"])
def test_names_show_literally_in_the_drawn_svg(write, tmp_path, system):
    result = run_cli("discover", str(_log(write)), "--goal", "Done", "-o", "names.svg",
                     "-o", "names.dot")
    assert result.exit_code == 0, result.output
    svg = ET.parse(tmp_path / "names.svg").getroot()  # well-formed XML, whatever the names
    ns = "{http://www.w3.org/2000/svg}"
    texts = " ".join(t.text or "" for t in svg.iter(f"{ns}text"))
    nodes = [g.find(f"{ns}title").text or "" for g in svg.iter(f"{ns}g")
             if g.get("class") == "node"]
    for name in NAMES:
        assert " ".join(name.split()) in texts, name
    # Each name is one node: DOT syntax in a name makes no extra nodes or edges.
    dot = (tmp_path / "names.dot").read_text()
    assert dot.count("[label=<") == len(NAMES) + 1
    assert sum(t.startswith("stage:") for t in nodes) == len(NAMES) + 1


def test_an_output_never_replaces_an_input(write, tmp_path):
    log = _log(write)
    before = log.read_bytes()
    for args in (["discover", str(log), "--rejects", str(log)],
                 ["discover", str(log), "--no-map", "--json", str(log)],
                 ["report", str(log), "-o", "r.md", "--rejects", str(log)]):
        result = run_cli(*args, "--goal", "Done")
        assert result.exit_code == 1, args
        assert "it is an input of this command" in result.output
        assert log.read_bytes() == before
    design = write("design.yaml", "stages: [Done]\ngoals: [Done]\n")
    result = run_cli("check", str(log), "--design", str(design), "--journeys", str(design))
    assert result.exit_code == 1 and "it is an input" in result.output
    assert design.read_text() == "stages: [Done]\ngoals: [Done]\n"


def test_a_new_file_on_the_inode_of_a_deleted_input_may_be_written(tmp_path):
    """A process reads on (a notebook, the test suite): an input deleted since frees its
    inode, which a new file may take; writing that file is no overwrite of the input."""
    from cjm.safety import _INPUTS, atomic_writer, protect

    old = tmp_path / "old.csv"
    old.write_text("read once\n")
    protect(old)
    inode = os.stat(old).st_ino
    old.unlink()
    new = tmp_path / "new.dot"
    new.write_text("")
    # Reusing the inode is up to the file system: make the case happen either way.
    key = (os.stat(new).st_dev, os.stat(new).st_ino)
    _INPUTS[key] = old
    try:
        with atomic_writer(new) as handle:
            handle.write("digraph {}\n")
        assert new.read_text() == "digraph {}\n"
    finally:
        _INPUTS.pop(key, None)
        _INPUTS.pop((key[0], inode), None)


def _wait_for_handler(pid: int, signum: int, timeout: float = 60) -> None:
    """Wait until process ``pid`` catches ``signum`` (Linux: SigCgt in /proc): a fixed sleep
    sends the signal before Python starts on a busy machine."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        time.sleep(2.5)  # no /proc: the exact alignments alone take longer than this
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        caught = next((line.split()[1] for line in status.read_text().splitlines()
                       if line.startswith("SigCgt:")), "0")
        if int(caught, 16) >> (signum - 1) & 1:
            return
        time.sleep(0.05)
    raise AssertionError(f"the command did not catch signal {signum} within {timeout} s")


@pytest.mark.parametrize(("signum", "code", "word"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_exits_130_and_leaves_no_partial_file(tmp_path, signum, code, word):
    cjm = Path(sys.executable).parent / "cjm"
    design = ROOT / "examples" / "designed-journey.yaml"
    process = subprocess.Popen(
        [str(cjm), "check", str(EXAMPLE), "--design", str(design), "--exact", "-o", "out.svg",
         "--json", "out.json"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "NO_COLOR": "1"})
    _wait_for_handler(process.pid, signal.SIGTERM)  # cjm's own: the command is running
    time.sleep(0.5)
    assert process.poll() is None, "the command ended before it could be interrupted"
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code
    assert err.strip().endswith(f"Error: {word}")
    assert "Traceback" not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, no temporary file


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_python_drops_in_a_callback_still_stops_the_command(capsys, signum):
    """The handler raises wherever Python is: in a weakref callback Python prints the
    interrupt as ignored and goes on, so cjm sends it again (it once finished the command
    and exited 0 after SIGTERM)."""
    import typer

    from cjm.cli.common import reporting

    class Held:
        pass

    def callback(_ref: object) -> None:
        signal.raise_signal(signum)  # handled here, inside the callback

    finished = False
    with pytest.raises(typer.Exit) as stopped, reporting():
        held = Held()
        ref = weakref.ref(held, callback)
        del held
        for _ in range(10_000):  # the command goes on: ten seconds, unless stopped
            time.sleep(0.001)
        finished = True
    assert ref() is None and not finished
    assert stopped.value.exit_code == 128 + signum
    err = capsys.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err


def test_tens_of_thousands_of_stages_draw_the_most_frequent_with_a_warning(write, tmp_path):
    rows = ["journey,stage,timestamp"]
    for j in range(6000):
        pages = [f"/page/{(j * 7 + k * 13) % 5000}" for k in range(4)] + ["/checkout"]
        rows += [f"j{j},{page},2024-01-01T10:{k:02}:00Z" for k, page in enumerate(pages)]
    log = write("pages.csv", "\n".join(rows) + "\n")
    result = run_cli("discover", str(log), "-o", "pages.svg", "--goal", "/checkout")
    assert result.exit_code == 0, result.output
    assert "the log has 5,001 stages; the map shows the 60 most frequent" in result.output
    assert "--stages 80%" in result.output
    svg = (tmp_path / "pages.svg").read_text()
    assert len(re.findall(r'class="node">\s*<title>stage:', svg)) == 60  # /checkout too
    assert "/checkout" in svg
    # Asked for explicitly, every stage is kept: the flag wins over the cap.
    result = run_cli("discover", str(log), "-o", "all.dot", "--goal", "/checkout",
                     "--stages", "100%")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all.dot").read_text().count("[label=<") == 5001


def test_outputs_to_a_pipe_and_through_a_link(tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = run_cli("discover", str(EXAMPLE), "--no-map", "--json", str(fifo))
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert got and got[0].startswith(b"{") and fifo.is_fifo()
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    assert run_cli("discover", str(EXAMPLE), "--no-map", "--json", "link.json").exit_code == 0
    assert (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "real.json").read_text().startswith("{")


def test_a_memory_limit_too_small_to_read_is_a_usage_error():
    result = run_cli("discover", str(EXAMPLE), "--no-map", "--memory-limit", "1MB")
    assert result.exit_code == 2 and "too little to read a log" in result.output
