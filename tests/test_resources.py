"""Resource failures through the real CLI: a full spill folder, a full or read-only output
folder, a read-only temporary folder, too little memory. Each gets one message that names
what ran out, where, and what to do; exit 1; never "This is a bug in cjm"; no partial output.

Full and read-only disks are small tmpfs mounts (root only: the tests skip, saying so, where
mounting is not allowed); memory is capped with RLIMIT_AS (``ulimit -v``) in the subprocess.
"""

from __future__ import annotations

import os
import random
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CLI_ENV

ROOT = Path(__file__).parents[1]
DESIGN = ROOT / "examples" / "designed-journey.yaml"
STAGES = ("Visit Site", "Search", "View Product", "Add to Cart", "Checkout", "Purchase")


# Root ignores permission bits; without these two capabilities it obeys them, as users do.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
               "--inh-caps=-dac_override,-dac_read_search"]


def _cjm(*args: str, limit_memory: int | None = None,
         prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_memory, limit_memory))

    return subprocess.run([*(prefix or []), sys.executable, "-m", "cjm", *args],
                          capture_output=True, text=True,
                          env={**os.environ, **CLI_ENV, "PYTHONPATH": str(ROOT)},
                          preexec_fn=cap if limit_memory else None, timeout=120, check=False)


def _mount(folder: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    folder.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("a full or read-only disk is a small tmpfs, and this machine has no "
                    "mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.skip("a full or read-only disk is a small tmpfs, which this machine does not "
                    f"let the tests mount ({done.stderr.strip() or 'mount failed'})")
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system: too small to spill 22 MB of events into."""
    yield from _mount(tmp_path / "small", "2m")


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A file system with a few kilobytes left."""
    for folder in _mount(tmp_path / "full", "256k"):
        (folder / "filler").write_bytes(b"\0" * 250 * 1024)
        yield folder


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    yield from _mount(tmp_path / "readonly", "1m", read_only=True)


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800,000 events (22 MB): under --memory-limit 50MB the engine spills to disk (400,000
    no longer did once the journey id was held once)."""
    rnd = random.Random(1)
    rows, journey, events = ["journey,stage,timestamp"], 0, 0
    while events < 800_000:
        length, start = rnd.randint(1, 8), 1_704_067_200 + rnd.randint(0, 30_000_000)
        rows.extend(f"j{journey},{STAGES[min(step, 5)]},{start + step * 60}"
                    for step in range(length))
        journey, events = journey + 1, events + length
    path = tmp_path_factory.mktemp("big") / "big.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _no_bug(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 1, run.stderr
    assert "bug in cjm" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("Error: ") and run.stderr.count("Error:") == 1, run.stderr
    return " ".join(run.stderr.split())


@pytest.mark.parametrize("command", [["discover", "--no-map"], ["check", "--design",
                                                                 str(DESIGN)]])
def test_spill_folder_full_names_the_folder_and_the_ways_out(big_log, small_disk, command):
    run = _cjm(command[0], str(big_log), *command[1:], "--memory-limit", "50MB",
               "--temp-dir", str(small_disk))
    message = _no_bug(run)
    assert f"the spill folder {small_disk} is full" in message
    assert re.search(r"needed [0-9.]+ [KMG]iB more", message)  # in DuckDB's own units
    for way_out in ("--temp-dir", "--memory-limit", "--buckets"):
        assert way_out in message
    assert list(small_disk.iterdir()) == []  # its temporary files are gone


def _journeys(path: Path, events: int) -> Path:
    rnd = random.Random(1)
    rows, journey, count = ["journey,stage,timestamp"], 0, 0
    while count < events:
        length, start = rnd.randint(1, 8), 1_704_067_200 + rnd.randint(0, 30_000_000)
        rows.extend(f"j{journey},{STAGES[min(step, 5)]},{start + step * 60}"
                    for step in range(length))
        journey, count = journey + 1, count + length
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_memory_limit_is_the_whole_process_budget(tmp_path):
    # 2M events take cjm about 560 MB by default. Under a budget of 300 MB, DuckDB's own
    # limit is what the interpreter and DuckDB's allocations beside its buffers leave: when
    # DuckDB was given the whole 300 MB, the process peaked at 359 MB.
    log = _journeys(tmp_path / "two_million.csv", 2_000_000)
    # A child's peak counts what it held between fork and exec, all of pytest's memory: a
    # small interpreter starts cjm and reports cjm's peak.
    launcher = (
        "import os, subprocess, sys\n"
        "run = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "_, status, usage = os.wait4(run.pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-m", "cjm",
                           "discover", str(log), "--no-map", "-q", "--memory-limit", "300MB",
                           "--temp-dir", str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, **CLI_ENV, "PYTHONPATH": str(ROOT)}, timeout=300,
                          check=True)
    code, peak = map(int, done.stdout.split())
    assert code == 0, done.stderr
    peak *= 1 if sys.platform == "darwin" else 1024
    assert peak <= 300_000_000, f"peak {peak / 1e6:.0f} MB above the 300 MB budget"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_the_events_are_held_compressed_whatever_the_format(tmp_path, suffix):
    # An in-memory database compresses at a checkpoint only. Before cjm made one, only a CSV
    # large enough to trigger one itself was compressed: 300,000 events held 48 to 71 bytes
    # each, and under a small --memory-limit every bucket read them back from disk.
    import duckdb

    from cjm import read_log

    log = _journeys(tmp_path / "log.csv", 300_000)
    if suffix != ".csv":
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{log}', all_varchar=true)) "
                   f"TO '{log.with_suffix(suffix)}'")
    with read_log(log.with_suffix(suffix)) as events:
        held = events.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()"
                                  ).fetchall()[0][0]
        assert events.events >= 300_000
        assert held / events.events < 20, f"{held / events.events:.0f} bytes an event"


def test_read_only_temp_dir(big_log, read_only):
    message = _no_bug(_cjm("inspect", str(big_log), "--temp-dir", str(read_only)))
    assert f"--temp-dir {read_only}: cannot create temporary files there: read-only file " \
           "system" in message


def test_memory_the_system_refuses(big_log):
    # The engine's default limit is 80% of RAM; RLIMIT_AS (ulimit -v) gives far less. Where
    # the allocation fails (DuckDB or Python) depends on the cap: each that fails says so.
    failed = []
    for cap in (1_100, 900, 700):
        run = _cjm("discover", str(big_log), "--no-map", limit_memory=cap << 20)
        if run.returncode:
            message = _no_bug(run)
            assert "ran out of memory" in message
            assert "--memory-limit" in message or "more memory" in message
            failed.append(cap)
    assert failed, "no cap made cjm run out of memory"


def test_python_out_of_memory(tmp_path):
    # A JSON array is parsed whole, in Python: 300 MB of it cannot be under a 1 GB cap.
    path = tmp_path / "huge.json"
    record = '{"journey": "j%d", "stage": "%s", "timestamp": "2024-03-01T10:00:00Z"},\n'
    with path.open("w") as handle:
        handle.write("[")
        for i in range(4_000_000):
            handle.write(record % (i, "x" * 20))
        handle.write('{"journey": "j", "stage": "s", "timestamp": "2024-03-01"}]')
    message = _no_bug(_cjm("inspect", str(path), limit_memory=1_000 << 20))
    assert "ran out of memory" in message


@pytest.mark.parametrize("output", ["-o", "--json"])
def test_full_output_folder_leaves_nothing(tmp_path, full_disk, output):
    target = full_disk / ("map.dot" if output == "-o" else "map.json")
    log = ROOT / "examples" / "shop.csv"
    message = _no_bug(_cjm("discover", str(log), output, str(target)))
    assert f"cannot write {target}: no space left on device" in message.lower().replace(
        "error: ", "")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_convert_into_a_full_folder(full_disk):
    target = full_disk / "shop.parquet"
    message = _no_bug(_cjm("convert", str(ROOT / "examples" / "shop.csv"), "-o", str(target)))
    assert f"cannot write {target}: no space left on device" in message.lower()
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_read_only_output_folder(read_only):
    for target, args in ((read_only / "shop.parquet", ["convert"]),
                         (read_only / "map.svg", ["discover"]),
                         (read_only / "model.pnml", ["model"])):
        run = _cjm(args[0], str(ROOT / "examples" / "shop.csv"), "-o", str(target))
        message = _no_bug(run)
        assert target.name in message and "read-only file system" in message.lower()


@pytest.fixture
def obey_permissions() -> list[str]:
    """A command prefix under which permission bits hold, also for root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None or subprocess.run(
            [*NO_OVERRIDE, "true"], capture_output=True, check=False).returncode:
        pytest.skip("root ignores permission bits, and setpriv cannot drop the capabilities "
                    "that let it")
    return NO_OVERRIDE


def test_an_input_that_may_not_be_read(tmp_path, obey_permissions):
    log = tmp_path / "shop.csv"
    shutil.copyfile(ROOT / "examples" / "shop.csv", log)
    log.chmod(0)
    message = _no_bug(_cjm("inspect", str(log), prefix=obey_permissions))
    assert f"{log}: permission denied Ask for access" in message


def test_an_output_folder_that_is_not_writable(tmp_path, obey_permissions):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o555)
    for target in (folder / "map.svg", folder / "profile.json"):
        flag = "-o" if target.suffix == ".svg" else "--json"
        run = _cjm("discover", str(ROOT / "examples" / "shop.csv"), flag, str(target),
                   prefix=obey_permissions)
        assert f"cannot write {target}: permission denied" in _no_bug(run)
    assert list(folder.iterdir()) == []


