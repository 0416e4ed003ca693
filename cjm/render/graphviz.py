"""Turn DOT into SVG or PNG (or PDF) with the system ``dot``, or without it.

The system Graphviz is used when it is installed. Otherwise the ``graphviz-pure`` program,
which a plain ``pip install`` brings along, draws SVG and PNG; PDF needs the system Graphviz.

Every drawing is bounded: a graph larger than the program is known to lay out in minutes is
refused before it starts, and the program runs under a memory cap and a time limit that grows
with the graph, so that no map can hang cjm or take the machine's memory. The sizes come from
``benchmarks/bench_render.py`` (see docs/performance.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cjm.errors import DataError
from cjm.progress import step
from cjm.render.dot import node_id

RENDERED = ("svg", "png", "pdf")
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space; a readable map needs under 100 MiB
BASE_SECONDS, SECONDS_PER_ITEM, MAX_SECONDS = 30.0, 0.25, 300.0
# Nodes plus edges beyond which a layout is not expected to finish within MAX_SECONDS,
# measured (docs/performance.md). graphviz-pure: a sparse map of 1,897 took 118 s, one of
# 3,184 took 628 s. The system dot (2.43) is no faster, often 2 to 3 times slower: 1,897
# took 102 s, 3,184 did not finish in 900 s. Dense maps are slower still, which the time
# limit catches.
MAX_ITEMS = {"graphviz-pure": 2_000, "Graphviz dot": 2_000}
# Dense maps, with more than DENSE edges per node, stop finishing sooner: 927 edges on 32
# nodes took 82 to 200 s with graphviz-pure and 412 s with the system dot.
DENSE, MAX_DENSE_EDGES = 5, {"graphviz-pure": 1_000, "Graphviz dot": 1_000}
REPORT_SECONDS = 600.0  # all maps of one report together
ALTERNATIVES = ("Draw fewer with --stages 80%, --paths 50% or --max-edges 80, or write the "
                "map as .dot (-o map.dot) and draw it with another tool.")


@dataclass
class Budget:
    """Seconds that several drawings share, such as every map of one report."""

    seconds: float
    spent: float = 0.0

    def left(self) -> float:
        return self.seconds - self.spent


def _fallback() -> str | None:
    beside = Path(sys.executable).parent / "graphviz-pure"
    return str(beside) if beside.exists() else shutil.which("graphviz-pure")


def layout_program(fmt: str, prefer_system: bool = True) -> tuple[str, str]:
    """The program to run and its name for messages."""
    system = shutil.which("dot") if prefer_system else None
    if system:
        return system, "Graphviz dot"
    fallback = _fallback()
    if fmt == "pdf" or not fallback:
        what = "PDF output" if fmt == "pdf" else "drawing the map"
        raise DataError(
            f"{what} needs the Graphviz 'dot' program, which is not installed",
            "Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
            "graphviz), or write .svg, .png or .dot instead.",
        )
    return fallback, "graphviz-pure"


_TEXT = re.compile(r'"(?:[^"\\]|\\.)*"')  # a quoted ID or attribute value
_ATTRIBUTES = re.compile(r"\[[^\]]*\]")
_KEYWORDS = {"graph", "node", "edge", "digraph", "subgraph", "strict"}
_STAGE = node_id("")[:-1]  # how cjm's own DOT starts a stage's ID


def _strip_html(dot: str) -> str:
    """``dot`` with every HTML label ``<...>`` (which may nest) replaced by ``_``."""
    out, depth = [], 0
    for char in dot:
        if char == "<":
            depth += 1
            if depth == 1:
                out.append("_")
        elif char == ">" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def dot_size(dot: str) -> tuple[int, int, int]:
    """The nodes, stages and edges declared in ``dot``, counted without a DOT parser; a DOT
    that cjm did not write (a model's) counts every node as a stage."""
    texts: list[str] = []

    def keep(match: re.Match) -> str:
        texts.append(match[0])
        return f"\1{len(texts) - 1}"

    text = _ATTRIBUTES.sub("", _strip_html(_TEXT.sub(keep, dot.replace("->", "\0"))))
    nodes, stages, edges = 0, 0, 0
    for statement in re.split(r"[;\n{}]", text):
        words = statement.split()
        if "\0" in statement or "--" in statement:
            edges += statement.count("\0") + statement.count("--")
        elif words and words[0] not in _KEYWORDS and "=" not in statement:
            nodes += 1
            first = words[0]
            stages += first[:1] == "\1" and texts[int(first[1:])].startswith(_STAGE)
    return nodes, stages or nodes, edges


def too_large(program: str, nodes: int, edges: int) -> bool:
    """Whether ``program`` ("graphviz-pure" or "Graphviz dot") is refused such a map."""
    dense = edges > DENSE * nodes and edges > MAX_DENSE_EDGES[program]
    return dense or nodes + edges > MAX_ITEMS[program]


def time_limit(nodes: int, edges: int) -> float:
    """Seconds a drawing of this size may take."""
    return min(MAX_SECONDS, BASE_SECONDS + SECONDS_PER_ITEM * (nodes + edges))


def _command(program: str, fmt: str) -> list[str]:
    """The program's command line, under the memory cap where the system has one.

    The cap is set by ``sh`` rather than by a ``preexec_fn``, which may deadlock in a process
    with threads (DuckDB's); where ``ulimit -v`` is refused (macOS) the program runs uncapped,
    and on Windows too: the time limit holds everywhere."""
    command = [program, f"-T{fmt}"]
    if os.name != "posix":
        return command
    return ["/bin/sh", "-c", f'ulimit -v {MEMORY_LIMIT // 1024} 2>/dev/null; exec "$0" "$@"',
            *command]


def render(dot: str, fmt: str, prefer_system: bool = True, budget: Budget | None = None,
           ) -> bytes:
    """The drawing of ``dot`` in ``fmt`` (svg, png or pdf), within the limits above and the
    seconds left in ``budget``."""
    program, name = layout_program(fmt, prefer_system)
    nodes, stages, edges = dot_size(dot)
    seconds = time_limit(nodes, edges)
    size = f"a map of {stages:,} stages and {edges:,} edges"
    limits = (f"limits: {MAX_ITEMS[name]:,} nodes and edges together, "
              f"{MAX_DENSE_EDGES[name]:,} edges at more than {DENSE} per node, "
              f"{_bytes(MEMORY_LIMIT)} of memory, {seconds:.0f} s")
    if too_large(name, nodes, edges):
        raise DataError(f"{name} cannot draw {size} ({limits})", ALTERNATIVES)
    if budget is not None:
        if budget.left() <= 0:
            raise DataError(f"the report's maps took more than {budget.seconds:.0f} s to draw, "
                            "the limit for all of them together", ALTERNATIVES)
        if budget.left() < seconds:
            seconds = budget.left()
            limits += f", and {seconds:.0f} s left of {budget.seconds:.0f} s for the report"
    started = time.monotonic()
    try:
        with step(f"Drawing the map ({fmt})"):
            done = subprocess.run(_command(program, fmt), input=dot.encode("utf-8"),
                                  capture_output=True, timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        raise DataError(f"{name} did not finish drawing {size} in {seconds:.0f} s ({limits})",
                        ALTERNATIVES) from None
    finally:
        if budget is not None:
            budget.spent += time.monotonic() - started
    if done.returncode != 0 or not done.stdout:
        raise DataError(f"{name} failed to draw {size}: {_reason(done)} ({limits})",
                        ALTERNATIVES)
    return done.stdout


def _bytes(size: int) -> str:
    return f"{size / 1024**3:g} GiB" if size >= 1024**3 else f"{size // 1024**2} MiB"


def _reason(done: subprocess.CompletedProcess) -> str:
    """Why the program failed, in words: never its panic text or stack trace."""
    text = done.stderr.decode("utf-8", "replace")
    if re.search(r"memory allocation|out of memory|cannot allocate|bad_alloc", text, re.I):
        return "it ran out of its memory"
    if done.returncode < 0 or "panicked" in text or "stack backtrace" in text:
        return f"it stopped abnormally (exit status {done.returncode})"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"
