"""Spark decides time zones, Parquet types and timestamp formats without DuckDB, as DuckDB
decides them; what Spark does not read is refused with the ``cjm convert`` line that makes it
readable."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zoneinfo
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import CLI_ENV

ROOT = Path(__file__).resolve().parents[1]
# DuckDB's ICU takes these beside the tz database's names; cjm refuses them on Spark (legacy
# aliases: IST is India's to ICU, Ireland's or Israel's to others; BST is Bangladesh's).
ICU_ONLY = {"ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT",
            "EAT", "ECT", "IET", "IST", "JST", "MIT", "NET", "NST", "PLT", "PNT", "PRT", "PST",
            "SST", "VST", "Canada/East-Saskatchewan", "US/Pacific-New"}


def _duckdb_zone(con, name: str) -> str | None:
    try:
        con.execute("SET TimeZone = " + "'" + name.replace("'", "''") + "'")
        return con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    except duckdb.Error:
        return None


def test_time_zone_names_as_duckdb_takes_them() -> None:
    """Every name of the tz database, in any case, is a name DuckDB takes, and cjm gives
    Spark its own spelling; what only one of them knows is refused, with DuckDB's message."""
    from cjm.errors import UsageError
    from cjm.timestamps import zone_name

    names = sorted(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})
    con = duckdb.connect()
    assert "Europe/Amsterdam" in names and "UTC" in names
    for name in names:
        for spelling in (name, name.lower(), name.upper()):
            assert zone_name(spelling) == name and _duckdb_zone(con, spelling), spelling
    icu = [r[0] for r in duckdb.sql("SELECT name FROM pg_timezone_names()").fetchall()]
    refused = [n for n in icu if n not in names] + ["localtime", "posixrules", "Factory",
                                                    "GMT+1", "UTC+1", "Mars/Olympus", " UTC"]
    assert {n for n in refused if not n.startswith("SystemV/")} - {
        "localtime", "posixrules", "Factory", "GMT+1", "UTC+1", "Mars/Olympus", " UTC"} \
        == ICU_ONLY
    for name in refused:
        with pytest.raises(UsageError, match=re.escape(f"unknown time zone {name!r}")):
            zone_name(name)


