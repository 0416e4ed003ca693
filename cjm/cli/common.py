"""What every command shares: the reading options (declared once), error reporting, consoles."""

import _thread
import contextlib
import functools
import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar

import typer

from cjm.errors import CjmError
from cjm.resources import classify

COLUMNS = "Columns"
READING = "Reading"
PRIVACY = "Privacy"
STAGES = "Stages"
OUTPUT = "Output"


@dataclass
class LogArgs:
    """The reading options of a command, as the user gave them."""

    paths: list[str]
    case: str | None = None
    stage: str | None = None
    timestamp: str | None = None
    channel: str | None = None
    device: str | None = None
    department: str | None = None
    segment: str | None = None
    outcome: str | None = None
    cost: str | None = None
    lifecycle_column: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    timezone: str | None = None
    timestamp_format: str | None = None
    dayfirst: bool | None = None
    lifecycle: str | None = None
    journey_gap: str | None = None
    drop_duplicates: bool | None = None
    group: list[str] | None = None
    rename: list[str] | None = None
    collapse_repeats: bool | None = None
    rejects: str | None = None
    strict: bool = False
    pseudonymize: bool = False
    salt: str | None = None
    min_journeys: int | None = None
    memory_limit: str | None = None
    temp_dir: str | None = None
    buckets: int | None = None
    table: str | None = None
    query: str | None = None
    debug: bool = False
    command: ClassVar[str] = ""  # the command's name, for messages (set per instance)

    def check_strict(self, log) -> None:
        """Under --strict, any rejected row, or a file that ends early, fails the command."""
        if self.strict:
            from cjm.gates import check_strict

            check_strict(log)

    def settings(self) -> dict[str, Any]:
        """The reading options, as the flags name them: cjm.config.READING_OPTIONS."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("paths", "debug")}

    def read(self, config=None, engine: str | None = None, keep_rows: bool = False,
             window: tuple[Any, Any] = (None, None), hold: Collection[str] | None = None):
        """Read the log as these options say; write the rejects file when asked.

        ``engine`` is the command's --engine; commands without one run on DuckDB only, and
        refuse $CJM_ENGINE=spark. ``window``: read_log's since and until; ``hold``: its
        hold, the roles the command reads (None: all)."""
        from cjm.config import read_arguments
        from cjm.engine.duckdb.eventlog import read_log
        from cjm.engine.spark.options import check_supported

        check_supported(self.command, engine)
        return read_log(self.paths, **read_arguments(self.settings()), config=config,
                        keep_rows=keep_rows, since=window[0], until=window[1], hold=hold)

    def window(self, since: Any, until: Any) -> tuple[Any, Any]:
        """The --since/--until a read may send to a database: none under --strict, which
        fails on a rejected row anywhere in the log (rows left there are not looked at)."""
        return (None, None) if self.strict else (since, until)


def _opt(*names: str, help: str, panel: str = COLUMNS, **extra: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=panel, show_default=False, **extra)


_SHARED: dict[str, tuple[Any, Any]] = {
    "case": (Annotated[str | None, _opt("--case", help="Column with the journey (case) id.")],
             None),
    "stage": (Annotated[str | None, _opt("--stage", help="Column with the stage (activity).")],
              None),
    "timestamp": (Annotated[str | None, _opt("--timestamp", help="Column with the timestamp.")],
                  None),
    "channel": (Annotated[str | None, _opt("--channel", help="Column with the channel.")], None),
    "device": (Annotated[str | None, _opt("--device", help="Column with the device.")], None),
    "department": (Annotated[str | None, _opt(
        "--department", help="Column with the department or resource.")], None),
    "segment": (Annotated[str | None, _opt("--segment", help="Column with the segment.")], None),
    "outcome": (Annotated[str | None, _opt(
        "--outcome", help="Column with the journey's outcome (e.g. converted).")], None),
    "cost": (Annotated[str | None, _opt("--cost", help="Column with a cost per event.")], None),
    "lifecycle_column": (Annotated[str | None, _opt(
        "--lifecycle-column", help="Column with lifecycle values (start/complete).")], None),
    "delimiter": (Annotated[str | None, _opt(
        "--delimiter", help="CSV field delimiter (default: sniffed; \\t for tab).",
        panel=READING)], None),
    "encoding": (Annotated[str | None, _opt(
        "--encoding", help="Text encoding (default: sniffed; e.g. latin-1, cp1252).",
        panel=READING)], None),
    "timezone": (Annotated[str | None, _opt(
        "--timezone", help="Time zone of timestamps written without an offset (default: UTC).",
        panel=READING)], None),
    "timestamp_format": (Annotated[str | None, _opt(
        "--timestamp-format", help="strftime format of the timestamps, e.g. '%d.%m.%Y %H:%M'.",
        panel=READING)], None),
    "dayfirst": (Annotated[bool | None, _opt(
        "--dayfirst/--monthfirst", help="Read 03/04/2024 as 3 April (or as March 4).",
        panel=READING)], None),
    "lifecycle": (Annotated[str | None, _opt(
        "--lifecycle", help="complete: keep complete events when a lifecycle column has them "
        "(the default); all: keep every event.", panel=READING)], None),
    "journey_gap": (Annotated[str | None, _opt(
        "--journey-gap", help="Split a case into journeys after this much inactivity (30m, 2d).",
        panel=READING)], None),
    "drop_duplicates": (Annotated[bool | None, _opt(
        "--drop-duplicates", help="Drop exact duplicate events (rows identical in every "
        "column, mapped or not, to an earlier row; kept by default).",
        panel=READING)], None),
    "group": (Annotated[list[str] | None, _opt(
        "--group", help="Read several stages as one: 'product1,product2=product', or "
        r"'re:^product\d+$=product' (a regular expression). Repeatable.", panel=STAGES,
        metavar="A,B=NAME")], None),
    "rename": (Annotated[list[str] | None, _opt(
        "--rename", help="Read a stage under another name: 'old=new'. Repeatable.",
        panel=STAGES, metavar="OLD=NEW")], None),
    "collapse_repeats": (Annotated[bool | None, _opt(
        "--collapse-repeats", help="Count consecutive events of a journey at one stage once "
        "(the others are set aside, and counted).", panel=STAGES)], None),
    "table": (Annotated[str | None, _opt(
        "--table", help="With a database URL as the log: the table to read (schema.table "
        "too), e.g. cjm discover sqlite:///events.db --table events.",
        panel=READING, metavar="NAME")], None),
    "query": (Annotated[str | None, _opt(
        "--query", help="With a database URL as the log: the SELECT whose rows to read, e.g. "
        "--query \"SELECT * FROM events WHERE site = 'eu'\".", panel=READING,
        metavar="SQL")], None),
    "rejects": (Annotated[str | None, _opt(
        "--rejects", help="Write every rejected row, with file, line and reason, to this CSV.",
        panel=READING, metavar="FILE.csv")], None),
    "strict": (Annotated[bool, _opt(
        "--strict", help="Fail (exit 1) when any row is rejected or a file ends early (cut "
        "short).", panel=READING)], False),
    "memory_limit": (Annotated[str | None, _opt(
        "--memory-limit", help="Cap the memory the whole process uses (4GB); beyond it, work "
        "spills to --temp-dir. (default: $CJM_MEMORY_LIMIT, else the engine holds at most "
        "1.3x what the log takes once read, at least 1.5 GiB)", panel=READING,
        metavar="SIZE")], None),
    "temp_dir": (Annotated[str | None, _opt(
        "--temp-dir", help="Folder for temporary and spill files, which may take at most half "
        "its free space. (default: $CJM_TEMP_DIR, else the system's)", panel=READING,
        metavar="DIR")], None),
    "buckets": (Annotated[int | None, _opt(
        "--buckets", help="Order the journeys in K groups, for logs larger than memory; the "
        "figures are the same. (default: as --memory-limit needs, else 1)", panel=READING,
        metavar="K", min=1)], None),
    "pseudonymize": (Annotated[bool, _opt(
        "--pseudonymize", help="Replace journey ids in every output by keyed pseudonyms (key: "
        "--salt or $CJM_SALT).", panel=PRIVACY)], False),
    "salt": (Annotated[str | None, _opt(
        "--salt", help="The secret key of --pseudonymize (8 characters or more).",
        panel=PRIVACY, metavar="KEY")], None),
    "min_journeys": (Annotated[int | None, _opt(
        "--min-journeys", help="Leave out every stage, transition and path that fewer than K "
        "journeys share, for maps shared outside the company.", panel=PRIVACY, metavar="K",
        min=1)], None),
    "debug": (Annotated[bool, _opt(
        "--debug", help="Show the traceback of an unexpected error.", panel=OUTPUT)], False),
}

_PATHS_HELP = ("Log files or globs: CSV, TSV, JSON, JSON Lines, Parquet, XES (gzip too); or "
               "a database URL (sqlite:///, duckdb:///, postgresql://, adbc:DRIVER:URI) with "
               "--table or --query.")
PATHS = Annotated[list[str], typer.Argument(help=_PATHS_HELP, show_default=False,
                                            metavar="LOG...")]
OPTIONAL_PATHS = Annotated[list[str] | None, typer.Argument(
    help=_PATHS_HELP, show_default=False, metavar="[LOG...]")]


def report(args: LogArgs, compute: Callable, to_json: Callable, to_view: Callable,
           json_out: str | None, quiet: bool, read: Callable | None = None) -> None:
    """Read the log (with ``read``, else on DuckDB), compute one result, write its JSON,
    print its view, then the warnings: the shape every report command shares."""
    from cjm.render.json_out import write_json
    from cjm.render.terminal import notes_and_warnings

    with (read or args.read)() as log:
        result = compute(log)
        if json_out:
            write_json(to_json(result, log), json_out)
        if not quiet and json_out != "-":
            stdout().print(to_view(result, log))
    for line in notes_and_warnings(log):
        stderr().print(line)
    args.check_strict(log)


def log_command(func: Callable[..., None] | None = None, *, optional: bool = False) -> Any:
    """Give a command the log paths and the shared reading options, collected as LogArgs.

    ``func`` takes ``args: LogArgs`` first, then its own options. With ``optional`` the log
    paths may be left out (the command has another source, such as a config file).
    """
    if func is None:
        return functools.partial(log_command, optional=optional)
    own = list(inspect.signature(func).parameters.values())[1:]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                          annotation=annotation)
        for name, (annotation, default) in _SHARED.items()
    ]
    # Named "logs" so that a command may have a --paths option of its own.
    logs = inspect.Parameter("logs", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                             annotation=OPTIONAL_PATHS if optional else PATHS,
                             default=None if optional else inspect.Parameter.empty)
    names = {f.name for f in fields(LogArgs)} - {"paths"}

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        args = LogArgs(paths=kwargs.pop("logs") or [],
                       **{k: kwargs.pop(k) for k in list(kwargs) if k in names})
        args.command = func.__name__.removesuffix("_command").replace("_", " ")
        with reporting(args.debug):
            func(args, **kwargs)

    wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [logs, *[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own], *shared]
    )
    wrapper.__annotations__ = {p.name: p.annotation for p in wrapper.__signature__.parameters
                               .values()}
    del wrapper.__wrapped__  # Typer must read the new signature, not the function's own
    return wrapper


_INTERRUPTED: list[int] = []  # the signal that is stopping the command, if any
_UNWRITTEN: list[str] = []  # outputs that failed: the command exits 1 once it is done


def write_each(targets: Iterable[Any], write_one: Callable[[Any], None]) -> list[Any]:
    """Write every target that can be written; return those written.

    A target that fails is named in one error line and the others are still written; the
    command then finishes (its summary lists what was written) and exits 1.
    """
    written = []
    for target in targets:
        try:
            write_one(target)
        except CjmError as exc:
            name = str(target)
            error(exc.message if name in exc.message else f"{name}: {exc.message}", exc.hint)
            _UNWRITTEN.append(name)
        else:
            written.append(target)
    return written


def interrupted() -> bool:
    """True once Ctrl-C (or SIGTERM) arrived: whatever error follows comes from it."""
    return bool(_INTERRUPTED)


@contextlib.contextmanager
def reporting(debug: bool = False) -> Iterator[None]:
    """Turn errors into one message on stderr and an exit code; never a traceback.

    Ctrl-C exits 130 whatever it interrupted: DuckDB turns it into an error of the query it
    stopped, which the readers report as bad input, so the signal itself is noted. Long
    steps show their progress on stderr meanwhile, when it is a terminal."""
    from cjm import progress

    progress.enable(stderr())
    interrupted = _INTERRUPTED
    interrupted.clear()
    _UNWRITTEN.clear()
    closing = False  # once set, a signal is only noted: the command's outcome is known
    delivery = threading.Lock()

    def on_interrupt(signum: int, frame: object) -> None:
        interrupted.append(signum)
        if not closing:
            raise KeyboardInterrupt  # unwinds, so temporary files and partial outputs go

    def deliver_again(signum: int) -> None:
        time.sleep(0.01)  # until the callback (and the hook below) has returned
        with delivery:
            if not closing:
                _thread.interrupt_main(signum)

    def on_unraisable(unraisable: Any) -> None:
        # The handler ran inside a weakref callback or a __del__, where Python prints the
        # interrupt and drops it: it is sent again from a thread, to land once that callback
        # has returned (sent from here, it would be raised here and dropped again).
        if interrupted and issubclass(unraisable.exc_type, KeyboardInterrupt):
            threading.Thread(target=deliver_again, args=(interrupted[0],), daemon=True).start()
        else:
            previous_hook(unraisable)

    main = threading.current_thread() is threading.main_thread()
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = [signal.signal(s, on_interrupt) for s in handled] if main else []
    previous_hook, sys.unraisablehook = sys.unraisablehook, on_unraisable
    try:
        yield
        if interrupted:  # sent again, it came too late to stop the command: still said
            raise KeyboardInterrupt
        if _UNWRITTEN:  # each was named when it failed
            raise typer.Exit(1)
    except (typer.Exit, typer.Abort):
        raise
    except (Exception, KeyboardInterrupt) as exc:
        if interrupted or isinstance(exc, KeyboardInterrupt):
            signum = interrupted[0] if interrupted else signal.SIGINT
            error("interrupted" if signum == signal.SIGINT else "terminated")
            raise typer.Exit(128 + signum) from None
        known = classify(exc)
        if known is not None and not (debug and known is not exc):
            error(known.message, known.hint)
            raise typer.Exit(known.exit_code) from None
        if debug:
            raise
        error(f"unexpected {type(exc).__name__}: {exc}",
              "This is a bug in cjm; run again with --debug and report the traceback.")
        raise typer.Exit(1) from None
    finally:
        closing = True
        with delivery:  # a signal sent again by now reaches on_interrupt, which notes it
            pass
        sys.unraisablehook = previous_hook
        for number, handler in zip(handled, previous, strict=False):
            signal.signal(number, handler)


def error(message: str, hint: str | None = None) -> None:
    from cjm.render.terminal import escape

    stderr().print(f"[bold red]Error:[/] {escape(message)}")
    if hint:
        stderr().print(escape(hint), style="dim" if not hint.startswith("Pass") else None)


def warn(message: str) -> None:
    from cjm.render.terminal import escape

    stderr().print(f"[yellow]Warning:[/] {escape(message)}")


# emoji=False everywhere: a name from the data or a URL (:smile:, adbc:snowflake:) is printed
# as written, never as an emoji.
@functools.cache
def stderr():
    from rich.console import Console

    # On a terminal a message wraps between words at its width (the terminal would break a
    # word); elsewhere, in a log or a pipe, it stays one line, whole for grep.
    return Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty(), emoji=False)


def stdout():
    from rich.console import Console

    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "100"))
    return Console(highlight=False, width=width, emoji=False)
