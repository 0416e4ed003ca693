"""cjm discover against the equivalent pandas + pm4py pipeline: wall, CPU and peak memory.

    python benchmarks/make_logs.py                       # the logs, into /tmp/cjm-bench
    python benchmarks/compare_pm4py.py                   # 100k and 1M, CSV and Parquet, bpic2012
    python benchmarks/compare_pm4py.py --sizes 10m -n 1 --pm4py-timeout 300
    python benchmarks/compare_pm4py.py --markdown table.md

For every log the two commands run alternately (cjm, pm4py, cjm, pm4py, ...) ``-n`` times,
each as its own process. Each run's figures come from the operating system's accounting of
the finished child (``os.wait4``): wall time, CPU time (user + system, all threads) and peak
resident memory (``ru_maxrss``). The table gives medians and the ratios pm4py / cjm. A pm4py
run that exceeds ``--pm4py-timeout`` seconds is stopped and reported as such. Both commands
write JSON (into FOLDER/out); the journeys, events, transitions and paths they count are
checked against each other, and a warning is printed when they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_logs import DEFAULT_FOLDER, csv_path, parquet_path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BPIC = SHARED / "bpic2012.xes.gz"
BIN = Path(sys.executable).parent
CJM = str(BIN / "cjm")
PIPELINE = str(Path(__file__).resolve().parent / "pm4py_pipeline.py")
SIZES = ("100k", "1m", "10m")


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mib: float
    ok: bool
    timed_out: bool = False


@dataclass
class Case:
    """One log and the two commands that work on it."""

    label: str
    events: str  # as cjm counts them, once it has run
    cjm: list[str]
    pm4py: list[str]
    cjm_json: Path
    pm4py_json: Path
    runs: dict[str, list[Run]] = field(default_factory=lambda: {"cjm": [], "pm4py": []})
    warnings: list[str] = field(default_factory=list)


def run_once(command: list[str], timeout: float | None = None) -> Run:
    """One run of ``command``: wall seconds, CPU seconds and peak MiB of the child."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        os.killpg(child.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, stop) if timeout else None
    if timer:
        timer.start()
    errors = threading.Thread(target=lambda: setattr(child, "err", child.stderr.read()))
    errors.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if timer:
        timer.cancel()
    errors.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    ok = child.returncode == 0
    if not ok and not timed_out.is_set():
        text = child.err.decode(errors="replace").strip().splitlines()
        print(f"failed ({child.returncode}): {' '.join(command)}\n  "
              + "\n  ".join(text[-5:]), file=sys.stderr)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, ok,
               timed_out.is_set())


def cases(folder: Path, sizes: list[str], formats: list[str], bpic: bool,
          out: Path) -> list[Case]:
    found = []
    for size in sizes:
        for fmt in formats:
            log = csv_path(folder, size) if fmt == "csv" else parquet_path(folder, size)
            if not log.exists():
                raise SystemExit(f"{log}: missing; run benchmarks/make_logs.py {folder}")
            name = f"shop-{size}.{fmt}"
            found.append(Case(
                name, "?",
                [CJM, "discover", str(log), "--case", "journey_id", "--json",
                 str(out / f"{name}.cjm.json"), "--no-map", "-q"],
                [sys.executable, PIPELINE, str(log), "--case", "journey_id", "--stage", "stage",
                 "--timestamp", "timestamp", "--json", str(out / f"{name}.pm4py.json")],
                out / f"{name}.cjm.json", out / f"{name}.pm4py.json"))
    if bpic:
        if not BPIC.exists():
            print(f"{BPIC}: missing, bpic2012 left out", file=sys.stderr)
        else:
            found.append(Case(
                "bpic2012.xes.gz", "?",
                [CJM, "discover", str(BPIC), "--json", str(out / "bpic2012.cjm.json"),
                 "--no-map", "-q"],
                [sys.executable, PIPELINE, str(BPIC), "--json", str(out / "bpic2012.pm4py.json")],
                out / "bpic2012.cjm.json", out / "bpic2012.pm4py.json"))
    return found


def agree(case: Case) -> None:
    """Warn when cjm and pm4py count different journeys, events, transitions or paths."""
    if not case.cjm_json.exists():
        return
    ours = json.loads(case.cjm_json.read_text(encoding="utf-8"))
    case.events = f"{ours['events']:,}"
    if not case.pm4py_json.exists():
        return
    theirs = json.loads(case.pm4py_json.read_text(encoding="utf-8"))
    figures = {
        "journeys": (ours["journeys"], theirs["journeys"]),
        "events": (ours["events"], theirs["events"]),
        "transitions": (len(ours["transitions"]), len(theirs["transitions"])),
        "paths": (ours["paths_total"], theirs["paths_total"]),
        "transition events": (sum(t["count"] for t in ours["transitions"]),
                              sum(t["count"] for t in theirs["transitions"])),
    }
    for what, (a, b) in figures.items():
        if a != b:
            case.warnings.append(f"{case.label}: {what} differ: cjm {a}, pm4py {b}")


def median(runs: list[Run], attr: str) -> float | None:
    good = [getattr(r, attr) for r in runs if r.ok]
    return statistics.median(good) if good else None


def cell(value: float | None, unit: str, runs: list[Run]) -> str:
    if any(r.timed_out for r in runs):
        return f"> {max(r.wall for r in runs):.0f} s (stopped)" if unit == "s" else "—"
    if value is None:
        return "—" if not runs else "failed"
    return f"{value:,.0f} MiB" if unit == "MiB" else f"{value:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "—"


