"""cjm's fitness and precision against pm4py's own on one log and design: figures and times.

    python benchmarks/bench_replay.py ../shared/data/bpic2012.xes.gz --design m.bpmn
    python benchmarks/bench_replay.py ../shared/data/sepsis.csv   # a model mined as cjm model

Reads the log with cjm and takes the design's Petri net (or mines one from the paths, as
``cjm model`` does), then times, in the same process, ``cjm.model.replay`` and
``cjm.model.precision`` on the distinct paths against ``pm4py.fitness_token_based_replay``
and ``pm4py.precision_token_based_replay`` on the whole log as a pandas frame, and exits 1
unless the figures are equal.
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
    from cjm.model import discover_model, precision, replay

    with cjm.read_log(args.log) as log:
        paths = [(p.stages, p.journeys) for p in cjm.discover(log).paths]
        net = (load_design(args.design).petri_net() if args.design
               else discover_model(paths).petri_net())
        frame = None if args.skip_pm4py else log.to_pandas()
    prefixes = len({stages[:i] for stages, _ in paths for i in range(1, len(stages))})
    print(f"{args.log.name}: {len(paths):,} paths, {prefixes:,} distinct prefixes, "
          f"{len(net.net.transitions)} transitions")
    measures = {
        "fitness": (lambda: replay(net, paths).fitness,
                    lambda pm4py, frame: pm4py.fitness_token_based_replay(
                        frame, net.net, net.initial, net.final)["log_fitness"]),
        "precision": (lambda: precision(net, paths),
                      lambda pm4py, frame: pm4py.precision_token_based_replay(
                          frame, net.net, net.initial, net.final)),
    }
    ours = {name: timed(cjm_way) for name, (cjm_way, _) in measures.items()}
    for name, (figure, wall, cpu) in ours.items():
        print(f"cjm   {name} {figure!r}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    if frame is None:
        return
    import pm4py

    frame = pm4py.format_dataframe(frame.rename(columns={"journey": "case:concept:name"}),
                                   case_id="case:concept:name", activity_key="stage",
                                   timestamp_key="ts")
    differ = []
    for name, (_, pm4py_way) in measures.items():
        figure, wall, cpu = timed(lambda way=pm4py_way: way(pm4py, frame))
        print(f"pm4py {name} {figure!r}: {wall:.2f} s wall, {cpu:.2f} s CPU")
        print(f"  cjm / pm4py: {ours[name][1] / wall:.4f} of the wall time, "
              f"{ours[name][2] / cpu:.4f} of the CPU time")
        if figure != ours[name][0]:
            differ.append(name)
    if differ:
        sys.exit(f"the figures differ: {', '.join(differ)}")


if __name__ == "__main__":
    main()
