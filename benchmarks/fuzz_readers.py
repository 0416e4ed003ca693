"""Fuzz every reader with seeded mutations of a valid log; count what must never happen.

    python benchmarks/fuzz_readers.py                 # 1,000 inputs, in worker processes
    python benchmarks/fuzz_readers.py -n 5000 --seed 7
    python benchmarks/fuzz_readers.py --cli           # through `cjm inspect FILE --json -`
    python benchmarks/fuzz_readers.py --atheris       # coverage-guided, if atheris is installed
    python benchmarks/fuzz_readers.py --keep found/   # keep the inputs that failed

Each input is a valid log (CSV, TSV, JSON, JSON Lines, XES, Parquet, or gzip of them), cut,
flipped, stuffed with NUL bytes, random bytes or odd Unicode, chosen by the seed. An input is
fine when it is read with rows = events + rejected + filtered, or refused with cjm's own
DataError. Counted as failures: tracebacks and unexpected errors (any other exception, or the
CLI's "This is a bug in cjm"), hangs (no answer within --timeout seconds) and crashes (the
process died). The exit code is 1 when any failure was counted.

By default each input is read in-process by a pool of worker processes (fast, and a hang or a
crash kills only the worker, which is restarted); --cli runs the real command per input.
Not part of the test suite: tests/test_fuzz.py runs a small derandomized share of the same.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ROWS = [
    ("c1", "Visit", "2024-03-01T10:00:00Z", "web"),
    ("c1", "Search, then view", "2024-03-01T10:05:00Z", "web"),
    ("c1", "Buy", "2024-03-01T11:00:00+01:00", "app"),
    ("00042", "Visit", "2024-03-02T09:00:00Z", "store"),
    ("00042", 'Chat "help"\nline two', "2024-03-02 09:30:00", "chat"),
    ("1e5", "Café ☕", "2024-03-03T08:00:00Z", "web"),
    ("1e5", "Leave", "1709452200", "web"),
    ("1e5", "=1+1", "2024-03-03T08:20:00Z", ""),
]
COLUMNS = ("case_id", "activity", "timestamp", "channel")
SPECIAL = [b"\x00", b"\r", b"\n", b"\r\n", b'"', b",", b"\t", b";", b"\\", b"\xff", b"\xc3",
           b"\xef\xbb\xbf", b"\xff\xfe", b"\\ud800", b"\\udc00", b"\\u0000",
           "\u2028".encode(), "\u202e".encode(), "😀".encode(), b"<!ENTITY x 'y'>",
           b'<!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>', b"&x;", b"&amp;",
           b"<", b">", b"[", b"]", b"{", b"}", b"1e999", b"99999999999999999999999",
           b"-", b"PAR1", b"\x1f\x8b", b"infinity", b"epoch", b"10000-01-01", b"NaN",
           b'"\\u00', b"\x85", b"\x1b[2J"]


# Values that a valid file may hold in any cell, and names any header may have.
ODD_VALUES = ["", " ", "NULL", "null", "\x00", "infinity", "-infinity", "epoch", "0", "-1",
              "99999999999999999999", "-99999999999999999999999", "1e308", "1.5", "2024-02-30",
              "2024-03-01T25:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
              "10000-01-01", "01/02/2024", "13/13/2024", "31/12/99999",
              "Tue, 05 Mar 2024 14:03:22 +0000", "2024-03-01T10:00:00+14:00",
              "2024-03-01T10:00:00+99:99", "=cmd|' /C calc'!A0", "+1", "@x", "-x",
              "a" * 5000, "\u202eevil", "two\nlines", "cr\rreturn", 'say "hi"', "a,b;c|d\te",
              "<b>&amp;</b>", "[bold]x[/]", "\x1b[2J", "😀", "\u2028", "\ufeff", "\x85", "\\",
              "complete", "start", "COMPLETE"]
ODD_NAMES = ["", " ", "_line", "_file", "case_id", "CASE_ID", "Activity", "timestamp ", "a.b",
             "lifecycle:transition", "channel", "segment", "outcome", "cost", "x" * 300,
             'q"uote', "semi;colon", "new\nline", "😀", "file_row_number", "case:concept:name"]


def _table(rng: random.Random | None) -> tuple[list[str], list[list[str]]]:
    """The valid log's columns and rows, a few of them made odd when ``rng`` is given."""
    columns, rows = list(COLUMNS), [list(row) for row in ROWS]
    if rng is None or rng.random() < 0.4:
        return columns, rows
    for _ in range(rng.choice((1, 2, 4, 8))):
        row = rng.randrange(len(rows))
        rows[row][rng.randrange(len(columns))] = rng.choice(ODD_VALUES)
    if rng.random() < 0.3:
        columns[rng.randrange(len(columns))] = rng.choice(ODD_NAMES)
    if rng.random() < 0.2:
        columns.append(rng.choice(ODD_NAMES))
        for row in rows:
            row.append(rng.choice(ODD_VALUES))
    if rng.random() < 0.2:
        rows = rows * rng.choice((2, 50, 400))
    return columns, rows


