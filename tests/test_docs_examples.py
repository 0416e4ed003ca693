"""Every Python example in the README and docs/ runs, as a reader would run it: from a
folder where examples/ is reachable, failing on any exception; and prints the output shown
right after it (a plain block, or one after "Output:"), when one is.

An example that only runs somewhere else says so in its first line (``# needs: a Databricks
notebook``), which is the reason it is skipped here."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
OUTPUT = re.compile(r"\n(?:Output:\n\n)?```(?:text)?\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            shown = OUTPUT.match(text, match.end())
            found.append(pytest.param(match.group(1), shown.group(1) if shown else None,
                                      id=f"{page.name}:{line}"))
    return found


def _skip_reason(code: str) -> str | None:
    if code.startswith("# needs: "):
        return code.splitlines()[0].removeprefix("# ")
    if "cjm.engine.spark" not in code:
        return None
    if importlib.util.find_spec("pyspark") is None:
        return 'the Spark extra is not installed (pip install -e ".[dev]")'
    if shutil.which("java") is None:
        return "no Java runtime: PySpark 4 needs Java 17 or later"
    return None


def test_the_pages_have_python_examples():
    assert len(_blocks()) >= 8


@pytest.mark.parametrize(("code", "output"), _blocks())
def test_python_example_runs(code, output, tmp_path):
    reason = _skip_reason(code)
    if reason:
        pytest.skip(reason)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("CJM_SALT", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    if output is not None:
        assert done.stdout == output
