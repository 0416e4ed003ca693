"""Options that several commands take are declared once (cjm/cli/options.py, mapout.py,
common.py, engine.py), so that their names, help and checks cannot drift apart."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

CLI = Path(__file__).parents[2] / "cjm" / "cli"


def _declarations() -> dict[str, set[str]]:
    """Each option name (``--goal``) and the files of cjm/cli that declare it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in CLI.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Option":
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                            and re.fullmatch(r"--[a-z0-9-]+", arg.value):
                        found[arg.value].add(path.name)
    return found


# Names that mean a different thing per command, each said in its own help.
APART = {
    "--output": "what the command writes: a map, a model, a report, a Parquet file",
    "--top": "inspect lists 20 stages; the others show 10 rows a table",
    "--min-count": "map edges, tested shares (compare) and items (moments): open work",
}


def test_each_option_is_declared_once():
    declared = _declarations()
    assert "--goal" in declared and "--by" in declared  # the parser sees them
    twice = {name: sorted(files) for name, files in declared.items()
             if len(files) > 1 and name not in APART}
    assert not twice
    assert all(len(declared[name]) > 1 for name in APART)  # no stale exception


def test_quiet_is_declared_with_the_other_shared_options():
    assert _declarations()["--quiet"] == {"options.py"}
