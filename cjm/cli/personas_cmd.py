"""``cjm personas``: journeys grouped by what they do (k-means over their profiles)."""

from pathlib import Path
from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import OUTPUT, LogArgs, log_command, stderr, stdout
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log


@log_command
def personas_command(
    args: LogArgs,
    k: Annotated[str, typer.Option(
        "--k", help="The number of personas, or auto: the best silhouette of 2 to 8.",
        metavar="auto|N")] = "auto",
    before_goal: options.BeforeGoal = False,
    goal: options.Goal = None,
    still_active: options.StillActive = None,
    maps: Annotated[Path | None, typer.Option(
        "--maps", help="Write one map per persona into this folder (persona-1.svg, …).",
        rich_help_panel=OUTPUT, metavar="DIR", show_default=False)] = None,
    json_out: mapout.JsonOut = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Personas from behaviour: journeys grouped by the stages and transitions they take
    (k-means, seeded), each with its size, goal rate, median duration, channels, what sets it
    apart and its top paths. Needs the personas extra: pip install "cjm[personas]".

    Example: cjm personas examples/shop.csv --k auto --maps personas/
    """
    from rich.text import Text

    from cjm.personas import parse_k, personas
    from cjm.render.json_out import personas_json, write_json
    from cjm.render.terminal import notes_and_warnings, personas_view
    from cjm.safety import printable
    from cjm.units import parse_span

    chosen = parse_k(k)
    span = parse_span(still_active, "--still-active") if still_active else None
    with open_log(args, engine, spark_remote, spark_master) as log:
        result = personas(log, k=chosen, before_goal=before_goal, goals=goal,
                          still_active=span)
        if json_out:
            write_json(personas_json(result, log), json_out)
        if maps is not None:
            _write_maps(log, result, maps)
        if not quiet and json_out != "-":
            stdout().print(personas_view(result, log))
            if maps is not None and result.personas:
                stdout().print(Text.assemble(("Wrote", "green"), f" {len(result.personas)} "
                                             f"maps in {printable(str(maps))}"))
    for line in notes_and_warnings(log):
        stderr().print(line)
    args.check_strict(log)


def _write_maps(log, result, folder: Path) -> None:
    """One map per persona shown, from its journeys, with the whole log's goals."""
    from cjm.journeys import discover
    from cjm.mapgraph import build_map
    from cjm.personas import persona_log

    folder.mkdir(parents=True, exist_ok=True)
    for persona in result.personas:
        part = persona_log(log, result, persona)
        jm = discover(part, goals=result.goals or None,
                      use_outcome=result.goals_source == "outcome", infer_goals=False)
        mapout.write(build_map(jm, log=part), [folder / f"persona-{persona.number}.svg"],
                     dict, None, "both", "journeys", f"Persona {persona.number}")
