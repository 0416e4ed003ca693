"""Time whole cjm commands: wall time and peak memory over several runs, medians quoted.

    python benchmarks/bench_cli.py            # the standard set below
    python benchmarks/bench_cli.py -n 9 -- cjm discover big.csv --no-map -q

Each command runs once as a warm-up, then ``-n`` times; the figures come from the
operating system's accounting of each finished child process (os.wait4).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CJM = str(Path(sys.executable).parent / "cjm")
STANDARD = [
    [CJM, "--help"],
    [CJM, "discover", str(ROOT / "examples" / "shop.csv"), "--no-map", "-q"],
    [CJM, "discover", str(ROOT / "examples" / "shop.csv"), "-o", "/tmp/cjm-bench.svg", "-q"],
    [CJM, "discover", str(SHARED / "receipt.csv"), "--no-map", "-q"],
    [CJM, "discover", str(SHARED / "bpic2012.xes.gz"), "--no-map", "-q"],
]


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one run."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="counted runs per command")
    parser.add_argument("command", nargs="*", help="one command to time (after --)")
    args = parser.parse_args()
    commands = [args.command] if args.command else [
        c for c in STANDARD if not c[2:3] or not c[2].startswith(str(SHARED)) or SHARED.exists()
    ]
    if args.command and shutil.which(args.command[0]) is None:
        raise SystemExit(f"not found: {args.command[0]}")
    print(f"{'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9}  command")
    for command in commands:
        run_once(command)  # warm-up: file cache, bytecode
        runs = [run_once(command) for _ in range(args.n)]
        walls = [w for w, _ in runs]
        peak = statistics.median(m for _, m in runs)
        shown = " ".join(Path(c).name if c.startswith("/") else c for c in command)
        print(f"{statistics.median(walls):9.3f} {min(walls):7.3f} {max(walls):7.3f} "
              f"{peak:9.1f}  {shown}")


if __name__ == "__main__":
    main()
