"""cjm's precision against pm4py's own on one log and one design: both figures, both times.

    python benchmarks/bench_precision.py ../shared/data/bpic2012.xes.gz --design m.bpmn
    python benchmarks/bench_precision.py ../shared/data/sepsis.csv   # a model mined as cjm model

Reads the log with cjm and takes the design's Petri net (or mines one from the paths, as
``cjm model`` does), then times, in the same process, ``cjm.model.precision`` on the distinct
paths and ``pm4py.precision_token_based_replay`` on the whole log as a pandas frame, and
exits 1 unless the two figures are equal.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path


def timed(work):
    """(result, wall seconds, CPU seconds) of ``work()``."""
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = work()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return result, wall, (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--design", type=Path, help="a design file (default: mine a model)")
    parser.add_argument("--skip-pm4py", action="store_true", help="time cjm alone")
    args = parser.parse_args()

    import cjm
    from cjm.design import load_design
    from cjm.model import discover_model, precision

    with cjm.read_log(args.log) as log:
        paths = [(p.stages, p.journeys) for p in cjm.discover(log).paths]
        net = (load_design(args.design).petri_net() if args.design
               else discover_model(paths).petri_net())
        frame = None if args.skip_pm4py else log.to_pandas()
    prefixes = len({stages[:i] for stages, _ in paths for i in range(1, len(stages))})
    print(f"{args.log.name}: {len(paths):,} paths, {prefixes:,} distinct prefixes, "
          f"{len(net.net.transitions)} transitions")
    ours, wall, cpu = timed(lambda: precision(net, paths))
    print(f"cjm   precision {ours!r}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    if frame is None:
        return
    import pm4py

    frame = pm4py.format_dataframe(frame.rename(columns={"journey": "case:concept:name"}),
                                   case_id="case:concept:name", activity_key="stage",
                                   timestamp_key="ts")
    theirs, their_wall, their_cpu = timed(lambda: pm4py.precision_token_based_replay(
        frame, net.net, net.initial, net.final))
    print(f"pm4py precision {theirs!r}: {their_wall:.2f} s wall, {their_cpu:.2f} s CPU")
    print(f"cjm / pm4py: {wall / their_wall:.4f} of the wall time, {cpu / their_cpu:.4f} of CPU")
    if ours != theirs:
        sys.exit("the figures differ")


if __name__ == "__main__":
    main()
