"""Guess what a file is before reading it: format, encoding, delimiter and header."""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cjm.errors import DataError, UsageError
from cjm.resources import classify

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
FORMATS = ("csv", "json", "jsonl", "parquet", "xes")
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".pq": "parquet", ".xes": "xes",
}
SAMPLE_BYTES = 1 << 20
_NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
DELIMITERS = (",", ";", "\t", "|")
# Encodings DuckDB's CSV reader decodes itself; anything else is transcoded first.
NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


CUT_SHORT = "cut short: the file ends within this line (truncated)"


class _GzipStream(io.RawIOBase):
    """Decompressed bytes of a gzip file. Data cut short (a copy or download that stopped)
    ends where the cut is, and ``truncated`` says so; damaged data is a DataError that names
    the file, wherever in the file it shows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.truncated = False
        self._size = 0  # the bytes decompressed so far
        self._gzip = gzip.open(path, "rb")  # noqa: SIM115 (closed by close())

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.truncated:
            return 0
        try:
            # One read of the compressed stream at most, so that nothing decompressed
            # before the cut is lost with the error.
            data = self._gzip.read1(len(buffer))
        except EOFError as exc:  # gzip's word for a stream (or its trailer) that stops
            if self._trailer_fits():
                raise self._damaged(exc) from None
            self.truncated = True
            return 0
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise self._damaged(exc) from None
        self._size += len(data)
        buffer[: len(data)] = data
        return len(data)

    def _damaged(self, exc: Exception) -> DataError:
        return DataError(f"{self.path}: the gzip data is damaged or cut short ({exc})",
                         "Check that the download or copy is complete (gzip -t FILE).")

    def _trailer_fits(self) -> bool:
        """Whether the file's last four bytes, read as the size the data should have, are
        close to what was decompressed: then the file is whole but damaged (a flipped byte
        can make the data run past its end), not cut short, whose last bytes are any."""
        with self.path.open("rb") as handle:
            handle.seek(0, io.SEEK_END)
            if handle.tell() < 18:  # not even a header and a trailer
                return False
            handle.seek(-4, io.SEEK_END)
            size = int.from_bytes(handle.read(4), "little")
        return abs(size - self._size % (1 << 32)) <= min(self._size // 20, 1 << 24)

    def close(self) -> None:
        self._gzip.close()
        super().close()


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when it is gzip (whatever its name says); a gzip file
    cut short ends at the cut (``ended_early`` tells)."""
    if is_gzip(path):
        return io.BufferedReader(_GzipStream(path), 1 << 16)
    return path.open("rb")


def ended_early(handle: io.IOBase) -> bool:
    """Whether ``handle`` (from open_binary, or text over it) met the end of a gzip file cut
    short: true once its reading reached the cut."""
    raw = getattr(getattr(handle, "buffer", handle), "raw", None)
    return isinstance(raw, _GzipStream) and raw.truncated


# DuckDB accepts CSV lines up to 8 MB; Python's csv module must follow fields that long.
CSV_FIELD_LIMIT = 1 << 24


@contextlib.contextmanager
def csv_field_limit(limit: int = CSV_FIELD_LIMIT) -> Iterator[None]:
    """Let the csv module read fields up to ``limit`` characters (its default is 128 KB)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, limit))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    try:
        with open_binary(path) as handle:
            return handle.read(size)
    except (OSError, EOFError) as exc:
        raise classify(exc) or DataError(f"{path}: cannot read the file: {exc}") from None


def detect_format(path: Path, sample: bytes) -> str:
    """The format from the name (``.csv.gz`` counts as ``.csv``), else from the content."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    if sample.startswith(b"PAR1"):
        return "parquet"
    head = sample.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return "xes"
    if head == b"[":
        return "json"
    if head == b"{":
        return "jsonl"
    return "csv"


def detect_encoding(sample: bytes, given: str | None) -> tuple[str, str]:
    """The encoding to read with, and how it was chosen, for the report."""
    if given:
        try:
            info = codecs.lookup(given)
        except LookupError:
            info = None
        # base64, rot13, zlib and the like are codecs, but no text encodings.
        if info is None or not getattr(info, "_is_text_encoding", True):
            raise UsageError(
                f"--encoding: unknown encoding {given!r}",
                "Try utf-8, latin-1, cp1252 or utf-16.",
            ) from None
        return _canonical(info.name), "flag"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8", "byte-order mark"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "byte-order mark"
    try:
        _decode_cut(sample)
    except UnicodeDecodeError:
        if any(byte in sample for byte in _NOT_CP1252):
            # Bytes cp1252 leaves undefined: latin-1 decodes every byte.
            return "latin-1", "not UTF-8 or cp1252; read as latin-1 (pass --encoding to change)"
        return "cp1252", "not UTF-8; read as cp1252 (pass --encoding to change)"
    return "utf-8", "detected"


