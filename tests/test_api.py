"""The public surface: ``cjm.__all__`` complete and sorted, each name what it says."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import cjm


def test_all_is_sorted_and_resolves():
    assert cjm.__all__ == sorted(cjm.__all__)
    for name in cjm.__all__:
        assert getattr(cjm, name) is not None


def test_public_functions_stay_functions_after_their_modules_are_imported():
    # Importing cjm.summary (as `cjm inspect` does) must not turn cjm.describe into a module.
    code = ("import cjm, cjm.summary, cjm.engine.duckdb.eventlog, cjm.config\n"
            "print(callable(cjm.describe), callable(cjm.read_log), callable(cjm.find_config))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]


def test_error_exit_codes():
    assert (cjm.CjmError.exit_code, cjm.DataError.exit_code, cjm.ThresholdError.exit_code,
            cjm.UsageError.exit_code, cjm.ResourceError.exit_code) == (1, 1, 1, 2, 1)
    assert str(cjm.DataError("bad", "fix it")) == "bad\nfix it"


def _documented() -> tuple[list[str], dict[str, str]]:
    """The names of the table in docs/python-api.md, and the module each is said to live in."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "python-api.md").read_text(encoding="utf-8")
    table = text.split("The public names", 1)[1].split("\n\n", 2)[1]
    names = [n for row in table.splitlines()[2:]
             for n in re.findall(r"`([^`]+)`", row.split("|")[1])]
    where = text.split("They live in the modules", 1)[1].split("\n\n", 1)[0]
    modules = {name: module
               for module, listed in re.findall(r"`(cjm[\w.]*)` \(([^)]*)\)", where)
               for name in re.findall(r"`(\w+)`", listed)}
    return names, modules


def test_all_is_what_the_docs_list_and_each_name_is_what_they_say():
    names, modules = _documented()
    assert sorted(names) == cjm.__all__
    for name in names:
        value = getattr(cjm, name)
        if name in modules:
            module = importlib.import_module(modules[name])
            assert value is (module if modules[name] == f"cjm.{name}" else getattr(module, name))


def test_render_is_a_function_whatever_was_imported_before(tmp_path):
    code = ("import cjm, cjm.render.json_out\n"
            "dot = 'digraph { a -> b }'\n"
            "svg = cjm.render(dot, 'svg')\n"
            "from cjm.render.graphviz import render\n"
            "print(svg == render(dot, 'svg'), svg.lstrip().startswith(b'<'), "
            "callable(cjm.render.json_out.journey_json))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
