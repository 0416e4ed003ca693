"""The Spark session cjm starts itself, in a process of its own (the other Spark tests share
one session that the tests start): the JVM's output stays out of the user's terminal, and
the shuffles are sized to the input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cjm.engine.spark.session import PARTITION_BYTES, SPARK_LOG, shuffle_partitions
from tests.conftest import run_cli
from tests.test_spark import to_parquet

pytest.importorskip("pyspark", reason='the Spark extra is not installed (pip install -e ".[dev]")')
if shutil.which("java") is None:
    pytest.skip("no Java runtime: PySpark 4 needs Java 17 or later", allow_module_level=True)

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "shop.csv"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)


def test_the_jvm_prints_nothing_to_the_terminal_and_the_json_is_duckdbs(tmp_path):
    shop = to_parquet(EXAMPLE, tmp_path / "shop.parquet")
    started = _run("-m", "cjm", "discover", str(shop), "--engine", "spark", "--json", "-",
                   "--spark-master", "local[1]")
    assert started.returncode == 0, started.stderr
    duckdb = run_cli("discover", str(shop), "--json", "-")
    # Only cjm's own lines, as DuckDB gives them (warnings about the log).
    assert (started.stdout, started.stderr) == (duckdb.stdout, duckdb.stderr)
    assert "Warning: 406 journeys have a single event" in started.stderr
    assert "log4j" in SPARK_LOG.read_text()  # what the JVM said went to Spark's own log


def test_shuffles_are_sized_to_the_input_unless_spark_is_configured(tmp_path):
    assert shuffle_partitions(1_000, 4) == 4
    assert shuffle_partitions(10 * PARTITION_BYTES + 1, 4) == 11
    script = ("from cjm.engine.spark.session import session\n"
              "owner = session(master='local[1]', input_bytes={size})\n"
              "print(owner.spark.conf.get('spark.sql.shuffle.partitions'))\n"
              "owner.stop()\n")
    sized = _run("-c", script.format(size=5 * PARTITION_BYTES))
    assert sized.returncode == 0, sized.stderr
    assert sized.stdout.strip() == "5" and sized.stderr == ""
    # A setting of the user's Spark configuration (spark-defaults.conf) is kept.
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 7\n")
    os.environ["SPARK_CONF_DIR"] = str(conf)
    try:
        kept = _run("-c", script.format(size=5 * PARTITION_BYTES))
    finally:
        del os.environ["SPARK_CONF_DIR"]
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.strip() == "7"



def test_the_jdbc_drivers_on_the_classpath_and_what_to_do_without_them(tmp_path, monkeypatch):
    from cjm.engine.spark.session import JARS_VARIABLE, JDBC_JARS, jdbc_jars
    from tests.test_databases import _sqlite

    monkeypatch.setenv(JARS_VARIABLE, " /opt/a.jar, /opt/b.jar ,")
    assert jdbc_jars() == ["/opt/a.jar", "/opt/b.jar"]
    monkeypatch.delenv(JARS_VARIABLE)
    assert jdbc_jars() == [jar for jar in JDBC_JARS if Path(jar).is_file()]
    monkeypatch.setenv(JARS_VARIABLE, "")  # none: Spark's own configuration decides
    assert jdbc_jars() == []
    result = _run("-m", "cjm", "discover", _sqlite(tmp_path), "--table", "events",
                  "--engine", "spark", "--spark-master", "local[1]")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: sqlite:///{tmp_path}/rows.db?table=events: Spark has no JDBC driver for "
        "sqlite (org.sqlite.JDBC)",
        "apt-get install libxerial-sqlite-jdbc-java, or name its jar in $CJM_SPARK_JARS "
        "(docs/databases.md#spark)."]
