"""Databases read by Spark through its JDBC source: the same bytes as DuckDB reading the same
database, and the same journeys and figures as the CSV of the same rows.

SQLite files and a real PostgreSQL server (tests/postgres_server.py), read by the JDBC drivers
Debian packages (libpostgresql-jdbc-java, libxerial-sqlite-jdbc-java), which cjm puts on
Spark's classpath.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cjm.sources import DatabaseSource
from tests.conftest import local_spark, run_cli
from tests.test_databases import (
    COMMANDS,
    REJECTS,
    ROWS,
    _csv,
    _duckdb,
    _figures,
    _postgres,
    _sqlite,
)

pytest.importorskip("pyspark", reason='the Spark extra is not installed (pip install -e ".[dev]")')
if shutil.which("java") is None:
    pytest.skip("no Java runtime: PySpark 4 needs Java 17 or later", allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    from cjm.engine.spark.session import jdbc_jars

    if len(jdbc_jars()) < 2:
        pytest.skip("the JDBC drivers are not installed "
                    "(apt-get install libpostgresql-jdbc-java libxerial-sqlite-jdbc-java)")
    session = local_spark("cjm-database-tests")
    yield session
    session.stop()


def _on_both(*args: str, exit_code: int = 0) -> str:
    """``cjm ARGS`` with DuckDB and with Spark: the same exit code, stdout and stderr."""
    duck = run_cli(*args, "--engine", "duckdb")
    assert duck.exit_code == exit_code, duck.output
    spark = run_cli(*args, "--engine", "spark")
    assert (spark.exit_code, spark.stdout, spark.stderr) == (exit_code, duck.stdout,
                                                             duck.stderr)
    return duck.stdout


def _sources(folder: Path, server, table: str) -> dict[str, list[str]]:
    return {"sqlite": [_sqlite(folder), "--table", "events"],
            "postgresql": [_postgres(server, table), "--table", table]}


@pytest.mark.parametrize("command", [*COMMANDS, "inspect"])
def test_spark_reads_a_database_as_duckdb_does_and_as_the_csv(spark, command, tmp_path,
                                                              postgres):
    name, *options = COMMANDS.get(command, ["inspect"])
    csv_json = run_cli(name, str(_csv(tmp_path)), *options, "--json", "-")
    assert csv_json.exit_code == 0, csv_json.output
    for kind, source in _sources(tmp_path, postgres, f"spark{command}").items():
        got = _on_both(name, *source, *options, "--json", "-")
        assert _figures(got) == _figures(csv_json.stdout), kind


@pytest.mark.parametrize(("kind", "named"), [("timestamptz", "TIMESTAMP WITH TIME ZONE"),
                                             ("timestamp", "TIMESTAMP")])
def test_real_timestamps(spark, tmp_path, postgres, kind, named):
    url = _postgres(postgres, f"spark{kind}", types=f'ALTER TABLE spark{kind} ALTER COLUMN '
                    f'"timestamp" TYPE {kind} USING "timestamp"::{kind}')
    typed = json.loads(_on_both("discover", url, "--table", f"spark{kind}", "--no-map",
                                "--json", "-"))
    assert typed["reading"]["timestamps"] == f"native {named}"


def test_a_query(spark, tmp_path, postgres):
    url = _postgres(postgres, "sparkquery")
    web = json.loads(_on_both("discover", url, "--query", "SELECT * FROM sparkquery WHERE "
                              "channel = 'web'", "--no-map", "--json", "-"))
    assert 0 < web["reading"]["rows"] < 3_524


def test_rejected_rows_are_named_alike(spark, tmp_path, postgres):
    adbc = f"adbc:sqlite:{DatabaseSource(_sqlite(tmp_path, REJECTS, 'a.db')).path}"
    for source in ([_sqlite(tmp_path, REJECTS), "--table", "events"],
                   [_postgres(postgres, "sparkrejects", REJECTS), "--table", "sparkrejects"],
                   [_duckdb(tmp_path, REJECTS), "--table", "events"],
                   [adbc, "--table", "events"]):
        written = []
        for engine in ("duckdb", "spark"):
            result = run_cli("discover", *source, "--no-map", "--rejects", f"{engine}.csv",
                             "--json", f"{engine}.json", "--engine", engine)
            assert result.exit_code == 0, result.output
            assert ("line numbers: positions in the rows ordered by journey, stage, "
                    "timestamp (NULLs last)") in result.output
            written.append((Path(f"{engine}.csv").read_bytes(),
                            Path(f"{engine}.json").read_bytes()))
        assert written[0] == written[1]
        with open("spark.csv", newline="", encoding="utf-8") as handle:
            assert [r["line"] for r in csv.DictReader(handle)] == ["1", "3", "6"]


def test_only_the_mapped_columns_are_read(spark, tmp_path, postgres):
    """A column no role takes is never asked of the database: reading this view's ``boom``
    would fail (a division by zero on every row)."""
    url = _postgres(postgres, "sparkwide")
    with_boom = ("CREATE OR REPLACE VIEW sparkboom AS SELECT *, "
                 "(1 / (length(stage) - length(stage)))::text AS boom FROM sparkwide")
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(url) as con, con.cursor() as cursor:
        cursor.execute(with_boom)
        con.commit()
    _on_both("discover", url, "--table", "sparkboom", "--no-map", "--json", "-")
    everything = run_cli("discover", url, "--query", "SELECT boom AS stage, journey_id, "
                         "timestamp FROM sparkboom", "--no-map", "--engine", "spark")
    assert everything.exit_code == 1 and "division by zero" in everything.output


def _arrow_sources(folder: Path) -> dict[str, list[str]]:
    """The sources Spark's executors read as Arrow: a DuckDB file, and an adbc: URL."""
    return {"duckdb": [_duckdb(folder), "--table", "events"],
            "adbc": [f"adbc:sqlite:{DatabaseSource(_sqlite(folder)).path}", "--table", "events"]}


