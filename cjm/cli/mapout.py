"""Options and writing shared by the commands that draw a map (discover, check, compare,
report)."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cjm.cli.common import OUTPUT, warn, write_each
from cjm.errors import UsageError

MAP = "Map"
OUTPUT_FORMATS = ("svg", "png", "pdf", "dot", "json")

Output = Annotated[list[str] | None, typer.Option(
    "-o", "--output", help="Write the map (svg, png, pdf, dot) or the JSON (json); the "
    "extension names the format. Repeat for several. (default: <log>.<kind>.svg)",
    rich_help_panel=OUTPUT, metavar="FILE", show_default=False)]
NoMap = Annotated[bool, typer.Option("--no-map", help="Write no map file.",
                                     rich_help_panel=OUTPUT)]
JsonOut = Annotated[str | None, typer.Option(
    "--json", help="Write the results as JSON to FILE, or to stdout alone with '-'.",
    rich_help_panel=OUTPUT, metavar="FILE|-", show_default=False)]
Top = Annotated[int | None, typer.Option(
    "--top", help="Rows in each table. (default: 10)", rich_help_panel=OUTPUT, min=1,
    show_default=False)]
View = Annotated[str | None, typer.Option(
    "--view", help="Edge labels: frequency, performance (median wait) or both. "
    "(default: both)", rich_help_panel=MAP, show_default=False)]
NodeLabel = Annotated[str, typer.Option(
    "--node-label", help="Stage sizes in journeys or events.", rich_help_panel=MAP)]
Stages = Annotated[str | None, typer.Option(
    "--stages", help="Keep the most frequent stages covering this share of events. "
    "(default: 100%, or the 60 most frequent of a log with more than 100)",
    rich_help_panel=MAP, show_default=False)]
Paths = Annotated[str | None, typer.Option(
    "--paths", help="Keep the strongest transitions carrying this share of the traffic, "
    "and those that keep every stage connected. (default: 100%, or 90% above 60 "
    "transitions)", rich_help_panel=MAP, show_default=False)]
MinCount = Annotated[int, typer.Option(
    "--min-count", help="Hide transitions taken fewer times than this.", rich_help_panel=MAP,
    min=1)]
MaxEdges = Annotated[int | None, typer.Option(
    "--max-edges", help="Draw at most this many edges, after --stages and --paths: the goals' "
    "main routes, the strongest transitions and those that keep every stage connected. 0: no "
    "limit. (default: 80)", rich_help_panel=MAP, min=0, metavar="N", show_default=False)]


def targets(logs: list[str], output: list[str] | None, no_map: bool, json_out: str | None,
            kind: str) -> list[Path]:
    """The files to write; the default is ``<first log>.<kind>.svg`` in this folder.

    With the JSON on stdout the caller pipes it: no map file then, unless -o asks for one.
    """
    if output:
        chosen = [Path(o) for o in output]
    elif no_map or json_out == "-":
        chosen = []
    else:
        from cjm.sources import output_stem

        chosen = [Path(f"{output_stem(logs)}.{kind}.svg")]
    for target in chosen:
        if target.suffix.lower().lstrip(".") not in OUTPUT_FORMATS:
            raise UsageError(f"-o {target}: cannot tell the format from the extension",
                             "Use .svg, .png, .pdf, .dot or .json.")
    return chosen


def write(graph, chosen: list[Path], data: Callable[[], dict], json_out: str | None,
          view: str, node_label: str, title: str) -> list[Path]:
    """Write the map and JSON files; return the files written (for the summary).

    A file that cannot be written (PDF without the system Graphviz, a folder in the way) is
    named in an error, and the others are still written: see ``write_each``.
    """
    from cjm.render.dot import to_dot
    from cjm.render.graphviz import render
    from cjm.render.json_out import write_json
    from cjm.safety import write_bytes, write_text

    drawing: list[str] = []  # the DOT, made once for every drawing

    def write_one(target: Path) -> None:
        fmt = target.suffix.lower().lstrip(".")
        if fmt == "json":
            write_json(data(), target)
            return
        if not drawing:
            drawing.append(to_dot(graph, view=view, node_label=node_label, title=title))
        if fmt == "dot":
            write_text(target, drawing[0])
        else:
            write_bytes(target, render(drawing[0], fmt))

    written = write_each(chosen, write_one)
    if json_out:
        written += [Path(p) for p in write_each([json_out], lambda p: write_json(data(), p))
                    if p != "-"]
    if graph.capped_from and chosen:
        warn(f"the log has {graph.capped_from:,} stages; the map shows the "
             f"{len(graph.nodes)} most frequent. --stages 80% keeps those covering 80% of the "
             "events; --stages 100% draws every stage, which may not finish")
    elif len(graph.nodes) > 80 and chosen:
        warn(f"the map shows {len(graph.nodes)} stages; --stages 80% makes it easier to read")
    return written