def test_parquet_column_types_as_duckdb_names_them(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cjm.engine.spark.read import parquet_types

    columns = {f"ts_{unit}_{tz}": pa.array([datetime(2024, 1, 1)], pa.timestamp(unit, tz=tz))
               for unit in ("s", "ms", "us", "ns") for tz in (None, "UTC", "Europe/Amsterdam")}
    columns["day"] = pa.array([date(2024, 1, 1)], pa.date32())
    columns["text"] = pa.array(["x"])
    table = pa.table(columns)
    for i, options in enumerate([{}, {"use_deprecated_int96_timestamps": True},
                                 {"coerce_timestamps": "ms", "allow_truncated_timestamps": True},
                                 {"version": "1.0"}]):
        path = tmp_path / f"t{i}.parquet"
        pq.write_table(table, path, **options)
        duck = dict(duckdb.sql(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * "
                               f"FROM '{path}')").fetchall())
        assert parquet_types(path) == {k: v for k, v in duck.items() if k != "text"}, options


COLUMNS = {
    "iso": ["2024-01-05 10:00:00", "2024-01-06T11:00:00Z", "later"],
    "offsets and a word": ["2024-01-06T11:00:00Z", "tomorrow", "2024-01-07 11:00:00+01:00"],
    # Values the two engines' parsers take differently: the note is decided on the text.
    "signs and long years": ["2024-01-06T11:00:00Z", "-epoch", "12024-02-31",
                             "2024-01-07T11:00:00Z"],
    "epoch": ["1700000000", "1700000100.5"],
    "epoch ms": ["1700000000123", "1700000000456"],
    "day first": ["05/03/2024 10:00", "13/03/2024 10:00", "01/02/2024"],
    "month first": ["03/05/2024 10:00", "03/13/2024 10:00:30"],
    "dots": ["13.03.2024 10:00", "14.03.2024"],
    "ambiguous": ["01/02/2024", "03/04/2024"],
    "mixed": ["13/01/2024", "01/13/2024"],
    "named months": ["5 Mar 2024 10:00:00", "13 Mar 2024 11:00:00"],
    "long names": ["March 5, 2024", "March 13, 2024"],
    "mail": ["Tue, 05 Mar 2024 10:00:00 +0100", "Wed, 06 Mar 2024 10:00:00 +0100"],
    "compact": ["20240305T100000Z", "20240306T100000Z"],
    "12-hour": ["2024-03-05 10:00:00 PM", "2024-03-05 11:00:00 AM"],
    "nothing": ["soon", "later"],
    "empty": [],
}


@pytest.mark.parametrize("dayfirst", [None, True, False])
@pytest.mark.parametrize("name", list(COLUMNS))
def test_the_format_is_decided_as_duckdb_decides_it(name: str, dayfirst: bool | None) -> None:
    """sample_format (no DuckDB) and detect_format (DuckDB) reach the same format, or the
    same error, on the same values."""
    from cjm.errors import DataError
    from cjm.timestamps import _ISO_SQL, _parsed, detect_format, sample_format

    values = COLUMNS[name]
    con = duckdb.connect()
    con.execute("CREATE TABLE raw (t VARCHAR)")
    for value in values:
        con.execute("INSERT INTO raw VALUES (?)", [value])

    def decide(how):
        try:
            found = how()
        except DataError as error:
            return str(error), error.hint
        return found.description, found.naive, found.source

    duck = decide(lambda: detect_format(con, "raw", "t", "VARCHAR", given_format=None,
                                        dayfirst=dayfirst, where="log.csv"))
    hits = _parsed(con, values, _ISO_SQL) if values else 0
    assert decide(lambda: sample_format(values, hits, dayfirst=dayfirst, column="t",
                                        where="log.csv")) == duck


def test_every_date_duckdb_reads_and_spark_does_not_is_doubted() -> None:
    """What DuckDB's ISO 8601 reading takes beyond Spark's pattern (years of any length, other
    separators, a zone's name after the time, …) is always taken for doubtful, so that Spark
    stops rather than reject what DuckDB keeps."""
    from cjm.engine.spark.read import _DATE_LIKE, _ISO
    from cjm.timestamps import _ISO_SQL

    dates = ["2024-01-05", "24-01-05", "224-1-5", "02024-01-05", "-2024-01-05", "+2024-01-05",
             "2024/01/05", "2024.01.05", "2024 01 05", "2024-01-05 (BC)", "2024-01",
             "12024-01-05", "123456-01-05", "13/01/24", "13/01/2024", "5.3.2024"]
    times = ["", " 10:00", "T10:00", " 10:00:00", "T10:00:00.5", " 10", " 10:00:00.123456789",
             "  10:00", "T 10:00", "t10:00", " 1:2", " 10:00:00.", " 10.00.00"]
    zones = ["", "Z", "z", "+01", "+0100", "+01:00", "-01:00:30", " UTC", " GMT",
             " Europe/Amsterdam", " CET", " +01:00", "+1", " PST", "+01:00:00", "+99"]
    values = sorted({(d + t + z).strip() for d in dates for t in times for z in zones})
    read = duckdb.sql(f"SELECT v FROM (SELECT unnest($v) AS v) WHERE {_ISO_SQL.format(c='v')} "
                      "IS NOT NULL", params={"v": values}).fetchall()
    beyond = [v for (v,) in read if not _ISO.match(v)]
    assert len(beyond) > 500 and "24-01-05" in beyond
    assert [v for v in beyond if not _DATE_LIKE.match(v)] == []
    assert not _DATE_LIKE.match("13/01/2024")  # day first, DuckDB's ISO reading refuses it


# --- Spark runs from here on ---------------------------------------------------------------

def _spark_available() -> None:
    pytest.importorskip("pyspark", reason="the Spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: PySpark 4 needs Java 17 or later")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cjm", *args], capture_output=True, text=True,
                          env={**os.environ, **CLI_ENV}, cwd=cwd, timeout=600, check=False)