@pytest.mark.parametrize("command", [*COMMANDS, "inspect"])
def test_spark_reads_a_duckdb_file_and_an_adbc_url_as_duckdb_does(spark, command, tmp_path):
    name, *options = COMMANDS.get(command, ["inspect"])
    csv_json = run_cli(name, str(_csv(tmp_path)), *options, "--json", "-")
    assert csv_json.exit_code == 0, csv_json.output
    for kind, source in _arrow_sources(tmp_path).items():
        got = _on_both(name, *source, *options, "--json", "-")
        assert _figures(got) == _figures(csv_json.stdout), kind


def test_an_adbc_postgresql_url_with_its_password(spark, tmp_path, postgres):
    url = "adbc:" + _postgres(postgres, "sparkadbc")
    _on_both("discover", url, "--table", "sparkadbc", "--no-map", "--json", "-")


def test_real_timestamps_of_a_duckdb_file(spark, tmp_path):
    url = _duckdb(tmp_path, ROWS.replace("SELECT *", "SELECT * REPLACE "
                                         "(timestamp::TIMESTAMP AS timestamp)", 1))
    typed = json.loads(_on_both("discover", url, "--table", "events", "--no-map", "--json",
                                "-"))
    assert typed["reading"]["timestamps"] == "native TIMESTAMP"


def test_the_executors_errors_are_duckdbs(spark, tmp_path):
    """A missing table, a bad query and a driver the executors lack: the DuckDB engine's
    line and exit code (the driver is never loaded where cjm runs, only on the executors)."""
    sources = _arrow_sources(tmp_path)
    for url, *_ in sources.values():
        _on_both("discover", url, "--table", "no_such_table", "--no-map", exit_code=1)
        _on_both("discover", url, "--query", "SELEKT nonsense", "--no-map", exit_code=1)
    path = DatabaseSource(sources["duckdb"][0]).path
    missing = run_cli("discover", f"duckdb:///{path}.gone", "--table", "events", "--engine",
                      "spark")
    assert missing.exit_code == 2 and "no such database file" in missing.output
    _on_both("discover", f"adbc:warehouse:{path}", "--table", "events", "--no-map",
             exit_code=2)
    lacking = run_cli("discover", f"adbc:warehouse:{path}", "--table", "events", "--engine",
                      "spark")
    assert "the ADBC driver warehouse is not installed" in lacking.output


