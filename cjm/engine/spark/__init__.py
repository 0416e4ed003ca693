"""Spark: read and aggregate logs beyond one machine, with DuckDB's results.

``read_spark_log`` reads local paths, URIs (``hdfs://``, ``s3a://``, …) or table names into a
SparkEventLog whose ``engine()`` aggregates in Spark; ``cjm.discover`` and ``build_map`` then
work on it as on any EventLog, modelling and rendering on the driver. Needs the extra:
``pip install "cjm[spark]"``. Nothing here imports PySpark (or DuckDB) until it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SparkEngine": "cjm.engine.spark.engine",
    "SparkEventLog": "cjm.engine.spark.log",
    "read_spark_log": "cjm.engine.spark.read",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cjm.engine.spark' has no attribute {name!r}")
