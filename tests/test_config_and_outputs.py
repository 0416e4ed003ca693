"""Config files, reading edge cases and safe outputs, through the library and the CLI."""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import re
from pathlib import Path

import pytest
from conftest import csv_rows
from conftest import run_cli as run

import cjm.safety
from cjm.errors import DataError
from cjm.safety import atomic_writer
from tests.journey_logs import write_journeys

SHOP = {
    "a": [("Visit", "web"), ("View", "web"), ("Buy", "web")],
    "b": [("Visit", "web"), ("View", "web"), ("Chat", "chat")],
    "c": [("Visit", "app"), ("Buy", "app")],
    "d": [("Visit", "web"), ("View", "web")],
}
PHASES = ("case_id,stage,timestamp,phase\n"
          "c1,Visit,2024-01-01T09:00:00Z,start\n"
          "c1,Visit,2024-01-01T09:05:00Z,complete\n"
          "c1,Buy,2024-01-01T09:10:00Z,start\n"
          "c1,Buy,2024-01-01T09:15:00Z,complete\n"
          "c2,Visit,2024-01-02T09:00:00Z,complete\n")


def flat(text: str) -> str:
    return " ".join(text.split())


def visit_view_label(dot_file: str) -> str:
    """The label of the Visit → View edge in a DOT map."""
    match = re.search(r'^  "stage:Visit" -> "stage:View" \[.*\blabel="([^"]*)"',
                      Path(dot_file).read_text(), re.MULTILINE)
    assert match, "no Visit -> View edge"
    return match[1]


@pytest.fixture
def shop(tmp_path) -> Path:
    return write_journeys(tmp_path / "shop.csv", SHOP)


@pytest.fixture
def config(tmp_path, monkeypatch):
    """``config(text)``: a cjm.toml in the folder the command runs in; returns its path."""
    monkeypatch.chdir(tmp_path)

    def _config(text: str) -> Path:
        path = tmp_path / "cjm.toml"
        path.write_text(text, encoding="utf-8")
        return path.resolve()

    return _config


# Config files --------------------------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ('top = "10"', "setting 'top' must be a whole number, not '10'"),
    ("top = true", "setting 'top' must be a whole number, not True"),
    ('dayfirst = "yes"', "setting 'dayfirst' must be true or false, not 'yes'"),
    ("journey_gap = 30", "setting 'journey_gap' must be a string (\"…\"), not 30"),
    ('goals = "Buy"', "setting 'goals' must be a list ([\"…\", \"…\"]), not 'Buy'"),
    ("goals = [1]", "setting 'goals' must be a list ([\"…\", \"…\"]), not [1]"),
])
@pytest.mark.parametrize("command", ["discover", "inspect"])
def test_config_value_of_the_wrong_type_exits_2(shop, config, line, message, command):
    path = config(line + "\n")
    result = run(command, str(shop), *(["--no-map"] if command == "discover" else []))
    assert result.exit_code == 2
    assert f"Error: {path}: {message}" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("line, key", [("top = 0", "top"), ('view = "fancy"', "view")])
def test_config_value_out_of_range_names_the_file_and_key(shop, config, line, key):
    # The flag --top refuses 0 and --view refuses 'fancy'; from the file they must fail too,
    # and the message must point at the file, not at a flag that was never given.
    path = config(line + "\n")
    result = run("discover", str(shop), "--no-map")
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr
    assert repr(key) in result.stderr


def test_config_goals_and_still_active_are_read_by_discover(shop, config):
    config('goals = ["Buy"]\nstill_active = "30h"\n')
    result = run("discover", str(shop), "--no-map")
    assert result.exit_code == 0, result.output
    assert "Goals: Buy — reached by 50.0% of journeys" in result.stdout
    assert "(inferred" not in result.stdout
    # d ends within 30h of the log's end without buying: open. b is the one dead-end.
    assert "Dead-ends: 1 journey (33.3%), 1 still open" in result.stdout


def test_flags_win_over_the_config_file(shop, config):
    # From the file alone: Chat as the goal, and every journey still open (no dead-ends).
    config('goals = ["Chat"]\nstill_active = "100d"\ntop = 1\nview = "performance"\n')
    result = run("discover", str(shop), "--goal", "Buy", "--still-active", "30h", "--top", "2",
                 "--view", "frequency", "-o", "m.dot")
    assert result.exit_code == 0, result.output
    assert "Goals: Buy — reached by 50.0% of journeys" in result.stdout
    assert "Dead-ends: 1 journey (33.3%), 1 still open" in result.stdout
    assert "Transitions (top 2 of 4)" in result.stdout
    assert visit_view_label("m.dot") == "3"


