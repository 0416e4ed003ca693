"""Shared helpers: tiny files in tmp_path, logs that are always closed, the real logs."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import cjm
from cjm.config import Config

TESTS = Path(__file__).parent
DATA = TESTS / "data"
# The real logs live beside the project, never inside it (../shared/data from the root).
SHARED_DATA = TESTS.parents[1] / "shared" / "data"
CLI_ENV = {"NO_COLOR": "1", "COLUMNS": "100"}


def run_cli(*args: str):
    """Run ``cjm ARGS`` in-process; no traceback and no stray exception, whatever the exit."""
    from typer.testing import CliRunner

    from cjm.cli import app

    result = CliRunner().invoke(app, list(args), env=CLI_ENV)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                     SystemExit)
    return result


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every test in its own folder, so no cjm.toml or pyproject.toml leaks in."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def _path_without_dot(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PATH with each folder that holds a ``dot`` replaced by links to all else it holds."""
    folders = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and shutil.which("dot", path=folder):
            mirror = tmp_path_factory.mktemp("bin-without-dot")
            for entry in os.scandir(folder):
                if entry.name != "dot":
                    (mirror / entry.name).symlink_to(entry.path)
            folder = str(mirror)
        folders.append(folder)
    return os.pathsep.join(folders)


@pytest.fixture(autouse=True)
def _no_system_dot(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                   _path_without_dot: str) -> None:
    """Every test runs as on a fresh machine, where no system Graphviz ``dot`` can be found:
    maps and models are drawn and laid out by the bundled graphviz-pure, even where CI has
    installed Graphviz. Tests marked ``system_dot`` compare with the system Graphviz instead,
    and skip where it is not installed."""
    if request.node.get_closest_marker("system_dot"):
        if not shutil.which("dot"):
            pytest.skip("the system Graphviz 'dot' is not installed (.ci/run installs it)")
    else:
        monkeypatch.setenv("PATH", _path_without_dot)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """``write(name, text_or_bytes)``: a file in the test's folder, written byte for byte."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write


@pytest.fixture
def read() -> Iterator[Callable[..., cjm.EventLog]]:
    """``read(paths, **options)``: ``cjm.read_log`` whose logs are closed after the test."""
    logs: list[cjm.EventLog] = []

    def _read(paths: Any, **options: Any) -> cjm.EventLog:
        log = cjm.read_log(paths, **options)
        logs.append(log)
        return log

    yield _read
    for log in logs:
        log.close()


def events(log: cjm.EventLog, *columns: str) -> list[tuple]:
    """The events of ``log`` in journey order, as tuples of ``columns``."""
    wanted = ", ".join(columns or ("journey", "stage"))
    return log.con.execute(
        f"SELECT {wanted} FROM events ORDER BY journey, ts, _file, _line"
    ).fetchall()


def csv_rows(path: str | Path) -> list[list[str]]:
    """The rows of a CSV file cjm wrote (such as a rejects file)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def reject_lines(log: cjm.EventLog) -> list[tuple[int, str]]:
    """(line, reason) of every reject, in line order."""
    return [(r["line"], r["reason"]) for r in log.rejects()]


def warning_counts(log: cjm.EventLog) -> dict[str, int]:
    return {w.code: w.count for w in log.warnings}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real logs and their references; the test skips when it is absent."""
    if not (SHARED_DATA / "reference").is_dir():
        pytest.skip(f"the real logs are not here: {SHARED_DATA} is absent")
    return SHARED_DATA


def reference(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / "reference" / f"{name}.json").read_text(encoding="utf-8"))


def read_shared(folder: Path, name: str, **options: Any) -> cjm.EventLog:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    # An empty Config: the real logs are read the same wherever the tests run from.
    return cjm.read_log(path, config=Config(), **options)


@pytest.fixture(scope="session")
def bpic2012_complete(shared_data: Path) -> Iterator[cjm.EventLog]:
    """BPIC 2012 read once per session with the default (complete events only); ~8 s."""
    log = read_shared(shared_data, "bpic2012.xes.gz")
    yield log
    log.close()


@pytest.fixture(scope="session")
def bpic2012_all(shared_data: Path) -> Iterator[cjm.EventLog]:
    """BPIC 2012 read once per session with every lifecycle value kept; ~8 s."""
    log = read_shared(shared_data, "bpic2012.xes.gz", lifecycle="all")
    yield log
    log.close()


def local_spark(name: str):
    """A local Spark session for tests, tuned for small logs (starting one costs 15-30 s);
    the test skips, saying why, on a machine without Java."""
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: PySpark 4 needs Java 17 or later")
    from pyspark.sql import SparkSession

    from cjm.engine.spark.session import jdbc_jars, quiet

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # as cjm's local sessions do
    with quiet():
        session = (SparkSession.builder.master("local[2]").appName(name)
                   .config("spark.jars", ",".join(jdbc_jars()))  # the databases' drivers
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "2")
                   # Small logs: planning and compiling cost more than the work itself.
                   .config("spark.sql.adaptive.enabled", "false")
                   .config("spark.sql.codegen.wholeStage", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL server, started for the session from the distribution's binaries
    (tests/postgres_server.py); the tests that need it skip, with the reason, where it
    cannot run."""
    from tests import postgres_server

    reason = postgres_server.missing()
    if reason:
        pytest.skip(reason)
    with postgres_server.running() as server:
        yield server
