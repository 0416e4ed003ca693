"""The pandas + pm4py pipeline that does the work of ``cjm discover LOG --json OUT --no-map``.

    python benchmarks/pm4py_pipeline.py LOG.csv --case journey_id --json out.json
    python benchmarks/pm4py_pipeline.py LOG.parquet --case journey_id --json out.json
    python benchmarks/pm4py_pipeline.py ../shared/data/bpic2012.xes.gz --json out.json

It reads the log as text (pandas ``read_csv`` or ``read_parquet``; ``pm4py.read_xes`` for
XES), formats it with ``pm4py.format_dataframe`` (which parses the timestamps and orders each
case by timestamp, ties in file order), and computes what cjm's journey map holds: the
transitions with their counts and waits (``discover_dfg``, ``discover_performance_dfg``), the
paths (``get_variants``), start and end stages, and the journey durations
(``get_all_case_durations``). It writes a small JSON of the results. Like cjm, it keeps only
complete events of a log with a lifecycle column that has complete and other events.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

CASE, STAGE, TIMESTAMP = "case:concept:name", "concept:name", "time:timestamp"
LIFECYCLE = "lifecycle:transition"


def read(path: Path, case: str, stage: str, timestamp: str):
    """The log as a pandas DataFrame formatted for pm4py (XES comes formatted)."""
    import pandas as pd
    import pm4py

    name = path.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        df = pm4py.read_xes(str(path))
    else:
        if name.endswith(".parquet"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        df = pm4py.format_dataframe(df, case_id=case, activity_key=stage,
                                    timestamp_key=timestamp)
    if LIFECYCLE in df.columns:
        kinds = df[LIFECYCLE].astype("string").str.lower()
        if (kinds == "complete").any() and (kinds != "complete").any():
            df = df[kinds == "complete"]
            df = pm4py.format_dataframe(df, case_id=CASE, activity_key=STAGE,
                                        timestamp_key=TIMESTAMP)
    return df


def pipeline(df) -> dict:
    """The journey-map figures, computed by pm4py."""
    import pm4py

    dfg, _, _ = pm4py.discover_dfg(df)
    performance, _, _ = pm4py.discover_performance_dfg(df)
    variants = pm4py.get_variants(df)
    start_stages = pm4py.get_start_activities(df)
    end_stages = pm4py.get_end_activities(df)
    durations = pm4py.get_all_case_durations(df)
    counts = {path: (n if isinstance(n, int) else len(n)) for path, n in variants.items()}
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:1000]
    return {
        "journeys": len(durations),
        "events": len(df),
        "transitions": [
            {"from": a, "to": b, "count": int(n),
             "median_seconds": float(performance[(a, b)]["median"]),
             "mean_seconds": float(performance[(a, b)]["mean"])}
            for (a, b), n in sorted(dfg.items(), key=lambda item: (-item[1], item[0]))
        ],
        "paths_total": len(counts),
        "paths": [{"stages": list(path), "journeys": n} for path, n in top],
        "starts": dict(sorted(start_stages.items())),
        "ends": dict(sorted(end_stages.items())),
        "duration_seconds": {
            "median": statistics.median(durations) if durations else None,
            "mean": statistics.fmean(durations) if durations else None,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--case", default=CASE, help="journey id column (CSV, Parquet)")
    parser.add_argument("--stage", default=STAGE, help="stage column (CSV, Parquet)")
    parser.add_argument("--timestamp", default=TIMESTAMP, help="timestamp column")
    parser.add_argument("--json", type=Path, required=True, help="where to write the results")
    parser.add_argument("--timings", action="store_true", help="print each step's seconds")
    args = parser.parse_args(argv)
    marks = [("start", time.perf_counter())]
    import pm4py  # noqa: F401  (its import is part of the cost)

    marks.append(("import", time.perf_counter()))
    df = read(args.log, args.case, args.stage, args.timestamp)
    marks.append(("read+format", time.perf_counter()))
    result = pipeline(df)
    marks.append(("pipeline", time.perf_counter()))
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    marks.append(("json", time.perf_counter()))
    if args.timings:
        for (_, before), (step, after) in itertools.pairwise(marks):
            print(f"{step:>12}: {after - before:6.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
