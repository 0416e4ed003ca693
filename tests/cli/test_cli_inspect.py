"""``cjm inspect`` through CliRunner: exit codes, one-line errors, never a traceback."""

from __future__ import annotations

import json
import tempfile

import pytest
from conftest import csv_rows
from conftest import run_cli as run

GOOD = ("case_id,activity,timestamp\n"
        "c1,Visit,2024-03-01T10:00:00Z\nc1,Buy,2024-03-01T11:00:00Z\n"
        "c2,Visit,2024-03-02T10:00:00Z\n")
WITH_REJECTS = GOOD + ",Visit,2024-03-02T10:00:00Z\nc3,Visit,soon\n=cmd|' /C calc'!A0,x,y,z\n"


def test_inspect_a_good_log(write):
    write("log.csv", GOOD)
    result = run("inspect", "log.csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == [
        "log.csv (csv comma-separated): 3 rows, 3 events",
        "2 journeys, 3 events, 2 stages, 2024-03-01 → 2024-03-02 (1d)",
    ]
    assert "case        case_id    detected" in result.stdout
    assert result.stderr == ""


def test_inspect_reports_rejects_and_exits_0(write):
    write("log.csv", WITH_REJECTS)
    result = run("inspect", "log.csv")
    assert result.exit_code == 0
    assert "log.csv (csv comma-separated): 6 rows, 3 events, 3 rejected" in result.stdout
    assert "missing journey id (column case_id)" in result.stdout
    assert "log.csv:5" in result.stdout


def test_strict_with_rejects_exits_1(write):
    write("log.csv", WITH_REJECTS)
    result = run("inspect", "log.csv", "--strict")
    assert result.exit_code == 1
    assert "Error: 3 rows rejected (--strict)" in result.stderr


def test_strict_without_rejects_exits_0(write):
    write("log.csv", GOOD)
    assert run("inspect", "log.csv", "--strict").exit_code == 0


def test_rejects_file_is_written(write, tmp_path):
    write("log.csv", WITH_REJECTS)
    result = run("inspect", "log.csv", "--rejects", "out/rejects.csv", "--strict")
    assert result.exit_code == 1
    assert csv_rows(tmp_path / "out" / "rejects.csv") == [
        ["file", "line", "reason", "content"],
        ["log.csv", "5", "missing journey id (column case_id)",
         "journey id=, stage=Visit, timestamp=2024-03-02T10:00:00Z"],
        ["log.csv", "6", "unparsable timestamp (ISO 8601 expected)",
         "journey id=c3, stage=Visit, timestamp=soon"],
        ["log.csv", "7", "malformed line: expected number of columns: 3 found: 4",
         "'=cmd|' /C calc'!A0,x,y,z"],
    ]


def test_json_to_stdout_is_only_json(write):
    write("log.csv", WITH_REJECTS)
    result = run("inspect", "log.csv", "--json", "-")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == "cjm.inspect/1"
    assert (data["rows"], data["events"], data["rejected"], data["journeys"]) == (6, 3, 3, 2)
    assert data["files"][0]["path"] == "log.csv"
    assert data["mapping"]["case"] == {"column": "case_id", "source": "detected"}


def test_json_to_a_file_and_the_report_to_stdout(write, tmp_path):
    write("log.csv", GOOD)
    result = run("inspect", "log.csv", "--json", "profile.json")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "profile.json").read_text())["events"] == 3
    assert result.stdout.startswith("log.csv (csv comma-separated)")