def test_a_spark_run_loads_no_duckdb(tmp_path: Path) -> None:
    """A whole run in a fresh process: a CSV with naive timestamps in a time zone, and a
    Parquet file with native ones; DuckDB's library is never imported."""
    _spark_available()
    csv = tmp_path / "log.csv"
    csv.write_text("case,stage,timestamp\na,Visit,2024-03-05 10:00:00\n"
                   "a,Buy,2024-03-05T11:00:00+01:00\nb,Visit,2024-10-27 02:30:00\n",
                   encoding="utf-8")
    parquet = tmp_path / "log.parquet"
    duckdb.sql(f"COPY (SELECT \"case\", stage, timestamp::TIMESTAMPTZ AS timestamp FROM "
               f"read_csv('{csv}', all_varchar=true)) TO '{parquet}'")
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cjm.cli import app\n"
        "for log in sys.argv[1:]:\n"
        "    r = CliRunner().invoke(app, ['discover', log, '--engine', 'spark', '--timezone',\n"
        "                                 'europe/amsterdam', '--no-map', '--json', '-'])\n"
        "    assert r.exit_code == 0, r.output\n"
        "print('duckdb' in sys.modules, sorted(m for m in sys.modules if 'duckdb' in m))\n")
    result = subprocess.run([sys.executable, "-c", script, str(csv), str(parquet)],
                            capture_output=True, text=True, env={**os.environ, **CLI_ENV},
                            cwd=tmp_path, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "False []"


@pytest.fixture(scope="module")
def spark():
    _spark_available()
    from conftest import local_spark

    session = local_spark("cjm-timestamps")
    yield session
    session.stop()


def _cli(*args: str):
    from typer.testing import CliRunner

    from cjm.cli import app

    # Wide enough that no line of a message is wrapped.
    result = CliRunner().invoke(app, list(args), env={**CLI_ENV, "COLUMNS": "1000"})
    assert "Traceback" not in result.output
    return result


def test_a_refused_format_comes_with_the_convert_line_that_makes_it_readable(
        spark, tmp_path: Path, monkeypatch) -> None:
    """Day-first dates in a time zone: Spark refuses them and prints the cjm convert line;
    run as printed, it writes a file that Spark reads into DuckDB's figures for the original
    (byte for byte but the reading report, which names another file), and the two engines
    agree on it byte for byte."""
    import csv

    monkeypatch.chdir(tmp_path)
    generated = tmp_path / "shop.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), "--journeys",
                    "300", "--seed", "5", "-o", str(generated)], check=True,
                   capture_output=True)
    with generated.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index("timestamp")
    zone = zoneinfo.ZoneInfo("Europe/Amsterdam")
    for i, row in enumerate(rows[1:]):
        moment = datetime.fromisoformat(row[at]).astimezone(zone)
        row[at] = "soon" if i % 97 == 5 else moment.strftime("%d/%m/%Y %H:%M:%S")
    dates = tmp_path / "visits.csv"
    with dates.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    reading = ("--timezone", "Europe/Amsterdam", "--case", "journey_id")
    refused = _cli("discover", "visits.csv", "--engine", "spark", "--no-map", *reading)
    assert refused.exit_code == 1, refused.output
    assert "written as day/month/year" in refused.stderr
    line = refused.stderr[refused.stderr.index("cjm convert"):].split("; or run")[0]
    assert line == ("cjm convert visits.csv -o visits.parquet --parse-timestamps --case "
                    "journey_id --timezone Europe/Amsterdam")
    converted = _run(*shlex.split(line)[1:], cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    duck = _cli("discover", "visits.csv", "--json", "-", "--engine", "duckdb", *reading)
    assert duck.exit_code == 0, duck.output
    ours = _cli("discover", "visits.parquet", "--json", "-", "--engine", "spark",
                "--case", "journey_id")
    assert ours.exit_code == 0, ours.output
    original, read = json.loads(duck.stdout), json.loads(ours.stdout)
    assert original["reading"]["rejected"] == read["reading"]["rejected"] > 0
    assert json.dumps({**original, "reading": None}) == json.dumps({**read, "reading": None})
    again = _cli("discover", "visits.parquet", "--json", "-", "--engine", "duckdb",
                 "--case", "journey_id")
    assert (again.stdout, again.stderr) == (ours.stdout, ours.stderr)


def test_dates_duckdb_may_read_otherwise_stop_the_run(spark, tmp_path: Path,
                                                      monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.csv").write_text("case,stage,timestamp\na,Visit,24-01-05 10:00:00\n"
                                        "a,Buy,24-01-06 10:00:00\n", encoding="utf-8")
    result = _cli("discover", "short.csv", "--engine", "spark", "--no-map")
    assert result.exit_code == 1, result.output
    assert "Spark and DuckDB may read the timestamp '24-01-05 10:00:00'" in result.stderr
    assert "cjm convert short.csv -o short.parquet --parse-timestamps" in result.stderr