def _decode_cut(sample: bytes) -> str:
    """Decode a sample that may end mid-character (up to three bytes are dropped)."""
    for cut in range(4 if len(sample) >= SAMPLE_BYTES else 1):
        try:
            return sample[: len(sample) - cut].decode("utf-8")
        except UnicodeDecodeError:
            if cut == 3 or len(sample) < SAMPLE_BYTES:
                raise
    raise AssertionError("unreachable")


def _canonical(codec_name: str) -> str:
    aliases = {"utf-8": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1", "latin-1": "latin-1"}
    return aliases.get(codec_name, codec_name)


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    header: list[str]
    delimiter_source: str


def sniff_dialect(text: str, given: str | None, where: str, complete: bool = True) -> Dialect:
    """Choose the delimiter whose field count is the most consistent over the first lines.

    ``text`` is the decoded sample; ``complete`` says it holds the whole file.
    """
    # Only CR and LF end a CSV line (str.splitlines would also split at U+2028, \x0c, …).
    lines = _LINE_BREAK.split(text)
    if lines and not lines[-1]:
        lines.pop()
    if len(lines) == 1 and not complete:
        raise DataError(
            f"{where}: the first line is longer than {SAMPLE_BYTES >> 20} MB, so it is no "
            "CSV header",
            "Give a CSV, TSV, JSON, JSON Lines, Parquet or XES file.",
        )
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    lines = lines[:200]
    if not lines or not lines[0].strip():
        raise DataError(f"{where}: the file is empty or its first line is blank")
    if given is not None:
        delimiter = given.encode().decode("unicode_escape") if given == "\\t" else given
        if len(delimiter) != 1:
            raise UsageError(f"--delimiter: give one character, not {given!r}")
        if delimiter in '"\r\n':
            raise UsageError(f"--delimiter: {delimiter!r} cannot separate fields: it quotes "
                             "fields or ends lines", "Try , ; | or \\t.")
        return Dialect(delimiter, _header(lines[0], delimiter), "flag")
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
        with csv_field_limit():
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for n in counts if n == counts[0]) / len(counts)
        score = (consistent, counts[0], delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    delimiter = best[2] if best else ","
    return Dialect(delimiter, _header(lines[0], delimiter), "detected")


def _header(line: str, delimiter: str) -> list[str]:
    with csv_field_limit():
        names = next(csv.reader([line.lstrip("\ufeff")], delimiter=delimiter), [])
    unique = ColumnNames()
    return [unique(raw, position) for position, raw in enumerate(names, start=1)]


RESERVED_COLUMNS = ("_line", "_file", "_row")  # the engine's own columns
# More columns than this is no event log but a broken export; refusing it beats a long wait.
MAX_COLUMNS = 20_000


class ColumnNames:
    """Unique column names for a file: the engine folds case, and reserves _line and _file."""

    def __init__(self) -> None:
        self.taken = {name.casefold() for name in RESERVED_COLUMNS}
        self.names: dict[str, str] = {}

    def __call__(self, raw: str, position: int | None = None) -> str:
        """The column name for a header or key ``raw`` (the same raw key, the same name)."""
        if position is None and raw in self.names:
            return self.names[raw]
        base = raw.strip() or (f"column{position}" if position is not None else "column")
        name, n = base, 1
        while name.casefold() in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name.casefold())
        if position is None:
            self.names[raw] = name
        return name


def is_pattern(text: str) -> bool:
    """Whether ``text`` is a glob: it has a wildcard and no file has that very name (a file
    named shop[1].csv is that file)."""
    return any(ch in text for ch in "*?[") and not Path(text).is_file()


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files named or matched by globs, in the order given (glob matches sorted)."""
    files: list[Path] = []
    for item in paths:
        text = str(item)
        if is_pattern(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"{text}: no file matches this pattern")
            files.extend(Path(m) for m in matches if Path(m).is_file())
            continue
        path = Path(text)
        if not path.exists():
            raise UsageError(f"{text}: no such file")
        if path.is_dir():
            raise UsageError(f"{text}: is a folder", f"Give files or a glob such as {text}/*.csv")
        if not path.is_file():
            # A pipe or device is read more than once (sniffing, then reading), or never ends.
            raise UsageError(f"{text}: not a regular file (a pipe or a device)",
                             "Save the data to a file first.")
        files.append(path)
    if not files:
        raise UsageError("no input files given")
    return files
