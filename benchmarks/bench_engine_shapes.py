"""The DuckDB engine's discover figures on logs of chosen shapes: few long journeys or many
short ones, few stages or many.

    python benchmarks/bench_engine_shapes.py                     # the shapes below
    python benchmarks/bench_engine_shapes.py --shape 20x8000x40  # journeys x events x stages

Each shape is a table of events made in DuckDB (journeys' events interleaved, times
increasing), ordered by ``DuckDBEngine.prepare``; each aggregate discover() reads is then
timed alone, in the same process. The figures guard against an aggregate whose cost grows
faster than the events (a key as long as a journey's path, a list per distinct stage).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = ("20x8000x40", "2000x500x40", "200000x5x16", "50000x20x70000")
FIGURES = ("stages", "transitions", "paths", "journey_figures", "rework")


def run(journeys: int, per_journey: int, stages: int, threads: int) -> dict[str, float]:
    import duckdb

    from cjm.engine.duckdb.engine import DuckDBEngine

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(
        f"CREATE TABLE events AS SELECT 'j' || (i % {journeys}) AS journey, "
        f"'s' || (hash(i) % {stages}) AS stage, TIMESTAMPTZ '2024-01-01' + to_seconds(i) AS ts,"
        f" 0 AS _file, i + 2 AS _line FROM range({journeys * per_journey}) t(i)")
    engine = DuckDBEngine(con)
    times = {}
    start = time.perf_counter()
    engine.prepare(None, None)
    times["prepare"] = time.perf_counter() - start
    for name in FIGURES:
        start = time.perf_counter()
        getattr(engine, name)()
        times[name] = time.perf_counter() - start
    con.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append",
                        help="JOURNEYSxEVENTSxSTAGES (events a journey); repeatable")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"{'shape':>16} " + " ".join(f"{n:>15}" for n in ("prepare", *FIGURES)))
    for shape in args.shape or SHAPES:
        journeys, per_journey, stages = (int(x) for x in shape.split("x"))
        times = run(journeys, per_journey, stages, args.threads)
        print(f"{shape:>16} " + " ".join(f"{times[n]:>14.2f}s" for n in ("prepare", *FIGURES)))


if __name__ == "__main__":
    main()