def _csv(delimiter: str, columns: list[str], rows: list[list[str]]) -> bytes:
    def cell(value: str) -> str:
        return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(
            ch in value for ch in f'"{delimiter}\n\r') else value
    lines = [delimiter.join(cell(c) for c in columns)] + [
        delimiter.join(cell(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _records(columns: list[str], rows: list[list[str]]) -> list[dict]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _json(columns: list[str], rows: list[list[str]]) -> bytes:
    return json.dumps(_records(columns, rows), indent=1, ensure_ascii=False).encode()


def _jsonl(columns: list[str], rows: list[list[str]]) -> bytes:
    records = _records(columns, rows)
    records[1]["customer"] = {"id": 7, "tags": ["a", 1, None]}
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _xes(columns: list[str], rows: list[list[str]]) -> bytes:
    def attr(kind: str, key: str, value: str) -> str:
        def escape(text: str) -> str:
            text = "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 32)
            return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return f'<{kind} key="{escape(key)}" value="{escape(value)}"/>'
    traces: dict[str, list[str]] = {}
    for row in rows:
        case, stage, ts, *rest = row
        extra = "".join(attr("string", k, v) for k, v in zip(columns[3:], rest, strict=True))
        traces.setdefault(case, []).append(
            f"<event>{attr('string', 'concept:name', stage)}{attr('date', 'time:timestamp', ts)}"
            f"{extra}</event>")
    body = "".join(f"<trace>{attr('string', 'concept:name', case)}\n" + "\n".join(events)
                   + "\n</trace>\n" for case, events in traces.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0" '
            f'xmlns="http://www.xes-standard.org/">\n{body}</log>\n').encode()


def _parquet(columns: list[str], rows: list[list[str]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    names = [c or f"c{i}" for i, c in enumerate(columns)]
    if len(set(names)) < len(names):
        names = [f"{n}_{i}" for i, n in enumerate(names)]
    pq.write_table(pa.table({n: [row[i] for row in rows] for i, n in enumerate(names)}), out)
    return out.getvalue()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# name -> (file suffix, valid bytes from (columns, rows), compress after mutating?)
FORMATS = {
    "csv": (".csv", lambda c, r: _csv(",", c, r), False),
    "tsv": (".tsv", lambda c, r: _csv("\t", c, r), False),
    "json": (".json", _json, False),
    "jsonl": (".jsonl", _jsonl, False),
    "xes": (".xes", _xes, False),
    "parquet": (".parquet", _parquet, False),
    "csv.gz": (".csv.gz", lambda c, r: _csv(",", c, r), True),
    "xes.gz": (".xes.gz", _xes, True),
    "jsonl.gz-damaged": (".jsonl.gz", lambda c, r: _gz(_jsonl(c, r)), False),
    "noext": ("", _jsonl, False),  # no extension: the content decides the format
}


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 5, 8))):
        at = rng.randrange(len(data) + 1)
        kind = rng.choice(("truncate", "flip", "flip", "insert", "insert", "insert", "delete",
                           "repeat", "unicode"))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and data:
            at %= len(data)
            data = data[:at] + bytes([data[at] ^ rng.randrange(1, 256)]) + data[at + 1:]
        elif kind == "insert":
            chunk = rng.choice(SPECIAL) if rng.random() < 0.7 else rng.randbytes(
                rng.randrange(1, 9))
            data = data[:at] + chunk * rng.choice((1, 1, 1, 3, 50)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + rng.randrange(1, 60):]
        elif kind == "repeat":
            data = data[:at] + data[at:at + rng.randrange(1, 80)] * rng.randrange(1, 4) \
                + data[at:]
        elif kind == "unicode":
            text = "".join(chr(rng.choice((rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800),
                                           rng.randrange(0xE000, 0x110000), rng.randrange(32))))
                           for _ in range(rng.randrange(1, 5)))
            data = data[:at] + text.encode("utf-8") + data[at:]
    return data


def make_input(seed: int, index: int, folder: Path) -> Path:
    rng = random.Random(seed * 1_000_003 + index)
    name = rng.choice(sorted(FORMATS))
    suffix, valid, compress = FORMATS[name]
    data = mutate(valid(*_table(rng)), rng)
    if compress:
        data = _gz(data)
    path = folder / f"{index:05d}-{name}{suffix}"
    path.write_bytes(data)
    return path


def _format_of(path: Path) -> str:
    """The FORMATS name an input was made from (its file name says so)."""
    name = path.name.split("-", 1)[1]
    suffix = FORMATS[next(n for n in sorted(FORMATS, key=len, reverse=True)
                          if name.startswith(n))][0]
    return name[: len(name) - len(suffix)] if suffix else name


# ---- reading one input in-process (the worker's side) ----------------------------------

def expected_rows(path: Path, fmt: str, details: dict) -> int | None:
    """The records in the file, counted without cjm (None where that is not clear-cut)."""
    import csv

    with (gzip.open(path) if path.read_bytes()[:2] == b"\x1f\x8b" else path.open("rb")) as raw:
        data = raw.read()
    if fmt == "csv":
        text = data.decode(details["encoding"], "surrogateescape").removeprefix("\ufeff")
        csv.field_size_limit(1 << 24)
        rows = [r for r in csv.reader(io.StringIO(text, newline=""),
                                      delimiter=details["delimiter"]) if r]
        return len(rows) - 1
    if fmt == "jsonl":
        return sum(1 for line in data.split(b"\n") if line.strip(b" \t\r\n\xef\xbb\xbf"))
    if fmt == "json":
        try:
            return len(json.loads(data.decode("utf-8-sig")))
        except ValueError:
            return None
    if fmt == "xes":
        from lxml import etree

        tree = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        return len(tree.findall(".//{*}event"))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def read_one(path: str) -> tuple[str, str]:
    """('ok' | 'refused' | 'unexpected', detail) for one file."""
    import cjm
    from cjm.config import Config
    from cjm.errors import CjmError, DataError

    try:
        log = cjm.read_log(path, config=Config())
    except CjmError as exc:
        if isinstance(exc, DataError) and exc.message.strip():
            return "refused", exc.message[:300]
        return "unexpected", f"{type(exc).__name__}: {exc}"
    except Exception:
        return "unexpected", traceback.format_exc()
    try:
        if log.rows != log.events + log.rejected + log.filtered or any(
                f.rows != f.events + f.rejected + f.filtered for f in log.files):
            return "unexpected", f"accounting broke: {[f.to_dict() for f in log.files]}"
        try:
            expected = expected_rows(Path(path), log.files[0].format, log.files[0].details)
        except Exception:  # the other reader refuses what cjm read: no count to compare
            expected = None
        if expected is not None and expected != log.rows:
            return "unexpected", (f"{log.rows} rows counted, but the file holds {expected} "
                                  f"records: {log.files[0].to_dict()}")
        return "ok", f"{log.rows} rows, {log.events} events, {log.rejected} rejected"
    except Exception:
        return "unexpected", traceback.format_exc()
    finally:
        log.close()


def worker() -> None:
    """Read paths from stdin, one a line; answer one JSON line each on stdout."""
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the pipe
    for line in sys.stdin:
        status, detail = read_one(line.rstrip("\n"))
        out.write(json.dumps({"status": status, "detail": detail}) + "\n")
        out.flush()


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
            text=True, bufsize=1)

    def read(self, path: Path, timeout: float) -> tuple[str, str]:
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.process.kill()
            self.process.wait()
            return "hang", f"no answer within {timeout} s"
        answer = self.process.stdout.readline()
        if not answer:
            code = self.process.wait()
            return "crash", f"the worker died (exit {code})"
        result = json.loads(answer)
        return result["status"], result["detail"]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.stdin.close()
            self.process.wait()