def test_config_view_and_top_apply_without_flags(shop, config):
    config('top = 1\nview = "performance"\n')
    result = run("discover", str(shop), "-o", "m.dot")
    assert result.exit_code == 0, result.output
    assert "Transitions (top 1 of 4)" in result.stdout
    assert visit_view_label("m.dot") == "10m"


def test_config_lifecycle_column_and_mode_are_read_by_read_log(write, config, read):
    write("phases.csv", PHASES)
    path = config('lifecycle_column = "phase"\n')
    log = read("phases.csv")
    assert log.mapping.to_dict()["lifecycle"] == {"column": "phase",
                                                   "source": f"config {path}"}
    assert (log.rows, log.events, log.filtered) == (5, 3, 2)
    assert log.notes == ["kept complete events only: 2 events with lifecycle start set aside "
                         "(pass --lifecycle all to keep every event)"]

    config('lifecycle_column = "phase"\nlifecycle = "all"\n')
    log = read("phases.csv")
    assert (log.rows, log.events, log.filtered) == (5, 5, 0)
    assert log.notes == []
    # A flag (here the keyword) wins over the file.
    log = read("phases.csv", lifecycle="complete")
    assert (log.events, log.filtered) == (3, 2)


def test_config_lifecycle_through_the_cli(write, config):
    write("phases.csv", PHASES)
    config('lifecycle_column = "phase"\nlifecycle = "all"\n')
    result = run("inspect", "phases.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("phases.csv (csv comma-separated): 5 rows, 5 events\n")
    result = run("inspect", "phases.csv", "--lifecycle", "complete")
    assert result.stdout.startswith(
        "phases.csv (csv comma-separated): 5 rows, 3 events, 2 filtered\n")


# Reading edge cases --------------------------------------------------------------------------

ALL_REJECTED = ("case_id,stage,timestamp\n"
                ",Visit,2024-01-01T09:00:00Z\n"
                "c2,,2024-01-01T09:00:00Z\n"
                ",Buy,2024-01-01T09:10:00Z\n"
                "c3,Visit,soon\n")


@pytest.mark.parametrize("command", ["discover", "inspect"])
def test_every_row_rejected_writes_the_rejects_and_exits_1(write, command):
    write("log.csv", ALL_REJECTED)
    result = run(command, "log.csv", "--rejects", "r.csv")
    assert result.exit_code == 1
    assert ("Error: log.csv: no events to work with (4 rows read, 4 rejected, 0 filtered); "
            "2 rows: missing journey id (column case_id), first at log.csv:2") in result.stderr
    assert "--rejects FILE.csv lists every row" in result.stderr
    assert csv_rows("r.csv") == [
        ["file", "line", "reason", "content"],
        ["log.csv", "2", "missing journey id (column case_id)",
         "journey id=, stage=Visit, timestamp=2024-01-01T09:00:00Z"],
        ["log.csv", "3", "missing stage (column stage)",
         "journey id=c2, stage=, timestamp=2024-01-01T09:00:00Z"],
        ["log.csv", "4", "missing journey id (column case_id)",
         "journey id=, stage=Buy, timestamp=2024-01-01T09:10:00Z"],
        ["log.csv", "5", "unparsable timestamp (ISO 8601 expected)",
         "journey id=c3, stage=Visit, timestamp=soon"],
    ]
    assert not list(Path().glob("*.svg"))


@pytest.mark.parametrize("first, second, lacking", [
    ("case_id", "user", "logs/b.csv"),
    ("user", "case_id", "logs/a.csv"),
])
def test_glob_over_files_with_different_columns_names_the_file(write, first, second, lacking):
    write("logs/a.csv", f"{first},stage,timestamp\nc1,Visit,2024-01-01T09:00:00Z\n")
    write("logs/b.csv", f"{second},stage,timestamp\nu1,Visit,2024-01-02T09:00:00Z\n")
    result = run("discover", "logs/*.csv", "--no-map")
    assert result.exit_code == 1
    assert (f"Error: {lacking}: has no column 'case_id', which the other files use for the "
            "journey id (case)") in result.stderr
    assert "Its columns: user, stage, timestamp." in result.stderr


def test_wrong_delimiter_hints_at_the_right_one(write):
    write("semi.csv", "case_id;stage;timestamp\nc1;Visit;2024-01-01T09:00:00Z\n")
    result = run("discover", "semi.csv", "--delimiter", ",", "--no-map")
    assert result.exit_code == 1
    assert "Error: semi.csv: no column for the journey id (case) was found." in result.stderr
    assert "pass --delimiter ';'" in result.stderr
    assert run("discover", "semi.csv", "--no-map", "-q").exit_code == 0


def test_csv_header_with_names_differing_in_case(write, read):
    write("dup.csv", "case_id,Stage,stage,timestamp\n"
                     "c1,Visit,v,2024-01-01T09:00:00Z\nc1,Buy,b,2024-01-01T09:10:00Z\n")
    log = read("dup.csv")
    assert log.mapping.column("stage") == "Stage"
    assert log.con.execute("SELECT stage, _line FROM events ORDER BY ts").fetchall() == [
        ("Visit", 2), ("Buy", 3)]
    log = read("dup.csv", columns={"stage": "stage_2"})
    assert log.con.execute("SELECT stage, _line FROM events ORDER BY ts").fetchall() == [
        ("v", 2), ("b", 3)]
    result = run("inspect", "dup.csv", "--case", "nope")
    assert result.exit_code == 2
    assert "Columns: case_id, Stage, stage_2, timestamp" in result.stderr


def test_json_keys_clashing_with_line_and_in_case(write, read):
    write("dup.json", '[{"case_id": "c1", "_line": "x", "Stage": "Visit", "stage": "v", '
                      '"timestamp": "2024-01-01T09:00:00Z"},\n'
                      '{"case_id": "c1", "_line": "y", "Stage": "Buy", "stage": "b", '
                      '"timestamp": "2024-01-01T09:10:00Z"}]\n')
    log = read("dup.json")
    assert log.mapping.column("stage") == "Stage"
    # _line stays the line number the reader counted, not the record's own "_line".
    assert log.con.execute("SELECT stage, _line FROM events ORDER BY ts").fetchall() == [
        ("Visit", 1), ("Buy", 2)]
    log = read("dup.json", columns={"stage": "stage_2", "segment": "_line_2"})
    assert log.con.execute("SELECT stage, segment FROM events ORDER BY ts").fetchall() == [
        ("v", "x"), ("b", "y")]
    result = run("inspect", "dup.json")
    assert result.exit_code == 0, result.output
    result = run("inspect", "dup.json", "--case", "nope")
    assert "Columns: case_id, _line_2, Stage, stage_2, timestamp" in result.stderr


def test_a_csv_column_named_like_the_row_print_is_data(write, read):
    """One CSV file is read in place with each row's print in ``_row``: a column of that
    name is the file's own, renamed, and two rows differing only there are no duplicates."""
    write("rows.csv", "case_id,_row,stage,timestamp\n"
                      "c1,1,Visit,2024-01-01T09:00:00Z\n"
                      "c1,2,Visit,2024-01-01T09:00:00Z\n"
                      "c1,2,Visit,2024-01-01T09:00:00Z\n"
                      "c1,3,Buy,2024-01-01T09:10:00Z\n")
    log = read("rows.csv", columns={"segment": "_row_2"})
    assert log.con.execute("SELECT segment, _line FROM events ORDER BY ts, _line").fetchall() \
        == [("1", 2), ("2", 3), ("2", 4), ("3", 5)]
    duplicates = [w for w in log.warnings if w.code == "duplicates"]
    assert [(w.count, w.examples) for w in duplicates] == [(1, (f"{log.files[0].path}:3",))]


def test_unknown_timestamp_directive_exits_2(shop):
    result = run("discover", str(shop), "--timestamp-format", "%Q", "--no-map")
    assert result.exit_code == 2
    assert "Error: --timestamp-format: '%Q':" in result.stderr
    assert "Use strftime codes" in result.stderr


@pytest.mark.parametrize("fmt", ["{%Y}", "%Y'", "%Y{c}"])
def test_timestamp_format_matching_nothing_rejects_every_row(shop, fmt):
    result = run("discover", shop.name, "--timestamp-format", fmt, "--rejects", "r.csv",
                 "--no-map")
    assert result.exit_code == 1
    assert (f"Error: shop.csv: no events to work with (10 rows read, 10 rejected, 0 filtered); "
            f"10 rows: unparsable timestamp (format {fmt} expected), first at shop.csv:2"
            in result.stderr)
    with open("r.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 11
    assert {row[2] for row in rows[1:]} == {f"unparsable timestamp (format {fmt} expected)"}


@pytest.mark.parametrize("fmt, value", [
    ("{%Y-%m-%d}", "{2024-01-0N}"),
    ("%Y-%m-%d{c}", "2024-01-0N{c}"),
    ("%Y-%m-%d'", "2024-01-0N'"),
])
def test_timestamp_format_with_literal_text(write, read, fmt, value):
    # The format's literal text, braces and quotes included, is matched as written.
    write("lit.csv", "case_id,stage,timestamp\n"
          + "".join(f"c,S{n},{value.replace('N', str(n))}\n" for n in (1, 2)))
    log = read("lit.csv", timestamp_format=fmt)
    assert (log.events, log.rejected) == (2, 0)
    assert log.first_timestamp.isoformat() == "2024-01-01T00:00:00+00:00"


# Outputs --------------------------------------------------------------------------------------

@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_written_files_follow_the_umask(write, umask_027):
    write("log.csv", ALL_REJECTED + "c9,Visit,2024-01-01T09:00:00Z\n")
    result = run("discover", "log.csv", "-o", "m.dot", "-o", "m.svg", "--json", "r.json",
                 "--rejects", "rejects.csv", "-q")
    assert result.exit_code == 0, result.output
    modes = {name: Path(name).stat().st_mode & 0o777
             for name in ("m.dot", "m.svg", "r.json", "rejects.csv")}
    assert modes == dict.fromkeys(modes, 0o640)


def test_atomic_writer_follows_the_umask(tmp_path, umask_027):
    with atomic_writer(tmp_path / "out.txt") as handle:
        handle.write("text")
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_interrupted_write_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "map.dot"
    target.write_text("old map")
    with pytest.raises(type(error)), atomic_writer(target) as handle:
        handle.write("half a new map")
        handle.flush()
        raise error
    assert target.read_text() == "old map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.dot"]


def test_failing_rename_is_a_data_error_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "map.dot"
    target.write_text("old map")

    def refuse(*args):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(cjm.safety.os, "replace", refuse)
    with pytest.raises(DataError, match=r"cannot write .*map\.dot: Invalid cross-device link"), \
            atomic_writer(target) as handle:
        handle.write("new map")
    monkeypatch.undo()
    assert target.read_text() == "old map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.dot"]


