"""Time and memory of drawing a map, against its stages (10 to 1,000) and its density.

    python benchmarks/bench_render.py                     # the standard grid, a few minutes
    python benchmarks/bench_render.py --stages 10 20 30 --density 1 --timeout 120

Each case generates a clickstream (10 pages per visit, each page followed by one of a fixed
share of the other pages: density 1 means any page may follow any other, as on a web shop's
navigation), maps it with every stage and transition kept (``--stages 100% --paths 100%
--max-edges 0``), and draws the DOT with each renderer found: ``graphviz-pure`` (the
fallback in the wheel) and the system Graphviz ``dot`` (reported as absent when it is not
installed). Each drawing runs once, under the memory cap and a time-out given here (not
cjm's own limits, so that the figures show where those limits should lie), and the last
column says what cjm does with that map: refuse it up front, or give it so many seconds.
Once a renderer fails at some size, the larger sizes of that density are skipped for it.
Wall time and peak resident memory come from the operating system's accounting of the
finished process (os.wait4).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENTS_PER_VISIT = 10
VISITS_PER_PAGE = 20
MiB = 1024 * 1024


def write_clickstream(target: Path, pages: int, density: float, seed: int = 7) -> None:
    """A CSV log of visits over ``pages`` pages, each page followed by ``density`` of the
    others (at least one), chosen at random; deterministic for a seed."""
    rng = random.Random(seed)
    names = [f"page-{i:04d}" for i in range(pages)]
    width = max(1, round(density * (pages - 1)))
    follows = [rng.sample([j for j in range(pages) if j != i], min(width, pages - 1)) or [i]
               for i in range(pages)]
    with target.open("w", encoding="utf-8") as out:
        out.write("session_id,timestamp,page\n")
        for visit in range(max(200, pages * VISITS_PER_PAGE)):
            page = rng.randrange(pages)
            for step in range(EVENTS_PER_VISIT):
                minute, second = divmod(visit % 3600 + step * 7, 60)
                out.write(f"S{visit:07d},2024-01-01T{step:02d}:{minute % 60:02d}:{second:02d}Z,"
                          f"{names[page]}\n")
                page = rng.choice(follows[page])


def full_map_dot(log_file: Path) -> tuple[str, int, int]:
    """The DOT of the unsimplified map of ``log_file``, with its stage and edge counts."""
    import cjm
    from cjm.mapgraph import build_map
    from cjm.render.dot import to_dot

    graph = build_map(cjm.discover(cjm.read_log(log_file)), stages=1.0, paths=1.0, max_edges=0)
    return to_dot(graph, title=log_file.name), len(graph.nodes), len(graph.edges)


def draw(program: str, dot: str, timeout: float, memory: int) -> tuple[str, float, float]:
    """Outcome (ok, time-out, failed), wall seconds and peak resident MiB of one drawing."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    with tempfile.TemporaryFile() as source:
        source.write(dot.encode("utf-8"))
        source.seek(0)
        start = time.perf_counter()
        child = subprocess.Popen([program, "-Tsvg"], stdin=source, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, preexec_fn=limit)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.send_signal(signal.SIGKILL)
                _, status, usage = os.wait4(child.pid, 0)
                return "time-out", time.perf_counter() - start, usage.ru_maxrss / 1024
            time.sleep(0.02)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return ("ok" if code == 0 else f"failed ({code})"), wall, usage.ru_maxrss / 1024


def cjm_limit(dot: str, renderer: str) -> str:
    """What cjm's own limits do with this drawing."""
    from cjm.render.graphviz import dot_size, time_limit, too_large

    nodes, _, edges = dot_size(dot)
    name = "graphviz-pure" if renderer == "graphviz-pure" else "Graphviz dot"
    return "refused" if too_large(name, nodes, edges) else f"{time_limit(nodes, edges):.0f} s"


def renderers() -> dict[str, str | None]:
    beside = Path(sys.executable).parent / "graphviz-pure"
    return {"graphviz-pure": str(beside) if beside.exists() else shutil.which("graphviz-pure"),
            "dot": shutil.which("dot")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, nargs="+", default=[10, 20, 30, 100, 300, 1000],
                        help="numbers of pages (stages) to try")
    parser.add_argument("--density", type=float, nargs="+", default=[0.001, 0.05, 1.0],
                        help="share of the other pages that may follow a page")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per drawing")
    parser.add_argument("--memory-mib", type=int, default=2048,
                        help="address-space cap of the renderer, MiB")
    args = parser.parse_args()
    found = renderers()
    for name, program in found.items():
        print(f"# {name}: {program or 'not installed, not measured'}")
    print(f"# cap {args.memory_mib:,} MiB, time-out {args.timeout:g} s per drawing")
    print(f"{'density':>7} {'stages':>6} {'edges':>7} {'renderer':<13} {'outcome':<11} "
          f"{'wall s':>7} {'peak MiB':>9}  cjm")
    with tempfile.TemporaryDirectory() as work:
        for density in args.density:
            failed: set[str] = set()
            for pages in args.stages:
                log_file = Path(work) / f"clicks-{pages}-{density:g}.csv"
                write_clickstream(log_file, pages, density)
                dot, stages, edges = full_map_dot(log_file)
                for name, program in found.items():
                    if program is None:
                        continue
                    if name in failed:
                        outcome, wall, peak = "skipped", float("nan"), float("nan")
                    else:
                        outcome, wall, peak = draw(program, dot, args.timeout,
                                                   args.memory_mib * MiB)
                    if outcome != "ok":
                        failed.add(name)
                    print(f"{density:>7g} {stages:>6,} {edges:>7,} {name:<13} {outcome:<11} "
                          f"{wall:>7.2f} {peak:>9.0f}  {cjm_limit(dot, name)}", flush=True)


if __name__ == "__main__":
    main()