def run_in_workers(paths: list[Path], timeout: float, jobs: int) -> list[tuple[str, str]]:
    from concurrent.futures import ThreadPoolExecutor

    shares = [paths[i::jobs] for i in range(jobs)]
    results: dict[Path, tuple[str, str]] = {}

    def drive(share: list[Path]) -> None:
        current = Worker()
        for path in share:
            if not current.alive:
                current = Worker()
            results[path] = current.read(path, timeout)
        current.close()

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(drive, shares))
    return [results[p] for p in paths]


def run_cli(path: Path, timeout: float) -> tuple[str, str]:
    cjm = Path(sys.executable).with_name("cjm")
    command = [str(cjm)] if cjm.exists() else [sys.executable, "-m", "cjm"]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    try:
        done = subprocess.run([*command, "inspect", str(path), "--json", "-"], env=env,
                              capture_output=True, timeout=timeout, cwd=path.parent,
                              check=False)
    except subprocess.TimeoutExpired:
        return "hang", f"no exit within {timeout} s"
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    if "Traceback" in stdout + stderr or "This is a bug in cjm" in stderr:
        return "unexpected", stderr[-2000:]
    if done.returncode == 0:
        profile = json.loads(stdout)
        if profile["rows"] != profile["events"] + profile["rejected"] + profile["filtered"]:
            return "unexpected", "accounting broke"
        return "ok", f"{profile['rows']} rows"
    if done.returncode == 1 and stderr.startswith("Error: "):
        return "refused", stderr.splitlines()[0][:300]
    if done.returncode < 0:
        return "crash", f"killed by signal {-done.returncode}"
    return "unexpected", f"exit {done.returncode}: {stderr[-2000:]}"


