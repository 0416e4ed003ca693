"""Hostile files through the real CLI: never a crash, a hang or a traceback; a clear message.

Every case runs ``cjm inspect FILE --json … --rejects …`` (the terminal view and the JSON in
one run) and ``cjm discover FILE --no-map --json -`` in subprocesses with a timeout. A case
names the exit code both must give and a fragment: of the error on stderr when the code is
not 0, otherwise of a reject reason or note in the inspect JSON, whose row accounting must
hold (rows = events + rejected + filtered, per file and in total).

The small files live in tests/data/hostile/ (written by its make.py); files of megabytes
are made here, in a temporary folder. The subprocesses of all cases run in parallel, once
per session.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import CLI_ENV, DATA

HOSTILE = DATA / "hostile"
TIMEOUT = 120  # seconds a command may take before it counts as a hang
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _make_module():
    spec = importlib.util.spec_from_file_location("hostile_make", HOSTILE / "make.py")
    module = importlib.util.module_from_spec(spec)
    # Its bytecode would go to a __pycache__ in the corpus, which holds what make.py writes.
    written, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = written
    return module


MAKE = _make_module()


@dataclass(frozen=True)
class Case:
    """A hostile file and what cjm must answer: the exit code and a message fragment."""

    file: str
    code: int
    fragment: str | None
    make: Callable[[Path], None] | None = field(default=None, compare=False)


# ---- files of megabytes, made at test time ---------------------------------------------

HEADER = MAKE.HEADER
GOOD = MAKE.GOOD


def _huge_cell(path: Path) -> None:
    path.write_text(HEADER + GOOD + "c9," + "x" * 10_000_000 + ",2024-03-01T10:00:00Z\n" + GOOD)


def _big_cell_after_blank_lines(path: Path) -> None:
    # Under DuckDB's 8 MB limit but over the csv module's 128 KB default; blank lines make
    # cjm number the lines with the csv module.
    path.write_text(HEADER + GOOD + "\n\n" + 'c9,"' + "y\n" * 150_000 + '",2024-03-01\n' + GOOD)


def _huge_json_value(path: Path) -> None:
    record = {"case_id": "c9", "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z",
              "note": "z" * 10_000_000}
    path.write_text(GOOD_JSONL + json.dumps(record) + "\n")


GOOD_JSONL = "".join(json.dumps(r) + "\n" for r in MAKE.RECORDS)


def _wide_csv(columns: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        names = ["case_id", "activity", "timestamp"] + [f"extra{i}" for i in range(columns)]
        row = ["c1", "Visit", "2024-03-01T10:00:00Z"] + ["v"] * columns
        path.write_text(",".join(names) + "\n" + (",".join(row) + "\n") * 3)
    return make


def _wide_json(path: Path) -> None:
    records = [dict(r, **{f"key{i}": str(i) for i in range(10_000)}) for r in MAKE.RECORDS]
    path.write_text(json.dumps(records))


def _many_keys_jsonl(path: Path) -> None:
    # Keys that are data (ids as keys), 1,000 new ones a record: the 21st record is refused.
    path.write_text("".join(
        json.dumps(dict(MAKE.RECORDS[i % 3], **{f"id-{i}-{k}": "x" for k in range(1_000)}))
        + "\n" for i in range(25)))


def _deep_json(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


def _deep_jsonl(path: Path) -> None:
    deep = '{"case_id": "c9", "activity": "Visit", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text(GOOD_JSONL + deep + "\n" + GOOD_JSONL)


def _deep_xes(path: Path) -> None:
    path.write_text('<?xml version="1.0"?>\n<log><trace>' + "<x>" * 100_000
                    + "</x>" * 100_000 + "</trace></log>\n")


def _long_first_line(path: Path) -> None:
    path.write_text("case_id," + "h" * 2_000_000 + ",timestamp\n" + GOOD)


def _gzip_cut_after_the_sample(path: Path) -> None:
    rows = "".join(f"c{i % 997},Stage {i % 13},2024-03-01T10:{i % 60:02d}:00Z\n"
                   for i in range(150_000))
    data = gzip.compress((HEADER + rows).encode(), mtime=0)
    path.write_bytes(data[: len(data) * 3 // 4])


def _mixed_line_endings_after_the_first_rows(path: Path) -> None:
    """CRLF, then LF after 5,000 rows: the first row parses, the sample of timestamps not."""
    path.write_bytes(("case_id,activity,timestamp\r\n"
                      + "".join(f"c{i},Visit,2024-03-01T10:00:00Z\r\n" for i in range(5000))
                      + "".join(f"d{i},Buy,2024-03-02T10:00:00Z\n" for i in range(5000))
                      ).encode())


def _parquet(table_of: Callable[[object], object]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        pq.write_table(table_of(pa), path)
    return make


def _truncated_parquet(path: Path) -> None:
    _parquet(lambda pa: pa.table({"case_id": ["c1", "c1"], "activity": ["Visit", "Buy"],
                                  "timestamp": ["2024-03-01", "2024-03-02"]}))(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _not_utf8_parquet(pa):
    stage = pa.array([b"Caf\xe9", b"Visit"], pa.binary()).view(pa.string())
    return pa.table({"case_id": ["c1", "c1"], "activity": stage,
                     "timestamp": ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"]})


def _odd_columns_parquet(pa):
    return pa.table({"case_id": ["c1", "c1"], "Case_ID": ["x", "y"], "_line": ["7", "8"],
                     "file_row_number": ["a", "b"], "activity": ["Visit", "Buy"],
                     "timestamp": ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z"]})


def _extreme_dates_parquet(pa):
    return pa.table({"case_id": ["c1", "c1", "c1"], "activity": ["Visit", "Buy", "Leave"],
                     "timestamp": pa.array([-2**30, 19_783, 2**30], pa.date32())})


CASES = [
    # CSV
    Case("truncated_quote.csv", 0, "malformed line: bad quoting"),
    Case("garbage.bin", 1, "this looks like a binary file, not CSV (it holds NUL bytes)"),
    Case("garbage_text.csv", 1, "no rows to read"),
    Case("invalid_utf8.csv", 0, "not UTF-8; read as cp1252"),
    Case("nul_bytes.csv", 1, "it holds NUL bytes"),
    Case("empty.csv", 1, "the file is empty"),
    Case("header_only.csv", 1, "no rows to read"),
    Case("header_only_no_newline.csv", 1, "no rows to read"),
    Case("one_column.csv", 1, "no column for the journey id (case) was found"),
    Case("duplicate_columns.csv", 0, None),
    Case("cr_only.csv", 0, None),
    Case("mixed_line_endings.csv", 1, "a carriage return inside a line, or line endings mixed"),
    Case("mixed_line_endings_later.csv", 1,
         "a carriage return inside a line, or line endings mixed",
         _mixed_line_endings_after_the_first_rows),
    Case("unicode_line_separators.csv", 1, "Columns: case_id, activity\\u2028x, timestamp"),
    Case("utf16_garbage.csv", 1, "cannot decode as utf-16"),
    Case("formula_injection.csv", 0, "malformed line: expected number of columns"),
    Case("hostile_names.csv", 0, None),
    Case("timestamp_extremes.csv", 0, "timestamp out of range (years 1 to 9999)"),
    Case("epoch_overflow.csv", 0, "unparsable timestamp (epoch milliseconds expected)"),
    Case("huge_cell.csv", 0, "line longer than the 8 MB limit", _huge_cell),
    Case("big_cell_after_blank_lines.csv", 0, None, _big_cell_after_blank_lines),
    Case("wide.csv", 0, None, _wide_csv(10_000)),
    Case("too_wide.csv", 1, "cjm reads at most 20,000", _wide_csv(20_000)),
    Case("long_first_line.csv", 1, "the first line is longer than 1 MB", _long_first_line),
    # gzip
    # Cut short: read up to the cut, the cut line rejected (tests/test_truncated.py).
    Case("truncated.csv.gz", 0, "cut short: the file ends within this line (truncated)"),
    Case("cut_after_sample.csv.gz", 0, "cut short: the file ends within this line",
         _gzip_cut_after_the_sample),
    Case("damaged.jsonl.gz", 1, "the gzip data is damaged or cut short"),
    # JSON and JSON Lines
    Case("empty.json", 1, "the file is empty"),
    Case("empty_array.json", 1, "no rows to read"),
    Case("truncated.json", 1, "malformed JSON"),
    Case("trailing_text.json", 1, "text after the closing ']' of the array"),
    Case("not_records.json", 1, "not a record: a JSON number where an object was expected"),
    Case("mixed_types.json", 0, "missing stage (column activity)"),
    Case("deep.json", 1, "JSON nested too deeply", _deep_json),
    Case("wide.json", 0, None, _wide_json),
    Case("empty.jsonl", 1, "the file is empty"),
    Case("blank_lines.jsonl", 1, "the file is empty"),
    Case("truncated.jsonl", 0, "malformed JSON: Unterminated string"),
    Case("invalid_utf8.jsonl", 0, "not valid UTF-8 text"),
    Case("nul_bytes.jsonl", 0, "malformed JSON: Invalid control character"),
    Case("lone_surrogate.jsonl", 0, "lone surrogate"),
    Case("mixed_types.jsonl", 0, "missing journey id (column case_id)"),
    Case("hostile_names.jsonl", 0, None),
    Case("deep.jsonl", 0, "record nested too deeply", _deep_jsonl),
    Case("huge_value.jsonl", 0, None, _huge_json_value),
    Case("many_keys.jsonl", 1, "more than 20,000 different keys", _many_keys_jsonl),
    # XES
    Case("empty.xes", 1, "the file is empty"),
    Case("no_events.xes", 1, "no rows to read"),
    Case("truncated.xes", 1, "not well-formed XES"),
    Case("not_xml.xes", 1, "not well-formed XES"),
    Case("billion_laughs.xes", 1, "refused: the XES file declares entities"),
    Case("external_entity_file.xes", 1, "refused: the XES file declares entities"),
    Case("external_entity_http.xes", 1, "refused: the XES file declares entities"),
    Case("external_parameter_entity.xes", 1, "refused: the XES file declares entities"),
    Case("external_dtd.xes", 1, "refused: the XES file names an external DTD"),
    Case("deep.xes", 1, "not well-formed XES", _deep_xes),
    # Parquet
    Case("empty.parquet", 1, "cannot read as Parquet"),
    Case("garbage.parquet", 1, "cannot read as Parquet"),
    Case("truncated.parquet", 1, "the file ends early (truncated)", _truncated_parquet),
    Case("not_utf8.parquet", 1, "is not valid UTF8", _parquet(_not_utf8_parquet)),
    Case("odd_columns.parquet", 0, None, _parquet(_odd_columns_parquet)),
    Case("extreme_dates.parquet", 0, "unparsable timestamp (native DATE expected)",
         _parquet(_extreme_dates_parquet)),
]


# ---- running the CLI ------------------------------------------------------------------

@dataclass
class Run:
    args: list[str]
    code: int | None  # None: killed after TIMEOUT seconds
    stdout: str
    stderr: str


def _cjm() -> list[str]:
    script = Path(sys.executable).with_name("cjm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cjm"]


def _run(args: list[str], cwd: Path) -> Run:
    env = {**os.environ, **CLI_ENV}
    try:
        done = subprocess.run([*_cjm(), *args], cwd=cwd, env=env, capture_output=True,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        return Run(args, None, (exc.stdout or b"").decode("utf-8", "replace"),
                   (exc.stderr or b"").decode("utf-8", "replace"))
    return Run(args, done.returncode, done.stdout.decode("utf-8", "replace"),
               done.stderr.decode("utf-8", "replace"))


@dataclass
class Outcome:
    folder: Path
    inspect: Run
    discover: Run

    @property
    def profile(self) -> dict:
        return json.loads((self.folder / "inspect.json").read_text(encoding="utf-8"))

    @property
    def rejects_csv(self) -> Path:
        return self.folder / "rejects.csv"


def _prepare(case: Case, root: Path) -> Path:
    folder = root / case.file.replace(".", "_")
    folder.mkdir()
    target = folder / case.file
    if case.make is not None:
        case.make(target)
    else:
        shutil.copyfile(HOSTILE / case.file, target)
    return folder


def _outcome(case: Case, folder: Path) -> Outcome:
    inspect = _run(["inspect", case.file, "--json", "inspect.json", "--rejects", "rejects.csv"],
                   folder)
    discover = _run(["discover", case.file, "--no-map", "--json", "-"], folder)
    return Outcome(folder, inspect, discover)


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, the subprocesses in parallel."""
    root = tmp_path_factory.mktemp("hostile")
    folders = {case.file: _prepare(case, root) for case in CASES}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {case.file: pool.submit(_outcome, case, folders[case.file])
                   for case in CASES}
        return {name: future.result() for name, future in futures.items()}