def test_json_equals_the_library_result(write):
    import cjm

    path = write("log.csv", WITH_REJECTS)
    result = run("inspect", "log.csv", "--json", "-")
    log = cjm.read_log(path.name)
    try:
        assert json.loads(result.stdout) == cjm.describe(log).to_dict()
    finally:
        log.close()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "Error: empty.csv: the file is empty"),
        ("blank.csv", b"\n\n\n", "Error: blank.csv: the file is empty"),
        ("header.csv", b"case_id,activity,timestamp\n", "no rows"),
        ("garbage.csv", bytes(range(256)) * 8, "Error: garbage.csv: this looks like a binary"),
        ("garbage.bin", b"\x00\x01\x02PK\x03\x04" * 50, "Error: garbage.bin: this looks like a"),
        ("empty.json", b"", "Error: empty.json: the file is empty"),
        ("broken.json", b'[{"case_id": 1,', "Error: broken.json: malformed JSON"),
        ("broken.xes", b"<log><trace>", "Error: broken.xes:1: not well-formed XES"),
        ("fake.parquet", b"PAR1 not really", "Error: fake.parquet: cannot read as Parquet"),
        ("only_rejects.csv", b"case_id,activity,timestamp\n,a,2024-01-01\n",
         "no events to work with (1 row read, 1 rejected, 0 filtered); "
         "1 row: missing journey id"),
    ],
)
def test_bad_files_exit_1_with_one_message(write, name, content, message):
    write(name, content)
    result = run("inspect", name)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) <= 2  # the message and a hint


def test_wrong_delimiter_gives_the_missing_role_error(write):
    write("log.csv", GOOD)
    result = run("inspect", "log.csv", "--delimiter", ";")
    assert result.exit_code == 1
    assert ("Error: log.csv: no column for the journey id (case) was found."
            in result.stderr)
    assert "Columns: case_id,activity,timestamp" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "nope"], "Error: --case: no column 'nope' in log.csv."),
        (["--case", "caseid"], "Error: --case: no column 'caseid' in log.csv. Did you mean "
                               "'case_id'?"),
        (["--stage", "Activty"], "Did you mean 'activity'?"),
        (["--lifecycle", "some"], "Error: --lifecycle: 'some' is not one of complete, all"),
        (["--journey-gap", "soon"], "Error: --journey-gap: cannot read 'soon' as a span"),
        (["--timezone", "Mars/Olympus"], "Error: --timezone: unknown time zone 'Mars/Olympus'"),
        (["--encoding", "klingon"], "Error: --encoding: unknown encoding 'klingon'"),
        (["--delimiter", ";;"], "Error: --delimiter: give one character"),
        (["--timestamp-format", "YYYY"], "Error: --timestamp-format: 'YYYY' has no % directive"),
    ],
)
def test_usage_errors_exit_2(write, args, message):
    write("log.csv", GOOD)
    result = run("inspect", "log.csv", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_unknown_column_flag_lists_the_columns(write):
    write("log.csv", GOOD)
    result = run("inspect", "log.csv", "--case", "nope")
    assert result.stderr.splitlines()[1] == "Columns: case_id, activity, timestamp"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "missing.csv"], "Error: missing.csv: no such file"),
        (["inspect", "logs/*.csv"], "Error: logs/*.csv: no file matches this pattern"),
        (["inspect", "."], "Error: .: is a folder"),
        (["inspect", "log.csv", "--no-such-flag"], "No such option: --no-such-flag"),
        (["inspect"], "Missing argument"),
        (["inspect", "log.csv", "--top", "0"], "Invalid value"),
    ],
)
def test_bad_invocations_exit_2(write, args, message):
    write("log.csv", GOOD)
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_ambiguous_dates_exit_1_asking_for_a_flag(write):
    write("log.csv", "case_id,activity,timestamp\nc,a,03/04/2024\nc,b,05/06/2024\n")
    result = run("inspect", "log.csv")
    assert result.exit_code == 1
    assert "--dayfirst or --monthfirst" in result.stderr
    assert run("inspect", "log.csv", "--monthfirst").exit_code == 0


def test_inspect_leaves_no_temporary_files(write, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    write("log.csv", GOOD)
    assert run("inspect", "log.csv").exit_code == 0
    write("bad.csv", "case_id,activity,timestamp\n")
    assert run("inspect", "bad.csv").exit_code == 1
    assert list(scratch.iterdir()) == []


def test_version():
    import cjm

    result = run("--version")
    assert (result.exit_code, result.stdout) == (0, f"cjm {cjm.__version__}\n")
