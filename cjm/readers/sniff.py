"""Guess what a file is before reading it: format, encoding, delimiter and header."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

from cjm.errors import DataError, UsageError
from cjm.readers.base import ColumnNames

FORMATS = ("csv", "json", "jsonl", "parquet", "xes")
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".pq": "parquet", ".xes": "xes",
}
SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
# Encodings DuckDB's CSV reader decodes itself; anything else is transcoded first.
NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when it is gzip (whatever its name says)."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    try:
        with open_binary(path) as handle:
            return handle.read(size)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the file: {exc}") from None


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
            name = codecs.lookup(given).name
        except LookupError:
            raise UsageError(
                f"--encoding: unknown encoding {given!r}",
                "Try utf-8, latin-1, cp1252 or utf-16.",
            ) from None
        return _canonical(name), "flag"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8", "byte-order mark"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "byte-order mark"
    try:
        _decode_cut(sample)
    except UnicodeDecodeError:
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


def sniff_dialect(text: str, given: str | None, where: str) -> Dialect:
    """Choose the delimiter whose field count is the most consistent over the first lines."""
    lines = text.splitlines()[:200]
    if len(text) >= SAMPLE_BYTES // 2 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    if not lines or not lines[0].strip():
        raise DataError(f"{where}: the file is empty or its first line is blank")
    if given is not None:
        delimiter = given.encode().decode("unicode_escape") if given == "\\t" else given
        if len(delimiter) != 1:
            raise UsageError(f"--delimiter: give one character, not {given!r}")
        return Dialect(delimiter, _header(lines[0], delimiter), "flag")
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
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
    names = next(csv.reader([line.lstrip("\ufeff")], delimiter=delimiter), [])
    unique = ColumnNames()
    return [unique(raw, position) for position, raw in enumerate(names, start=1)]
