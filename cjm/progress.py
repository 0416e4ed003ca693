"""Progress on long steps: a live, self-erasing display on stderr when it is a terminal.

Library code marks its long steps with ``step("Reading shop.csv")``; nothing shows unless the
command line has called ``enable`` with a terminal console, so the library stays silent for
scripts, pipes and CI logs. Steps may nest: the inner ones join the outer display, which is
gone before the command prints its summary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

Advance = Callable[..., None]  # advance(done, total=None)

_console: Any = None  # the console to draw on; None while progress is off
_live: Any = None  # the Progress on screen, during the outermost step


def enable(console: Any) -> None:
    """Show the steps on ``console`` (a rich Console) when it is a terminal."""
    global _console
    _console = console if console is not None and console.is_terminal else None


def _ignore(done: int, total: int | None = None) -> None:
    """Progress off: nothing to update."""


@contextlib.contextmanager
def step(description: str, total: int | None = None) -> Iterator[Advance]:
    """Show ``description`` while the block runs; yields ``advance(done, total=None)`` for
    steps that know how far they are (a bar), else a pulsing bar and the time taken."""
    global _live
    if _console is None:
        yield _ignore
        return
    outermost = _live is None
    if outermost:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        # stdout is left alone: with --json - it carries the JSON. A description names files
        # and segment values: plain text, never markup or emoji codes.
        _live = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                         BarColumn(),
                         TaskProgressColumn(), TimeElapsedColumn(), console=_console,
                         transient=True, redirect_stdout=False, redirect_stderr=False)
        _live.start()
    live = _live
    task = live.add_task(description, total=total)

    def advance(done: int, total: int | None = None) -> None:
        live.update(task, completed=done, **({"total": total} if total is not None else {}))

    try:
        yield advance
    finally:
        live.remove_task(task)
        if outermost:
            live.stop()
            _live = None