def run_atheris() -> None:  # pragma: no cover - needs atheris
    import atheris

    folder = Path(tempfile.mkdtemp(prefix="cjm-atheris-"))
    names = sorted(FORMATS)
    with atheris.instrument_imports():
        import cjm  # noqa: F401

    def one_input(data: bytes) -> None:
        if not data:
            return
        suffix = FORMATS[names[data[0] % len(names)]][0] or ".bin"
        path = folder / f"input{suffix}"
        path.write_bytes(data[1:])
        status, detail = read_one(str(path))
        if status == "unexpected":
            raise RuntimeError(detail)

    atheris.Setup(sys.argv[:1] + [a for a in sys.argv[1:] if a != "--atheris"], one_input)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="inputs (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the inputs (default 1)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds an input may take before it counts as a hang")
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--cli", action="store_true", help="run `cjm inspect` per input")
    parser.add_argument("--keep", type=Path, help="copy the failing inputs to this folder")
    parser.add_argument("--atheris", action="store_true",
                        help="coverage-guided fuzzing with atheris (if installed)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.worker:
        worker()
        return 0
    if args.atheris:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed (pip install atheris); running the seeded fuzzer",
                  file=sys.stderr)
        else:
            run_atheris()
            return 0

    folder = Path(tempfile.mkdtemp(prefix="cjm-fuzz-"))
    try:
        paths = [make_input(args.seed, i, folder) for i in range(args.n)]
        start = time.perf_counter()
        if args.cli:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(args.jobs) as pool:
                results = list(pool.map(lambda p: run_cli(p, args.timeout), paths))
        else:
            results = run_in_workers(paths, args.timeout, args.jobs)
        seconds = time.perf_counter() - start
        counts = Counter(status for status, _ in results)
        formats = Counter((_format_of(p), s) for p, (s, _) in zip(paths, results, strict=True))
        print(f"{args.n} inputs (seed {args.seed}, {'CLI' if args.cli else 'in-process'}) in "
              f"{seconds:.1f} s: {counts['ok']} read, {counts['refused']} refused with a "
              f"message")
        for name in sorted(FORMATS):
            print(f"  {name:18} {formats[(name, 'ok')]:4} read, "
                  f"{formats[(name, 'refused')]:4} refused")
        failures = [(p, s, d) for p, (s, d) in zip(paths, results, strict=True)
                    if s not in ("ok", "refused")]
        print(f"tracebacks/unexpected errors: {counts['unexpected']}")
        print(f"hangs: {counts['hang']}")
        print(f"crashes: {counts['crash']}")
        for path, status, detail in failures[:10]:
            print(f"\n{status}: {path.name}\n{detail.rstrip()}")
        if args.keep and failures:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path, _, _ in failures:
                shutil.copy(path, args.keep / path.name)
            print(f"\nfailing inputs copied to {args.keep}")
        return 1 if failures else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
