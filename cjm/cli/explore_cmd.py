"""``cjm explore``: the journey explorer, one self-contained HTML page."""

from typing import Annotated

import typer

import cjm.cli.options as options
from cjm.cli.common import OUTPUT, LogArgs, log_command, stderr, stdout, warn
from cjm.errors import UsageError


@log_command
def explore_command(
    args: LogArgs,
    output: Annotated[str, typer.Option(
        "-o", "--output", help="The HTML page to write.", rich_help_panel=OUTPUT,
        metavar="FILE.html")] = "journeys.html",
    goal: options.Goal = None,
    handoff_column: options.HandoffColumn = None,
    by: options.By = None,
    top_values: options.TopValues = 5,  # each value adds a set of drawings to the page
    period: options.Period = None,
    design: options.Design = None,  # a view of the journeys against it, as cjm check draws
    examples: Annotated[int, typer.Option(
        "--examples", help="Example journey ids per stage and transition (withheld under "
        "--pseudonymize or --min-journeys).", rich_help_panel=OUTPUT, min=0,
        metavar="N")] = 5,
    quiet: options.Quiet = False,
) -> None:
    """Write the journey explorer: one HTML page, working offline, with sliders for stage and
    path coverage (stops 40% to 100% by 10%, each drawn as cjm discover --stages/--paths
    draws it), the frequency and performance views, segments or periods (--by, --period),
    goals, dead-ends and hand-offs highlighted, and the figures of a clicked stage or
    transition.

    Example: cjm explore examples/shop.csv -o journeys.html --by segment
    """
    from pathlib import Path

    from rich.text import Text

    from cjm.design import load_design
    from cjm.explore import explore
    from cjm.render.terminal import notes_and_warnings
    from cjm.safety import printable, write_text
    from cjm.units import format_count

    if by and period:
        raise UsageError("give --by or --period, not both")
    if Path(output).suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"-o: {output!r} is not an .html file",
                         "The explorer is one HTML page: -o journeys.html")
    designed = load_design(design) if design else None
    for message in designed.warnings if designed else []:  # before the log is read
        warn(message)
    with args.read() as log:
        text = explore(log, by=by, period=period, top_values=top_values, goals=goal,
                       handoff_column=handoff_column, examples=examples, design=designed)
    write_text(Path(output), text)
    if not quiet:
        size = len(text.encode("utf-8"))
        stdout().print(Text.assemble(("Wrote", "green"),
                                     f" {printable(output)} ({format_count(size)} bytes)"))
    for line in notes_and_warnings(log, []):
        stderr().print(line)
    args.check_strict(log)