def test_a_batch_entry_that_runs_out_is_listed_and_the_others_written(big_log, small_disk,
                                                                      tmp_path):
    batch = tmp_path / "batch.toml"
    batch.write_text(
        f'[[report]]\nname = "big"\nlogs = ["{big_log}"]\noutput = "big.md"\n'
        f'memory_limit = "50MB"\ntemp_dir = "{small_disk}"\n'
        f'[[report]]\nname = "shop"\nlogs = ["{ROOT / "examples" / "shop.csv"}"]\n'
        'output = "shop.md"\n')
    run = _cjm("report", "--config", str(batch))
    assert run.returncode == 1
    assert "bug in cjm" not in run.stderr
    assert f"big: the spill folder {small_disk} is full" in " ".join(run.stderr.split())
    assert (tmp_path / "shop.md").exists() and not (tmp_path / "big.md").exists()


def test_the_library_raises_a_resource_error_and_classifies_later_ones(big_log, small_disk):
    import duckdb

    import cjm
    from cjm.resources import classify

    with pytest.raises(cjm.ResourceError, match=f"the spill folder {small_disk} is full"):
        cjm.read_log(big_log, memory_limit="50MB", temp_dir=small_disk)
    assert list(small_disk.iterdir()) == []
    con = duckdb.connect()
    try:
        con.execute("SET memory_limit = '20MB'")
        con.execute("SELECT string_agg(repeat('x', 1000), '') FROM range(100000)").fetchall()
    except duckdb.Error as exc:
        known = classify(exc)
        assert known is not None and "the engine ran out of memory" in known.message
    else:
        pytest.fail("DuckDB built a 100 MB string under a 20MB limit")
    assert classify(ValueError("no")) is None


def test_memory_refused_without_a_size_is_the_system_refusing():
    """DuckDB's "Allocation failure" (the system refused memory, as when the engine starts
    under a low ulimit -v) says no size: still the system's refusal, not a bug."""
    import duckdb

    from cjm.resources import classify

    known = classify(duckdb.OutOfMemoryException("Out of Memory Error: Allocation failure"))
    assert known is not None
    assert known.message == ("the engine ran out of memory: the system refused it memory, "
                             "below the engine's own limit")
    assert "--memory-limit" in known.hint
