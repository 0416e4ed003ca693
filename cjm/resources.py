"""What to tell a user when the machine runs out: memory, disk space, or permission.

One place turns the errors of the operating system, Python and DuckDB into a ResourceError
that names the cause, where it happened and the ways out. The CLI's error handling, the
readers (so that a full disk is never reported as a broken file) and the atomic writer (so
that the message names the output, not its temporary file) all ask ``classify`` first.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

from cjm.errors import CjmError, ResourceError

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files",
}
_FULL = (errno.ENOSPC, errno.EDQUOT)
_DUCKDB_REASONS = {text: code for code, text in _REASONS.items()}
_OFFLOAD = re.compile(r"failed to offload data block of size ([\d.]+ \w+) "
                      r"\(([\d.]+ \w+)/([\d.]+ \w+) used\)")
_ALLOCATE = re.compile(r"(?:could not|failed to) allocate (?:block|data) of size ([\d.]+ \w+) "
                       r"\(([\d.]+ \w+)/([\d.]+ \w+) used\)", re.IGNORECASE)
_REFUSED = re.compile(r"failed to allocate block of (\d+) bytes", re.IGNORECASE)
_DUCKDB_FILE = re.compile(r'file \\?"([^"\\]+)\\?"')
_SPILL: list[Path] = []  # the folder the engine spills into (its --temp-dir), latest last

MEMORY_WAYS_OUT = ("Pass a larger --memory-limit if the machine has the memory, or --buckets K "
                   "to order the journeys in K smaller groups; beyond the limit, work spills "
                   "to --temp-dir.")
SPILL_WAYS_OUT = ("Pass --temp-dir with a folder on a disk with more free space, a larger "
                  "--memory-limit (less to spill), or --buckets K (smaller groups).")


def remember_spill(folder: Path) -> None:
    """Note the folder (the user's --temp-dir) where the engine spills: its errors do not
    name it."""
    _SPILL[:] = [Path(folder)]


def classify(exc: BaseException, writing: Path | None = None) -> CjmError | None:
    """The ResourceError for ``exc`` when the machine ran out of something, ``exc`` itself
    when it is one of cjm's errors already, else None.

    ``writing`` is the output being written, which the message names instead of whatever
    temporary file the error names.
    """
    if isinstance(exc, CjmError):
        return exc
    if isinstance(exc, MemoryError):
        return ResourceError(
            "cjm ran out of memory: the system gave Python no more",
            "Close other programs or use a machine with more memory (a JSON array is parsed "
            "whole: as JSON Lines, CSV or Parquet the same log needs less).")
    if isinstance(exc, OSError) and exc.errno in _REASONS:
        return _file_error(exc.errno, writing or exc.filename, writing)
    if type(exc).__module__ in ("duckdb", "_duckdb"):
        return _duckdb_error(exc, writing)
    return None


def _file_error(code: int, path: str | Path | None, writing: Path | None) -> ResourceError:
    reason = _REASONS[code]
    if code in _FULL and not writing and path and _SPILL and _under(Path(path), _SPILL[-1]):
        return ResourceError(f"the spill folder {_SPILL[-1]} is full: {reason}",
                             SPILL_WAYS_OUT)
    where = f"cannot write {path}" if writing else f"{path}" if path else "a file"
    if code in _FULL:
        hint = "Free space there, or write to a folder on another disk."
    elif code == errno.EROFS:
        hint = "Write to a folder on a writable file system."
    elif code in (errno.EMFILE, errno.ENFILE):
        hint = "Raise the limit of open files (ulimit -n), or give fewer files at once."
    elif writing:
        hint = "Write to a folder you may write to, or ask for access."
    else:
        hint = "Ask for access to it, or give a copy you may read (and a --temp-dir you may "\
            "write to)."
    return ResourceError(f"{where}: {reason}", hint)


_REFUSED_WAYS_OUT = ("Pass a --memory-limit below the memory this process may use (ulimit -v, "
                     "a container's limit), so that work spills to --temp-dir instead; or "
                     "--buckets K.")


def _duckdb_error(exc: BaseException, writing: Path | None) -> ResourceError | None:
    text = str(exc)
    if offload := _OFFLOAD.search(text):
        needed, used, allowed = offload.groups()
        folder = _SPILL[-1] if _SPILL else "of the engine"
        return ResourceError(
            f"the spill folder {folder} is full: the engine needed {needed} more on disk and "
            f"had used {used} of the {allowed} it may take there (half the free space)",
            SPILL_WAYS_OUT)
    if allocate := _ALLOCATE.search(text):
        needed, used, limit = allocate.groups()
        return ResourceError(
            f"the engine ran out of memory: it needed {needed} more, with {used} of its "
            f"{limit} memory limit in use", MEMORY_WAYS_OUT)
    if refused := _REFUSED.search(text):
        return ResourceError(
            f"the engine ran out of memory: the system refused {int(refused.group(1)):,} "
            "bytes more, below the engine's own limit", _REFUSED_WAYS_OUT)
    if type(exc).__name__ == "OutOfMemoryException":  # "Allocation failure": no size said
        return ResourceError("the engine ran out of memory: the system refused it memory, "
                             "below the engine's own limit", _REFUSED_WAYS_OUT)
    lowered = text.lower()
    for reason, code in _DUCKDB_REASONS.items():
        if reason in lowered:
            named = _DUCKDB_FILE.search(text)
            return _file_error(code, writing or (named.group(1) if named else None), writing)
    return None


def _under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