def _check_run(run: Run, case: Case) -> None:
    shown = f"cjm {' '.join(run.args)}\nstdout: {run.stdout[-2000:]}\nstderr: {run.stderr}"
    assert run.code is not None, f"hang (no exit within {TIMEOUT} s): {shown}"
    assert "Traceback" not in run.stdout + run.stderr, shown
    assert "This is a bug in cjm" not in run.stderr, shown
    assert run.code == case.code, shown
    if case.code:
        assert run.stderr.startswith("Error: "), shown
        assert case.fragment in run.stderr, shown


def _check_accounting(profile: dict) -> None:
    assert profile["rows"] == profile["events"] + profile["rejected"] + profile["filtered"]
    for report in profile["files"]:
        assert report["rows"] == report["events"] + report["rejected"] + report["filtered"]
    assert profile["rows"] == sum(f["rows"] for f in profile["files"])


def _check_rejects_file(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "line", "reason", "content"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), row
    return rows


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_hostile_file(outcomes, case):
    outcome = outcomes[case.file]
    _check_run(outcome.inspect, case)
    _check_run(outcome.discover, case)
    if case.code:
        assert outcome.discover.stdout == ""
        return
    profile = outcome.profile
    _check_accounting(profile)
    discovered = json.loads(outcome.discover.stdout)
    _check_accounting(discovered["reading"])
    assert discovered["events"] == profile["events"]
    if case.fragment is not None:
        said = [r["reason"] for r in profile["rejects"]] + profile["notes"]
        assert any(case.fragment in line for line in said), said
    if profile["rejected"]:
        assert len(_check_rejects_file(outcome.rejects_csv)) == 1 + profile["rejected"]


