"""The Spark session cjm works in: Spark Connect, a cluster master, or local mode.

Which one, in order of precedence: ``remote`` (``sc://host:15002``, a Spark Connect server),
then ``master`` (``spark://host:7077``, ``yarn``, ``local[4]``), each from its flag or from
``CJM_SPARK_REMOTE`` / ``CJM_SPARK_MASTER``; without either, a session that already runs in
this process (spark-submit, a notebook, the tests), else local mode on every core.

A session cjm starts has the JDBC drivers of the databases cjm reads on its classpath
(``spark.jars``: JDBC_JARS, the jars Debian's libpostgresql-jdbc-java and
libxerial-sqlite-jdbc-java install, or the comma-separated list in ``CJM_SPARK_JARS``), and
sends the JVM's own output (its start-up lines, Spark's log) to
SPARK_LOG, not to the user's terminal, and sizes its shuffles to the input when the input's
size is known and the user's Spark configuration does not set them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cjm.errors import CjmError, UsageError

REMOTE_VARIABLE, MASTER_VARIABLE = "CJM_SPARK_REMOTE", "CJM_SPARK_MASTER"
JARS_VARIABLE = "CJM_SPARK_JARS"
JDBC_JARS = ("/usr/share/java/postgresql.jar", "/usr/share/java/sqlite-jdbc.jar")
INSTALL_HINT = 'Install the Spark extra: pip install "cjm[spark]" (PySpark 4 needs Java 17+).'
# Overwritten by each session cjm starts; one per user, so that users never share it.
SPARK_LOG = Path(tempfile.gettempdir()) / f"cjm-spark-{getattr(os, 'getuid', lambda: 0)()}.log"
PARTITION_BYTES = 64 << 20  # input bytes per shuffle partition, as AQE's advisory size
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"


@dataclass
class Session:
    """A Spark session and whether cjm started it (then cjm also stops it)."""

    spark: Any
    owned: bool

    def stop(self) -> None:
        if self.owned:
            self.spark.stop()
            self.owned = False


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Leave out the warnings PySpark gives about its own dependencies (pandas 3, say),
    which say nothing about the user's data."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark\.")
        yield


def session(remote: str | None = None, master: str | None = None,
            input_bytes: int | None = None) -> Session:
    """The session to work in (see the module's docstring); ``input_bytes``, the size of the
    input when it is known, sizes the shuffles of a session cjm starts."""
    remote = remote or os.environ.get(REMOTE_VARIABLE) or None
    master = master or os.environ.get(MASTER_VARIABLE) or None
    if remote and master:
        raise UsageError("give --spark-remote or --spark-master, not both",
                         f"Spark Connect (--spark-remote, ${REMOTE_VARIABLE}) needs no master: "
                         "the server has its own.")
    if remote and not remote.startswith("sc://"):
        raise UsageError(f"--spark-remote: {remote!r} is not a Spark Connect URL",
                         "Write it as sc://host:15002.")
    with quiet():
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise UsageError("--engine spark needs PySpark, which is not installed",
                             INSTALL_HINT) from None
        if remote:
            try:
                spark = SparkSession.builder.remote(remote).getOrCreate()
                _configure(spark)  # the first call that reaches the server
            except ImportError as exc:  # Spark Connect's own dependencies (grpcio, …)
                raise UsageError(f"--spark-remote needs {exc.name or 'Spark Connect'}",
                                 INSTALL_HINT) from None
            except Exception as exc:
                raise CjmError(f"cannot use the Spark Connect server {remote}: "
                               f"{_first_line(exc)}",
                               "Check that the server runs and that its port is open "
                               "(sbin/start-connect-server.sh starts one).") from None
            return Session(spark, owned=True)
        active = None if master else SparkSession.getActiveSession()
        if active is not None:
            _configure(active)
            return Session(active, owned=False)
        builder = SparkSession.builder.appName("cjm").config(
            "spark.ui.showConsoleProgress", "false")
        if jdbc_jars():
            builder = builder.config("spark.jars", ",".join(jdbc_jars()))
        if master:  # else spark-submit's master, or local mode on every core
            builder = builder.master(master)
        if not master or master.startswith("local"):
            # Local executors run Python (reading a DuckDB file or an ADBC driver) with
            # cjm's own interpreter, not whichever python3 comes first on the PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        try:
            with _jvm_output():
                spark = builder.getOrCreate()
        except Exception as exc:  # no Java, a master that does not answer, …
            raise CjmError(f"cannot start Spark: {_first_line(exc)}",
                             "Check --spark-master and that Java 17 or later is installed "
                             f"(java -version); Spark's own output is in {SPARK_LOG}.") from None
        spark.sparkContext.setLogLevel("ERROR")
        _configure(spark)
        if input_bytes is not None and not spark.sparkContext.getConf().contains(
                SHUFFLE_PARTITIONS):
            spark.conf.set(SHUFFLE_PARTITIONS, str(shuffle_partitions(
                input_bytes, spark.sparkContext.defaultParallelism)))
        return Session(spark, owned=True)


def jdbc_jars() -> list[str]:
    """The jars that a session cjm starts puts on Spark's classpath: $CJM_SPARK_JARS when it
    is set (comma-separated; empty: none, so that spark.jars of the Spark configuration
    holds), else those of JDBC_JARS that are installed."""
    given = os.environ.get(JARS_VARIABLE)
    if given is not None:
        return [jar.strip() for jar in given.split(",") if jar.strip()]
    return [jar for jar in JDBC_JARS if Path(jar).is_file()]


def shuffle_partitions(input_bytes: int, cores: int) -> int:
    """Shuffle partitions for an input of this size: one per PARTITION_BYTES, at least one
    per core (Spark's fixed 200 would make a small log's every shuffle 200 tiny tasks)."""
    return max(cores, -(-input_bytes // PARTITION_BYTES))


@contextlib.contextmanager
def _jvm_output() -> Iterator[None]:
    """The JVM that PySpark starts inherits this process's standard output and error: while
    it starts, both point at SPARK_LOG, so that all it ever prints goes there."""
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(SPARK_LOG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield
    finally:
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(log)


def _configure(spark) -> None:
    # cjm turns every timestamp into microseconds since 1970 itself: no zone in between.
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def failures() -> Iterator[None]:
    """Spark's own failures (a lost server, an executor out of memory) as one line each, not
    as a bug in cjm."""
    try:
        yield
    except CjmError:
        raise
    except Exception as exc:
        module = type(exc).__module__ or ""
        if not module.startswith(("pyspark", "py4j", "grpc")):
            raise
        raise CjmError(f"Spark failed: {_first_line(exc)}",
                       f"See Spark's own log for the cause ({SPARK_LOG} when cjm started "
                       "Spark); docs/scale.md lists the memory settings.") from None
