"""Turn DOT into SVG or PNG (or PDF) with the system ``dot``, or without it.

The system Graphviz is used when it is installed. Otherwise the ``graphviz-pure`` program,
which a plain ``pip install`` brings along, draws SVG and PNG; PDF needs the system Graphviz.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from cjm.errors import DataError
from cjm.progress import step

RENDERED = ("svg", "png", "pdf")
TIMEOUT_SECONDS = 300


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


def render(dot: str, fmt: str, prefer_system: bool = True) -> bytes:
    """The drawing of ``dot`` in ``fmt`` (svg, png or pdf)."""
    program, name = layout_program(fmt, prefer_system)
    try:
        with step(f"Drawing the map ({fmt})"):
            done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"),
                                  capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise DataError(f"{name} did not finish drawing the map in {TIMEOUT_SECONDS} s",
                        "Simplify the map with --stages 80% or --paths 50%.") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DataError(f"{name} failed to draw the map: {message[-1] if message else '?'}")
    return done.stdout