def test_the_corpus_is_what_make_py_writes():
    """The committed files are exactly those make.py writes, so they can be regenerated."""
    written = MAKE.files()
    on_disk = {p.name for p in HOSTILE.iterdir() if p.name != "make.py"}
    assert on_disk == set(written)
    for name, content in written.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        assert (HOSTILE / name).read_bytes() == data, name
    assert {c.file for c in CASES if c.make is None} == set(written)


@pytest.mark.parametrize("name", ["hostile_names.csv", "hostile_names.jsonl"])
def test_hostile_stage_names_survive_byte_for_byte(outcomes, name):
    outcome = outcomes[name]
    expected = sorted(MAKE.HOSTILE_NAMES)
    assert sorted(s["name"] for s in outcome.profile["stages"]) == expected
    assert sorted(s["name"] for s in json.loads(outcome.discover.stdout)["stages"]) == expected


def test_formula_cells_in_the_rejects_file_are_neutralised(outcomes):
    rows = _check_rejects_file(outcomes["formula_injection.csv"].rejects_csv)
    contents = [row[3] for row in rows[1:]]
    assert contents == [
        "'=cmd|' /C calc'!A0,Visit,2024-03-01T10:00:00Z,extra",
        # A quote first: no formula to a spreadsheet, so left as it was.
        '"=HYPERLINK(""http://evil.example"",""click"")",Visit',
        "'+SUM(A1:A9),Visit,2024-03-01,x",
        "'-2+3,Visit",
        "'@SUM(1+1)*cmd|' /C calc'!A0,Visit,2024,x",
        "'\t=1+1,Visit",
        "journey id=c4, stage==1+1, timestamp=",
    ]


