"""``cjm check``: actual journeys against the designed journey."""

from pathlib import Path
from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, stderr, stdout, warn
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log


@log_command
def check_command(
    args: LogArgs,
    design: options.Design,
    exact: Annotated[bool, typer.Option(
        "--exact", help="Also compute fitness with optimal alignments (slower).",
        rich_help_panel=options.DESIGN)] = False,
    max_paths: options.MaxPaths = 1000,
    journeys_out: Annotated[str | None, typer.Option(
        "--journeys", help="Write every journey's verdict (journey, conforms, deviations) to "
        "this CSV.", rich_help_panel=options.DESIGN, metavar="FILE.csv",
        show_default=False)] = None,
    output: mapout.Output = None,
    no_map: mapout.NoMap = False,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: options.Quiet = False,
    view: mapout.View = None,
    node_label: mapout.NodeLabel = "journeys",
    stages: mapout.Stages = None,
    paths: mapout.Paths = None,
    min_count: mapout.MinCount = 1,
    max_edges: mapout.MaxEdges = None,
    min_fitness: Annotated[str | None, typer.Option(
        "--min-fitness", help="Exit 1 when fitness is below this (0.9 or 90%).",
        rich_help_panel=options.GATES, metavar="SHARE", show_default=False)] = None,
    max_deviation_rate: Annotated[str | None, typer.Option(
        "--max-deviation-rate", help="Exit 1 when more journeys than this deviate (0.1 or "
        "10%).", rich_help_panel=options.GATES, metavar="SHARE", show_default=False)] = None,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Check the journeys against the designed journey: conformance, fitness, precision and
    the deviations ranked by the journeys they affect.

    Example: cjm check examples/shop.csv --design examples/designed-journey.yaml
    """
    from cjm.conformance import check, check_map
    from cjm.design import load_design
    from cjm.gates import check_conformance_gates
    from cjm.journeys import discover
    from cjm.options import map_arguments, validate_view
    from cjm.render.json_out import check_json
    from cjm.render.terminal import check_view, notes_and_warnings
    from cjm.units import parse_rate

    view = view or "both"
    validate_view(view, node_label)
    chosen = mapout.targets(args.paths, output, no_map, json_out, "check")
    gates = {
        "min_fitness": parse_rate(min_fitness, "--min-fitness") if min_fitness else None,
        "max_deviation_rate": parse_rate(max_deviation_rate, "--max-deviation-rate")
        if max_deviation_rate else None,
    }
    designed = load_design(design)
    for message in designed.warnings:  # when the design is loaded, before the log is read
        warn(message)
    with open_log(args, engine, spark_remote, spark_master) as log:
        jm = discover(log, goals=sorted(designed.goals), use_outcome=False, infer_goals=False)
        result = check(jm, designed, log=log, exact=exact, max_paths=max_paths)
        if journeys_out:
            result.write_journeys(journeys_out, log)
        graph = check_map(result, log=log, **map_arguments(stages, paths, min_count,
                                                            max_edges))
        title = f"{', '.join(Path(f.path).name for f in log.files)} against {designed.name}"
        written = mapout.write(graph, chosen, lambda: check_json(result, graph), json_out,
                               view, node_label, title)
    if not quiet and json_out != "-":
        stdout().print(check_view(result, top or 10, written, graph))
    for line in notes_and_warnings(log):
        stderr().print(line)
    check_conformance_gates(result, **gates)
    args.check_strict(log)

