"""``cjm report``: one HTML page for people, Markdown with Mermaid for pipelines; or many
reports from one config file."""

from pathlib import Path
from typing import Annotated, Any

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import (
    LogArgs,
    error,
    interrupted,
    log_command,
    stderr,
    stdout,
    write_each,
)
from cjm.cli.engine import Engine, SparkMaster, SparkRemote
from cjm.errors import UsageError

CONTENT = "Sections"


@log_command(optional=True)
def report_command(
    args: LogArgs,
    output: Annotated[list[str] | None, typer.Option(
        "-o", "--output", help="The report: .html (one self-contained page) or .md (Markdown "
        "with Mermaid diagrams). Repeat for both. (default: <log>.report.html)",
        rich_help_panel="Output", metavar="FILE", show_default=False)] = None,
    assets: Annotated[str | None, typer.Option(
        "--assets", help="Also write each map as SVG and PNG into this folder, linked from the "
        "Markdown.", rich_help_panel="Output", metavar="DIR", show_default=False)] = None,
    title: Annotated[str | None, typer.Option(
        "--title", help="The report's title. (default: the log's file name)",
        rich_help_panel="Output", show_default=False)] = None,
    config_file: Annotated[str | None, typer.Option(
        "--config", help="Run every report a TOML file lists (see docs/report.md); no LOG "
        "then.", rich_help_panel="Output", metavar="FILE.toml", show_default=False)] = None,
    quiet: options.Quiet = False,
    goal: options.Goal = None,
    goal_share: options.GoalShare = None,
    still_active: options.StillActive = None,
    handoff_column: options.HandoffColumn = None,
    funnel: Annotated[str | None, typer.Option(
        "--funnel", help="Add a funnel of these stages, in order.", rich_help_panel=CONTENT,
        metavar="A,B,C", show_default=False)] = None,
    within: options.Within = None,
    order: options.Order = "strict",
    attribution: Annotated[str | None, typer.Option(
        "--attribution", help="Add the attribution of the conversions to each stage or "
        "channel (as cjm attribution does).", rich_help_panel=CONTENT,
        metavar="stage|channel", show_default=False)] = None,
    compare_by: Annotated[str | None, typer.Option(
        "--compare-by", help="Add a comparison of two values of a role; give them with "
        "--compare-values.", rich_help_panel=CONTENT, show_default=False)] = None,
    compare_period: Annotated[str | None, typer.Option(
        "--compare-period", help="Add a comparison of two periods (day, week, month, quarter, "
        "year): the last two, or --compare-values.", rich_help_panel=CONTENT,
        show_default=False)] = None,
    compare_values: Annotated[str | None, typer.Option(
        "--compare-values", help="The two values or periods to compare, A first: vip,new or "
        "2024-Q2,2024-Q3.", rich_help_panel=CONTENT, metavar="A,B", show_default=False)] = None,
    design: options.Design = None,
    interactive: Annotated[bool, typer.Option(
        "--interactive", help="With an .html report: embed the journey explorer (as cjm "
        "explore) as the report's last section, linked from its navigation.",
        rich_help_panel=CONTENT)] = False,
    timing: Annotated[bool, typer.Option(
        "--timing", help="Add the time to goal (as cjm timing): median and 90% times with 95% "
        "intervals, per segment or period with --by/--period.", rich_help_panel=CONTENT)
    ] = False,
    personas: Annotated[str | None, typer.Option(
        "--personas", help="Add the personas (as cjm personas): auto (the best silhouette) "
        "or their number.", rich_help_panel=CONTENT, metavar="auto|N",
        show_default=False)] = None,
    step_matrix: Annotated[int | None, typer.Option(
        "--step-matrix", help="Add the step matrix (as cjm steps) of the journeys' first N "
        "events, as a heat map.", rich_help_panel=CONTENT, min=1, metavar="N",
        show_default=False)] = None,
    by: options.By = None,
    top_values: options.TopValues = None,
    period: options.Period = None,
    where: options.Where = None,
    since: options.Since = None,
    until: options.Until = None,
    top: mapout.Top = None,
    view: mapout.View = None,
    stages: mapout.Stages = None,
    paths: mapout.Paths = None,
    min_count: mapout.MinCount = 1,
    max_edges: mapout.MaxEdges = None,
    fail_on_dead_end_rate: options.FailOnDeadEndRate = None,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Write a report: overview, journey map, paths, dead-ends, gaps and hand-offs, and on
    request sections per segment, a funnel, attribution, a comparison and a conformance check.

    HTML is one file that opens offline and prints well; Markdown suits CI job summaries and
    pull-request comments, its maps drawn by Mermaid.

    Example: cjm report examples/shop.csv -o report.html --by segment
    """
    values = {k: v for k, v in locals().items()
              if k not in ("args", "output", "assets", "config_file", "quiet", "engine",
                           "spark_remote", "spark_master")}
    from cjm.report import EngineChoice

    chosen = EngineChoice(engine, spark_remote, spark_master)
    if config_file:
        if args.paths:
            raise UsageError("give LOG files or --config, not both")
        flags = _flags_given(args, values) + (["-o"] if output else []) + \
            (["--assets"] if assets else [])
        if flags:
            raise UsageError(f"--config runs the reports its file describes; {flags[0]} "
                             "belongs in the file", "Write it as a key of [defaults] or of "
                             "a [[report]] entry (see docs/report.md).")
        _batch(Path(config_file), quiet, chosen)
        return
    if not args.paths:
        raise UsageError("give a LOG file, or --config FILE.toml",
                         "Example: cjm report examples/shop.csv -o report.html")
    from cjm.report import run_report
    from cjm.sources import output_stem

    targets = ([Path(o) for o in output] if output
               else [Path(f"{output_stem(args.paths)}.report.html")])
    run = run_report(args.paths, values, targets, assets, reading=args.settings(),
                     write_all=write_each, engine=chosen)
    if not quiet:
        for path in run.written:
            stdout().print(f"Wrote {path}", highlight=False, markup=False)
    _tell(run)
    run.check()


def _tell(run) -> None:
    """The notes and warnings of a report written, after what was written."""
    from cjm.render.terminal import notes_and_warnings

    for line in notes_and_warnings(run.log, run.gate_notes):
        stderr().print(line)


def _batch(path: Path, quiet: bool, engine: Any) -> None:
    """Run every report of the batch file; list the failures at the end, then exit 1."""
    from cjm.report import run_batch
    from cjm.units import format_counted

    def written(entry, run) -> None:
        if not quiet:
            stdout().print(f"{entry.name}: wrote {format_counted(len(run.written), 'files')}: "
                           + ", ".join(str(p) for p in run.written), highlight=False,
                           markup=False, soft_wrap=True)
        _tell(run)

    def failed(failure) -> None:
        if interrupted():
            raise failure.error  # Ctrl-C stops the batch: reporting() exits 130
        error(f"{failure.name}: {failure.message}", failure.hint)

    done = run_batch(path, on_report=written, on_failure=failed, write_all=write_each,
                     engine=engine)
    if done.failures:
        stderr().print(f"{len(done.failures)} of {done.reports} reports failed:", markup=False)
        for failure in done.failures:
            stderr().print(f"  {failure.name}: {failure.message}", markup=False,
                           highlight=False)
        raise typer.Exit(1)


def _flags_given(args: LogArgs, values: dict[str, Any]) -> list[str]:
    """The options given beyond their defaults, as flags (--goal-share)."""
    from dataclasses import fields

    defaults = {"order": "strict", "min_count": 1}
    given = [k for k, v in values.items() if v not in (None, False, []) and
             v != defaults.get(k)]
    given += [f.name for f in fields(LogArgs)
              if f.name not in ("paths", "debug") and getattr(args, f.name) != f.default]
    return ["--" + name.replace("_", "-") for name in given]