def test_the_odd_parquet_columns_keep_their_values(outcomes):
    profile = outcomes["odd_columns.parquet"].profile
    assert profile["events"] == 2
    assert profile["mapping"]["case"]["column"] == "case_id"


def test_an_xes_entity_url_is_never_fetched(tmp_path):
    """A listening socket sees no connection while cjm refuses a document pointing at it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.setblocking(False)
        port = server.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        event = MAKE.XES_EVENT
        docs = {
            "entity.xes": MAKE.xes(event.format(stage="&x;"),
                                   f'<!DOCTYPE log [<!ENTITY x SYSTEM "{url}/e">]>\n'),
            "parameter.xes": MAKE.xes(event.format(stage="Visit"),
                                      f'<!DOCTYPE log [<!ENTITY % p SYSTEM "{url}/p"> %p;]>\n'),
            "dtd.xes": MAKE.xes(event.format(stage="Visit"),
                                f'<!DOCTYPE log SYSTEM "{url}/d.dtd">\n'),
        }
        for name, text in docs.items():
            (tmp_path / name).write_text(text)
            run = _run(["inspect", name], tmp_path)
            assert run.code == 1, run
            assert "refused" in run.stderr and url not in run.stdout
        with pytest.raises(BlockingIOError):
            server.accept()


def test_a_pipe_or_device_is_a_usage_error(tmp_path):
    run = _run(["inspect", os.devnull], tmp_path)
    assert run.code == 2
    assert "not a regular file" in run.stderr
    assert "Traceback" not in run.stderr


def test_escape_sequences_in_stage_names_never_reach_the_terminal(tmp_path):
    (tmp_path / "esc.csv").write_text(HEADER + "c1,\x1b[2J\x1b]0;owned\x07Visit,"
                                      "2024-03-01T10:00:00Z\nc1,Buy,2024-03-01T11:00:00Z\n")
    runs = [_run(["inspect", "esc.csv"], tmp_path), _run(["discover", "esc.csv", "--no-map"],
                                                          tmp_path)]
    assert all(run.code == 0 for run in runs), runs
    assert not any("\x1b" in run.stdout + run.stderr for run in runs)


def test_emoji_codes_in_messages_are_printed_as_written(tmp_path):
    """Rich turns :smile: into an emoji unless told not to: a file named so (or an
    adbc:snowflake: URL) must read as written in a message."""
    missing = _run(["inspect", ":smile:.jsonl"], tmp_path)
    assert missing.code == 2 and ":smile:.jsonl" in missing.stderr, missing


@pytest.mark.parametrize("name", ["billion_laughs.xes", "external_entity_file.xes",
                                  "external_parameter_entity.xes"])
def test_the_xes_parser_itself_refuses_entities(monkeypatch, name):
    """Defence in depth: with the DOCTYPE check before it switched off, the parser that reads
    the events still refuses any entity declaration rather than expand it."""
    import cjm
    from cjm.engine.duckdb.readers import records

    monkeypatch.setattr(records, "_refuse_doctype", lambda path: None)
    with pytest.raises(cjm.DataError, match="refused: the XES file declares entities"):
        cjm.read_log(DATA / "hostile" / name)
