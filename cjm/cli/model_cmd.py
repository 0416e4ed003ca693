"""``cjm model``: discover a process model (BPMN, PNML, process tree) from the journeys."""

from pathlib import Path
from typing import Annotated

import typer

import cjm.cli.options as options
from cjm.cli.common import OUTPUT, LogArgs, log_command, stderr, stdout, write_each
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log

MODEL = "Model"


@log_command
def model_command(
    args: LogArgs,
    output: Annotated[list[str] | None, typer.Option(
        "-o", "--output", help="Write the model: .bpmn, .pnml, .ptml (process tree), or a "
        "drawing (.svg, .png, .dot). Repeat for several. (default: <log>.bpmn)",
        rich_help_panel=OUTPUT, metavar="FILE", show_default=False)] = None,
    noise: Annotated[float, typer.Option(
        "--noise", help="Noise threshold of the inductive miner (0: every path fits; 0.2 "
        "leaves out rare behaviour).", rich_help_panel=MODEL, min=0.0, max=0.99)] = 0.2,
    max_paths: options.MaxPaths = 2000,
    quality: Annotated[bool, typer.Option(
        "--quality", help="Also measure the model's fitness and precision on the log.",
        rich_help_panel=MODEL)] = False,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Discover the journey model with the inductive miner, as BPMN (the designed-journey
    starting point a consultant edits), PNML or a process tree.

    Example: cjm model examples/shop.csv -o journey.bpmn -o journey.svg
    """
    from cjm.journeys import discover
    from cjm.model import MODEL_FORMATS, discover_model, precision, replay, write_model
    from cjm.render.terminal import model_view, notes_and_warnings
    from cjm.sources import output_stem

    chosen = [Path(o) for o in output] if output else [Path(output_stem(args.paths) + ".bpmn")]
    for target in chosen:
        if target.suffix.lower().lstrip(".") not in MODEL_FORMATS:
            from cjm.errors import UsageError

            raise UsageError(f"-o {target}: cannot tell the model format from the extension",
                             "Use .bpmn, .pnml, .ptml, .svg, .png or .dot.")
    with open_log(args, engine, spark_remote, spark_master) as log:
        jm = discover(log, use_outcome=False)  # --min-journeys: no rare paths mined
    paths = [(p.stages, p.journeys) for p in jm.paths]
    model = discover_model(paths, noise=noise, max_paths=max_paths)
    written = write_each(chosen, lambda target: write_model(model, target))
    scores = None
    if quality:
        net = model.petri_net()
        scores = (replay(net, paths).fitness, precision(net, paths))
    if not quiet:
        stdout().print(model_view(jm, model, scores, written))
    for line in notes_and_warnings(log):
        stderr().print(line)
    args.check_strict(log)

