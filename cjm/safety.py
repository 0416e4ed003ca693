"""Safe outputs: atomic file writes, CSV cells a spreadsheet will not execute, and text a
terminal will not obey."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cjm.errors import DataError
from cjm.resources import classify

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
# (device, inode) of every file read in this process, with its path
_INPUTS: dict[tuple[int, int], Path] = {}


def protect(path: Path) -> None:
    """Remember ``path`` as an input: no output of this process may replace it."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        _INPUTS[(info.st_dev, info.st_ino)] = Path(path)


def _special(path: Path) -> bool:
    """A pipe, a device or a socket, or a name for one (/dev/stdout: replacing it would
    replace the system's link, or lose the output a shell redirected to a file)."""
    if str(path.absolute()).startswith(("/dev/", "/proc/")):
        return True
    return path.exists() and not path.is_file() and not path.is_dir()


def _is_input(path: Path) -> bool:
    try:
        info = os.stat(path)
        source = _INPUTS.get((info.st_dev, info.st_ino))
        # An input deleted since frees its inode, which a new file may then take.
        return source is not None and os.path.samefile(source, path)
    except OSError:
        return False


def printable(text: str) -> str:
    """Text from the data safe to print on a terminal: control characters (an escape
    sequence could clear the screen or retitle the window) written out as ``\\x1b``."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def neutralise_formula(cell: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a quote."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write, renamed onto ``path`` only on success, so
    that a failure or Ctrl-C leaves the previous file as it was."""
    # Through a symbolic link to its target: the link stays a link.
    path = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a folder", "Give a file name.")
    if _is_input(path):
        raise DataError(f"will not write {path}: it is an input of this command",
                        "Give the output another name.")
    if _special(path):
        raise DataError(f"cannot write {path}: it is not a regular file",
                        "Give the name of a file.")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise classify(exc, path) or DataError(
            f"cannot write {path}: {exc.strerror or exc}",
            "Check the folder exists and is writable.") from None
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs follow the umask
        yield Path(temp)
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        # A full disk or a refusal, from Python or from DuckDB writing the temporary file:
        # named after the output.
        if (known := classify(exc, path)) is not None:
            raise known from None
        if isinstance(exc, OSError):
            raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "w", newline: str | None = None) -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place only on success;
    a pipe or device (/dev/stdout, a FIFO) is written to as it is, never replaced."""
    if _special(Path(path)):
        with _open(path, path, mode, newline) as handle:
            yield handle
        return
    with atomic_path(path) as temp, _open(temp, path, mode, newline) as handle:
        yield handle


def _open(target: Path, shown: Path, mode: str, newline: str | None) -> IO:
    encoding = None if "b" in mode else "utf-8"
    try:
        return open(target, mode, encoding=encoding, newline=newline)
    except OSError as exc:
        raise DataError(f"cannot write {shown}: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path, "wb") as handle:
        handle.write(data)


def write_text(path: Path, text: str) -> None:
    with atomic_writer(path, "w", newline="") as handle:
        handle.write(text)


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}


def safe_name(value: str, used: set[str] | None = None) -> str:
    """A file-name part made from data: no path separators, no dots at the ends, no names
    Windows reserves, and distinct from the names already ``used`` (which it extends)."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", value)
    name = re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._") or "value"
    if name.lower() in _RESERVED:
        name = "_" + name
    name = name[:80]
    if used is not None:
        base, n = name, 1
        while name.lower() in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name.lower())
    return name
