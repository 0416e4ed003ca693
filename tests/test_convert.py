"""cjm convert: the log as Parquet, the same events and the same rejects at the same lines."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.conftest import csv_rows, run_cli

EXAMPLE = Path(__file__).parents[1] / "examples" / "shop.csv"


def _figures(args: list[str]) -> dict:
    result = run_cli("discover", *args, "--no-map", "--json", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    data.pop("reading")
    return data


def test_parquet_gives_the_same_journeys_as_the_csv(tmp_path):
    result = run_cli("convert", str(EXAMPLE), "-o", "shop.parquet")
    assert result.exit_code == 0, result.output
    assert "Wrote shop.parquet: 13,595 rows" in result.output
    assert _figures([str(EXAMPLE)]) == _figures(["shop.parquet"])
    rows = duckdb.sql("SELECT cjm_line, journey_id, stage FROM 'shop.parquet'").fetchall()
    assert [r[0] for r in rows] == list(range(2, 13597))  # file order, original lines
    assert rows[0][1:] == ("J0000001", "Visit Site")


def test_rejects_keep_their_original_lines(write, tmp_path):
    log = write("log.csv", "journey,stage,timestamp\n"
                           "a,Start,2024-01-01T10:00:00Z\n"
                           "a,Middle,yesterday\n"
                           "\n"
                           "a,End,2024-01-01T10:05:00Z\n"
                           ",End,2024-01-01T10:06:00Z\n")
    assert run_cli("convert", str(log), "-o", "log.parquet").exit_code == 0
    for source in (log, tmp_path / "log.parquet"):
        result = run_cli("inspect", str(source), "--rejects", "rejects.csv")
        assert result.exit_code == 0, result.output
        rows = csv_rows(tmp_path / "rejects.csv")[1:]
        assert [(r[1], r[2].split(" (")[0]) for r in rows] == [
            ("3", "unparsable timestamp"), ("6", "missing journey id")], source


def test_convert_refuses_other_formats_and_its_own_input(write):
    assert run_cli("convert", str(EXAMPLE), "-o", "shop.csv").exit_code == 2
    log = write("log.parquet", b"")
    result = run_cli("convert", str(EXAMPLE), str(log), "-o", str(log))
    assert result.exit_code != 0


def test_convert_refuses_what_it_cannot_keep(write):
    assert "apply to the commands" in run_cli(
        "convert", str(EXAMPLE), "-o", "p.parquet", "--pseudonymize", "--salt",
        "a-secret-key-1").output
    assert "takes one file" in run_cli("convert", str(EXAMPLE), str(EXAMPLE), "-o",
                                       "two.parquet").output
    taken = write("taken.csv", "journey,stage,timestamp,cjm_line\na,S,2024-01-01T00:00:00Z,7\n")
    result = run_cli("convert", str(taken), "-o", "t.parquet")
    assert result.exit_code == 2 and "column named 'cjm_line'" in result.output


def test_quiet_prints_nothing_but_writes_the_file(tmp_path):
    result = run_cli("convert", str(EXAMPLE), "-o", "quiet.parquet", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and (tmp_path / "quiet.parquet").is_file()
    assert run_cli("convert", str(EXAMPLE), "-o", "loud.parquet").stdout.startswith("Wrote")


def test_parsed_timestamps_give_the_figures_of_the_original(write, tmp_path):
    """--parse-timestamps: day-first dates without an offset, read in a time zone, written as
    instants; the file gives the original's figures with no reading option, and a value that
    does not parse stays rejected at its line."""
    log = write("log.csv", "journey,stage,timestamp\n"
                           "a,Start,13/03/2024 10:00:00\n"
                           "a,Middle,soon\n"
                           "a,End,31/03/2024 02:30:00\n"
                           "b,Start,27/10/2024 02:30:00\n"
                           "b,End,28/10/2024 10:00:00.5\n")
    zone = ["--timezone", "Europe/Amsterdam"]
    result = run_cli("convert", str(log), "-o", "log.parquet", "--parse-timestamps", *zone)
    assert result.exit_code == 0, result.output
    assert "every column as text but 'timestamp' (parsed as day/month/year)" in result.stdout
    kind = duckdb.sql("SELECT column_type FROM (DESCRIBE 'log.parquet') "
                      "WHERE column_name = 'timestamp'").fetchall()[0][0]
    assert kind == "TIMESTAMP WITH TIME ZONE"
    assert _figures([str(log), *zone]) == _figures(["log.parquet"])
    for source in (str(log), "log.parquet"):
        assert run_cli("inspect", source, *zone, "--rejects", "rejects.csv").exit_code == 0
        assert [r[1] for r in csv_rows(tmp_path / "rejects.csv")[1:]] == ["3"]


def test_a_file_named_like_a_pattern_converts_as_that_file(tmp_path):
    """shop[1].csv is one file, not a glob, even with shop1.csv beside it; a real glob is
    still refused."""
    named = tmp_path / "shop[1].csv"
    named.write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "shop1.csv").write_text("journey_id,stage,timestamp\nz,S,2024-01-01T00:00:00Z\n")
    result = run_cli("convert", str(named), "-o", "p[1].parquet")
    assert result.exit_code == 0, result.output
    assert "Wrote p[1].parquet: 13,595 rows" in result.output
    assert _figures([str(EXAMPLE)]) == _figures(["p[1].parquet"])
    assert "takes one file" in run_cli("convert", str(tmp_path / "shop[0-9].csv"), "-o",
                                       "glob.parquet").output
