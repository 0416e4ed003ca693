"""The public surface: ``cjm.__all__`` complete and sorted, each name what it says."""

from __future__ import annotations

import subprocess
import sys

import cjm


def test_all_is_sorted_and_resolves():
    assert cjm.__all__ == sorted(cjm.__all__)
    for name in cjm.__all__:
        assert getattr(cjm, name) is not None


def test_public_functions_stay_functions_after_their_modules_are_imported():
    # Importing cjm.summary (as `cjm inspect` does) must not turn cjm.describe into a module.
    code = ("import cjm, cjm.summary, cjm.eventlog, cjm.config\n"
            "print(callable(cjm.describe), callable(cjm.read_log), callable(cjm.find_config))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]


def test_error_exit_codes():
    assert (cjm.CjmError.exit_code, cjm.DataError.exit_code, cjm.ThresholdError.exit_code,
            cjm.UsageError.exit_code, cjm.ResourceError.exit_code) == (1, 1, 1, 2, 1)
    assert str(cjm.DataError("bad", "fix it")) == "bad\nfix it"
