"""The Spark session cjm works in: Spark Connect, a cluster master, or local mode.

Which one, in order of precedence: ``remote`` (``sc://host:15002``, a Spark Connect server),
then ``master`` (``spark://host:7077``, ``yarn``, ``local[4]``), each from its flag or from
``CJM_SPARK_REMOTE`` / ``CJM_SPARK_MASTER``; without either, a session that already runs in
this process (spark-submit, a notebook, the tests), else local mode on every core.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cjm.errors import CjmError, UsageError

REMOTE_VARIABLE, MASTER_VARIABLE = "CJM_SPARK_REMOTE", "CJM_SPARK_MASTER"
INSTALL_HINT = 'Install the Spark extra: pip install "cjm[spark]" (PySpark 4 needs Java 17+).'


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


def session(remote: str | None = None, master: str | None = None) -> Session:
    """The session to work in (see the module's docstring)."""
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
        if master:  # else spark-submit's master, or local mode on every core
            builder = builder.master(master)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # no Java, a master that does not answer, …
            raise CjmError(f"cannot start Spark: {_first_line(exc)}",
                             "Check --spark-master and that Java 17 or later is installed "
                             "(java -version).") from None
        spark.sparkContext.setLogLevel("ERROR")
        _configure(spark)
        return Session(spark, owned=True)


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
                       "See Spark's own log for the cause; docs/scale.md lists the memory "
                       "settings.") from None