def table(found: list[Case]) -> str:
    lines = [
        "| log | events | cjm wall | pm4py wall | ratio | cjm CPU | pm4py CPU | ratio | "
        "cjm peak | pm4py peak | ratio | runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in found:
        ours, theirs = case.runs["cjm"], case.runs["pm4py"]
        row = [f"`{case.label}`", case.events]
        for attr, unit in (("wall", "s"), ("cpu", "s"), ("peak_mib", "MiB")):
            a, b = median(ours, attr), median(theirs, attr)
            row += [cell(a, unit, ours), cell(b, unit, theirs if attr == "wall" else
                                               [r for r in theirs if not r.timed_out]),
                    ratio(b, a)]
        row.append(f"{len(ours)} / {len(theirs)}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(int(line.split()[1]) for line in
                      Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")) / 2**20
    except OSError:
        memory = float("nan")
    versions = ", ".join(f"{name} {metadata.version(name)}"
                         for name in ("cjm", "duckdb", "pandas", "pyarrow", "pm4py"))
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, {versions}")


def shown(command: list[str]) -> str:
    parts = []
    for part in command:
        if part == sys.executable:
            part = ".venv/bin/python"
        elif part == CJM:
            part = ".venv/bin/cjm"
        elif part.startswith(str(ROOT) + "/"):
            part = os.path.relpath(part, ROOT)
        elif part.startswith(str(SHARED)):
            part = "../shared/data/" + os.path.relpath(part, SHARED)
        parts.append(part)
    return " ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"where make_logs.py wrote the logs (default {DEFAULT_FOLDER})")
    parser.add_argument("-n", type=int, default=3, help="runs of each command (default 3)")
    parser.add_argument("--sizes", nargs="*", default=["100k", "1m"], choices=SIZES,
                        help="generated log sizes (default 100k 1m)")
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"],
                        choices=["csv", "parquet"])
    parser.add_argument("--no-bpic", action="store_true", help="leave bpic2012 out")
    parser.add_argument("--no-pm4py", action="store_true", help="time cjm only")
    parser.add_argument("--pm4py-timeout", type=float, default=None, metavar="SECONDS",
                        help="stop a pm4py run after this long and report it as stopped")
    parser.add_argument("--warmup", type=int, default=0,
                        help="uncounted runs of each command first (default 0)")
    parser.add_argument("--help-runs", type=int, default=5,
                        help="runs of `cjm --help` (default 5; 0 leaves it out)")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    out = args.folder / "out"  # both tools' JSON, kept to look at
    out.mkdir(parents=True, exist_ok=True)
    found = cases(args.folder, args.sizes, args.formats, not args.no_bpic, out)
    report = [f"Machine: {machine()}", ""]
    load_start = os.getloadavg()[0]
    if args.help_runs:
        run_once([CJM, "--help"])
        helps = [run_once([CJM, "--help"]) for _ in range(args.help_runs)]
        report += [f"`cjm --help`: median wall {median(helps, 'wall'):.3f} s, peak "
                   f"{median(helps, 'peak_mib'):.0f} MiB ({args.help_runs} runs)", ""]
        print(report[-2], file=sys.stderr)
    tools = ["cjm"] if args.no_pm4py else ["cjm", "pm4py"]
    for case in found:
        for stale in (case.cjm_json, case.pm4py_json):  # only this run's output is checked
            stale.unlink(missing_ok=True)
        for _ in range(args.warmup):
            for tool in tools:
                run_once(getattr(case, tool), args.pm4py_timeout if tool == "pm4py" else None)
        for i in range(args.n):
            for tool in tools:
                if tool == "pm4py" and any(r.timed_out for r in case.runs["pm4py"]):
                    continue  # once stopped, not tried again
                run = run_once(getattr(case, tool),
                               args.pm4py_timeout if tool == "pm4py" else None)
                case.runs[tool].append(run)
                state = " (stopped)" if run.timed_out else "" if run.ok else " (failed)"
                print(f"{case.label} {tool} #{i + 1}: wall {run.wall:.2f} s, CPU {run.cpu:.2f} s"
                      f", peak {run.peak_mib:.0f} MiB{state}", file=sys.stderr)
        agree(case)
    load_end = os.getloadavg()[0]
    report += [table(found), "",
               f"Load average (1 min) at the start {load_start:.1f}, at the end {load_end:.1f} "
               f"(on {os.cpu_count()} cores; above 0 means other work shared the machine).", "",
               "Commands (pm4py: benchmarks/pm4py_pipeline.py):", ""]
    for case in found:
        report.append(f"    {shown(case.cjm)}")
        if not args.no_pm4py:
            report.append(f"    {shown(case.pm4py)}")
    warnings = [w for case in found for w in case.warnings]
    checked = [c.label for c in found if c.cjm_json.exists() and c.pm4py_json.exists()]
    report += [""] + ([f"WARNING: {w}" for w in warnings] or [
        "Check: cjm and pm4py count the same journeys, events, transitions and paths on "
        + (", ".join(checked) if checked else "no log (nothing to compare)") + "."])
    text = "\n".join(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if warnings:
        for w in warnings:
            print(f"WARNING: {w}", file=sys.stderr)


if __name__ == "__main__":
    main()