@pytest.mark.parametrize("with_cjm", [True, False])
def test_executors_that_cannot_import_a_module_say_what_to_install(tmp_path, with_cjm):
    """Executors whose Python lacks pyarrow, or cjm itself (a bare virtual environment): one
    line, exit 2."""
    import os
    import subprocess
    import sys
    import venv

    from tests.conftest import CLI_ENV

    venv.create(tmp_path / "bare", with_pip=False)
    # With cjm: its source on the bare Python's path (an installed cjm without its
    # dependencies), pyarrow not; without: neither.
    root = str(Path(__file__).parents[1]) if with_cjm else ""
    result = subprocess.run(
        [sys.executable, "-m", "cjm", "discover", _duckdb(tmp_path), "--table", "events",
         "--no-map", "--engine", "spark"], capture_output=True, text=True, timeout=600,
        check=False, env={**os.environ, **CLI_ENV, "PYTHONPATH": root,
                          "PYSPARK_PYTHON": str(tmp_path / "bare" / "bin" / "python")})
    assert result.returncode == 2, result.stderr[-2000:]
    missing = "pyarrow" if with_cjm else "cjm"
    assert result.stderr.splitlines()[0].endswith(f"Spark's executors cannot import {missing}")
    assert len(result.stderr.splitlines()) == 2 and "cjm[db]" in result.stderr


def test_a_file_name_with_url_characters_is_read(spark, tmp_path):
    from urllib.parse import quote

    _sqlite(tmp_path, name="shop #1?.db")
    url = f"sqlite:///{quote(str(tmp_path / 'shop #1?.db'))}"
    _on_both("discover", url, "--table", "events", "--no-map", "--json", "-")


def test_a_table_cjm_convert_wrote_keeps_its_lines(spark, tmp_path):
    url = f"duckdb:///{tmp_path / 'converted.duckdb'}"
    converted = run_cli("convert", str(_csv(tmp_path, REJECTS)), "-o", url, "--table", "rows")
    assert converted.exit_code == 0, converted.output
    for engine in ("duckdb", "spark"):
        result = run_cli("discover", url, "--table", "rows", "--no-map", "--rejects",
                         f"{engine}.csv", "--engine", engine)
        assert result.exit_code == 0, result.output
        assert "lines of the original file (cjm_line)" in result.output
    assert Path("duckdb.csv").read_bytes() == Path("spark.csv").read_bytes()


def test_since_until_are_sent_to_the_database_as_duckdb_sends_them(spark, tmp_path, postgres):
    """--since/--until as a WHERE on a real timestamp column, through JDBC (with and without
    a zone) and as Arrow (a DuckDB file): the bytes of the DuckDB engine, the rows left in
    the database counted alike; a window without journeys gives the same message."""
    from tests.test_databases import EMPTY, REFUSED, TYPED, WINDOW_ROWS

    typed = WINDOW_ROWS.format(unparsable="")
    naive = ('ALTER TABLE sparknaive ALTER COLUMN "timestamp" TYPE timestamp USING '
             "\"timestamp\"::timestamptz AT TIME ZONE 'UTC'")
    sources = [
        [_postgres(postgres, "sparkzoned", typed, TYPED.format("sparkzoned")), "--table",
         "sparkzoned"],
        [_postgres(postgres, "sparknaive", typed, naive), "--table", "sparknaive"],
        [_duckdb(tmp_path, f"SELECT * REPLACE (CAST(timestamp AS TIMESTAMPTZ) AS timestamp) "
                 f"FROM ({typed})"), "--table", "events"],
    ]
    window = ["--since", "2024-02-01", "--until", "2024-04-01", "--timezone",
              "Europe/Amsterdam", "--journey-gap", "1d", "--still-active", "30d",
              "--drop-duplicates"]
    for source in sources:
        got = json.loads(_on_both("discover", *source, "--no-map", *window, "--json", "-"))
        assert got["reading"]["files"][0]["left_in_database"] > 0, source
        assert not any("--drop-duplicates" in n for n in got["reading"]["notes"]), source
    (tmp_path / "empty").mkdir()
    _on_both("discover", _duckdb(tmp_path / "empty", EMPTY), "--table", "events", "--no-map",
             "--since", "2024-02-01", "--until", "2024-04-01", exit_code=2)
    (tmp_path / "refused").mkdir()  # every row sent is refused: the table is read whole
    _on_both("discover", _duckdb(tmp_path / "refused", REFUSED), "--table", "events",
             "--no-map", "--since", "2024-06-01", exit_code=2)
