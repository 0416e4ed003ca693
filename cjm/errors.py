"""Errors cjm raises, each carrying the exit code and a hint for the user.

    CjmError                 exit 1 unless said otherwise
    ├── DataError            the data cannot be read or is unusable (exit 1)
    ├── ResourceError        memory, disk space or a permission ran out (exit 1)
    ├── ThresholdError       a CI gate such as --fail-on-dead-end-rate broke (exit 1)
    └── UsageError           a flag, column or value the user gave is wrong (exit 2)

The CLI prints ``Error: <message>`` and, on the next line, the hint; never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CjmError(Exception):
    """Base of every error cjm reports to a user."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class DataError(CjmError):
    """The input cannot be read, or reading it left nothing to work with."""


class ResourceError(CjmError):
    """The machine ran out of memory or disk space, or refused a file (cjm.resources)."""


class ThresholdError(CjmError):
    """A threshold the user set for CI was breached."""


class UsageError(CjmError):
    """The user asked for something that cannot be: a bad flag value or an unknown column."""

    exit_code = 2


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return `` Did you mean 'x'?`` for the closest choice, or an empty string."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean '{lowered[close[0]]}'?" if close else ""
