"""Time reading an XES log with two versions of cjm, runs alternating, each its own process.

    git archive <commit> cjm | tar -x -C /tmp/cjm-before      # the version to compare with
    python benchmarks/bench_xes.py /tmp/cjm-before -n 5        # bpic2012 by default
    python benchmarks/bench_xes.py /tmp/cjm-before -n 5 --log big.xes.gz
    python benchmarks/bench_xes.py /tmp/cjm-before -n 1 --copies 4   # 4x the events: flat memory?
    python benchmarks/bench_xes.py /tmp/cjm-before -n 3 --reader     # the reader alone
    python benchmarks/bench_xes.py --parts                     # where the reading's time goes

Each run is ``cjm.read_log(LOG)`` (with ``--reader``, the XES reader alone) in a fresh
interpreter (start-up and imports included), the older version first on its PYTHONPATH, this
checkout on the other. Figures come from the operating system's accounting of each finished
child (os.wait4): wall, CPU (user + system) and peak resident memory; medians are quoted,
and the ratio before / after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BPIC = ROOT.parent / "shared" / "data" / "bpic2012.xes.gz"


READ_LOG = "import cjm; cjm.read_log(LOG)"
# The reader alone: the file into Parquet parts, without building the events table.
LOAD_XES = ("import duckdb, tempfile; from pathlib import Path; "
            "from cjm.engine.duckdb.readers.records import load_xes; "
            "load_xes(duckdb.connect(), Path(LOG), 0, Path(tempfile.mkdtemp()))")


def run_once(tree: Path, log: Path, code: str = READ_LOG) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MiB of one run of ``code`` on ``log``."""
    code = (f"import cjm; assert cjm.__file__.startswith({str(tree)!r}); LOG = {str(log)!r}; "
            + code)
    # A folder without cjm in it: Python puts the working folder first on its path.
    with tempfile.TemporaryDirectory() as empty:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code], cwd=empty,
                                 env={**os.environ, "PYTHONPATH": str(tree)})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: cjm from {tree} reading {log}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def parts(log: Path) -> None:
    """CPU and wall seconds, in this process, of the layers under cjm's two XES readers."""
    import gzip
    import tempfile
    from xml.parsers import expat

    import duckdb
    import lxml.etree  # noqa: F401  imported here, so that no step below counts its import
    import pyarrow.parquet  # noqa: F401

    from cjm.engine.duckdb.readers import records
    from cjm.engine.duckdb.readers.records import _Loader, _XesEvents, load_flat_xes, load_xes
    from cjm.engine.duckdb.readers.xes_lines import _Lines

    data = gzip.decompress(log.read_bytes()) if log.suffix == ".gz" else log.read_bytes()

    def expat_only(handler) -> None:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.ordered_attributes = True
        ends: list[str] = []
        parser.EndElementHandler = ends.append
        parser.StartElementHandler = handler
        parser.Parse(data, True)

    def events_only() -> None:
        with tempfile.TemporaryDirectory() as work:
            reader = _XesEvents(_Loader(None, "raw", str(log), Path(work)), str(log))
            reader.loader.add = lambda line, record: None  # parse only, load nothing
            reader.feed(data, final=True)

    def whole(lines: bool = True) -> None:
        with tempfile.TemporaryDirectory() as work:
            if not lines:
                records.load_flat_xes = lambda *args: False
            try:
                load_xes(duckdb.connect(), log, 0, Path(work))
            finally:
                records.load_flat_xes = load_flat_xes

    def lines_only() -> None:
        for _ in _Lines(log)._groups():
            pass

    steps = {
        "gunzip": lambda: gzip.decompress(log.read_bytes()),
        "expat, no handler": lambda: expat_only(None),
        "expat, an empty Python handler per start tag": lambda: expat_only(lambda n, a: None),
        "cjm's expat reader, events not loaded": events_only,
        "cjm's expat reader (gunzip, parse, Parquet batches)": lambda: whole(lines=False),
        "cjm's lines reader, its reading thread alone: lines found, values viewed": lines_only,
        "cjm's load_xes: the lines reader (that thread; checks, pivots, Parquet parts)": whole,
    }
    for name, step in steps.items():
        start, wall = time.process_time(), time.perf_counter()
        step()
        print(f"{time.process_time() - start:5.2f} s CPU {time.perf_counter() - wall:5.2f} s wall"
              f"  {name}")


def copies(log: Path, count: int, folder: Path) -> Path:
    """``log`` with its traces written ``count`` times over: as many more events, same shape
    (whole lines are copied, so a log written one element a line stays so)."""
    import gzip

    data = gzip.decompress(log.read_bytes()) if log.suffix == ".gz" else log.read_bytes()
    first = data.rfind(b"\n", 0, data.index(b"<trace")) + 1
    last = data.index(b"\n", data.rindex(b"</trace>")) + 1
    path = folder / f"{count}x-{log.name.removesuffix('.gz')}.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(data[:first])
        for _ in range(count):
            out.write(data[first:last])
        out.write(data[last:])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, nargs="?",
                        help="a folder holding the older cjm package")
    parser.add_argument("--copies", type=int, default=1,
                        help="read a log holding the log's traces this many times over")
    parser.add_argument("--reader", action="store_true",
                        help="run the XES reader alone, not the whole read_log")
    parser.add_argument("--parts", action="store_true",
                        help="time the layers under the reader instead, in this process")
    parser.add_argument("-n", type=int, default=3, help="counted runs of each (default 3)")
    parser.add_argument("--log", type=Path, default=BPIC, help="the XES file (default bpic2012)")
    args = parser.parse_args()
    if args.parts:
        parts(args.log)
        return
    if args.before is None:
        parser.error("give the folder of the older cjm, or --parts")
    with tempfile.TemporaryDirectory() as folder:
        log = args.log if args.copies == 1 else copies(args.log, args.copies, Path(folder))
        compare(args.before, log, args.n, LOAD_XES if args.reader else READ_LOG)


def compare(before: Path, log: Path, n: int, code: str) -> None:
    """Alternating runs of the older cjm and this checkout reading ``log``; medians, ratios."""
    trees = {"before": before.resolve(), "after": ROOT}
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
    for tree in trees.values():  # one warm-up each
        run_once(tree, log, code)
    for _ in range(n):
        for name, tree in trees.items():
            runs[name].append(run_once(tree, log, code))
    print(f"{log.name}, {n} runs each, load average {os.getloadavg()[0]:.1f}")
    medians = {name: [statistics.median(r[i] for r in found) for i in range(3)]
               for name, found in runs.items()}
    for name, (wall, cpu, peak) in medians.items():
        print(f"{name:>6}: wall {wall:5.2f} s  CPU {cpu:5.2f} s  peak {peak:4.0f} MiB")
    before, after = medians["before"], medians["after"]
    print(f" ratio: wall {before[0] / after[0]:.2f}x  CPU {before[1] / after[1]:.2f}x  "
          f"peak {before[2] / after[2]:.2f}x")


if __name__ == "__main__":
    main()
