"""The ``cjm`` command: a thin layer over the library; heavy modules load inside commands."""

import shutil
import sys

import typer
import typer.core

from cjm import __version__
from cjm.cli.attribution_cmd import attribution_command
from cjm.cli.channels_cmd import channels_command
from cjm.cli.check_cmd import check_command
from cjm.cli.compare_cmd import compare_command
from cjm.cli.convert_cmd import convert_command
from cjm.cli.discover_cmd import discover_command
from cjm.cli.explore_cmd import explore_command
from cjm.cli.funnel_cmd import funnel_command
from cjm.cli.inspect_cmd import inspect_command
from cjm.cli.model_cmd import model_command
from cjm.cli.moments_cmd import moments_command
from cjm.cli.personas_cmd import personas_command
from cjm.cli.report_cmd import report_command
from cjm.cli.steps_cmd import steps_command
from cjm.cli.timing_cmd import timing_command

COMMANDS = (  # name, function, panel of `cjm --help`
    ("inspect", inspect_command, "Read"), ("convert", convert_command, "Read"),
    ("discover", discover_command, "Analyse"), ("funnel", funnel_command, "Analyse"),
    ("compare", compare_command, "Analyse"), ("channels", channels_command, "Analyse"),
    ("moments", moments_command, "Analyse"), ("steps", steps_command, "Analyse"),
    ("attribution", attribution_command, "Analyse"), ("timing", timing_command, "Analyse"),
    ("personas", personas_command, "Analyse"),
    ("model", model_command, "Design"),
    ("check", check_command, "Design"), ("report", report_command, "Report"),
    ("explore", explore_command, "Report"))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cjm {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Process mining of customer journeys."""


# Below this width Rich's option tables cut option names (`--memory-lim…`); measured on
# every command, nothing is cut from 72 columns up.
RICH_HELP_COLUMNS = 72


class _Command(typer.core.TyperCommand):
    """A command whose help is click's plain text on a narrow terminal, which wraps what
    Rich's tables would cut."""

    def format_help(self, ctx, formatter) -> None:
        if shutil.get_terminal_size().columns >= RICH_HELP_COLUMNS:
            return super().format_help(ctx, formatter)
        mode, self.rich_markup_mode = self.rich_markup_mode, None
        try:
            return super().format_help(ctx, formatter)
        finally:
            self.rich_markup_mode = mode


def make_app(only: str | None = None) -> typer.Typer:
    """The ``cjm`` app; with ``only``, that one command alone."""
    made = typer.Typer(
        name="cjm",
        help="Process mining of customer journeys: the journey map actually travelled, its "
        "paths, dead-ends and gaps.\n\nExample: cjm discover examples/shop.csv",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    made.callback()(_root)
    for name, command, panel in COMMANDS:
        if only in (None, name):
            # The listing in `cjm --help` would keep the docstring's line breaks; its first
            # paragraph as one line lets the terminal wrap it.
            summary = " ".join((command.__doc__ or "").split("\n\n")[0].split())
            made.command(name, cls=_Command, rich_help_panel=panel,
                         short_help=summary)(command)
    return made


app = make_app()


def main() -> None:
    # Typer builds the options of every command it holds at each run: a run of one command
    # is given that command alone (0.02 s less a run, docs/performance.md).
    named = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        make_app(named if named in {name for name, *_ in COMMANDS} else None)()
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling started
        typer.echo("Error: interrupted", err=True)
        raise SystemExit(130) from None