class _FailingHandle:
    """Writes half of what it is given, then fails as a full disk or a Ctrl-C would."""

    def __init__(self, handle, error: BaseException) -> None:
        self.handle, self.error = handle, error

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise self.error


def _failing_writer(error: BaseException):
    real = cjm.safety.atomic_writer

    @contextlib.contextmanager
    def writer(path, mode="w", newline=None):
        with real(path, mode, newline) as handle:
            yield _FailingHandle(handle, error)

    return writer


@pytest.mark.parametrize("error, code, message", [
    (KeyboardInterrupt(), 130, "Error: interrupted"),
    (OSError(errno.ENOSPC, "No space left on device"), 1,
     "Error: cannot write m.dot: no space left on device\nFree space there"),
])
def test_interrupted_discover_keeps_the_old_outputs(shop, tmp_path, monkeypatch, error, code,
                                                    message):
    Path("m.dot").write_text("old map")
    Path("out.json").write_text("{}")
    monkeypatch.setattr(cjm.safety, "atomic_writer", _failing_writer(error))
    result = run("discover", str(shop), "-o", "m.dot", "--json", "out.json", "-q")
    assert result.exit_code == code
    assert message in result.stderr
    assert Path("m.dot").read_text() == "old map"
    assert Path("out.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dot", "out.json", "shop.csv"]


@pytest.mark.parametrize(("given", "stem"), [
    ("logs/shop.csv.gz", "shop"), ("shop.parquet", "shop"), ("events/", "events"),
    ("s3a://bucket/logs/events.parquet", "events"), ("hdfs://nn/logs/*.parquet", "logs"),
    ("analytics.events", "analytics.events"), ("sqlite:////data/shop.db", "shop"),
    ("adbc:sqlite:shop.db", "shop"), ("postgresql://me:pw@db/shop", "journey"),
    ("adbc:snowflake://me@acct/db", "journey"),
])
def test_default_outputs_are_named_after_the_first_input(given, stem):
    from cjm.sources import output_stem

    assert output_stem([given]) == stem
