"""SparkEventLog: an EventLog whose events live in Spark (a persisted DataFrame).

It offers what ``discover()``, ``build_map()`` and the renderers ask of a log: the reading
accounting (files, rows, events, rejected, filtered), the mapping, the timestamp format,
notes and warnings, first and last timestamps, rejects, and ``engine()``. What needs
DuckDB's tables (subsets by segment or period, ``to_pandas``) is not offered.
"""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cjm.accounting import WITHHELD, LogInfo
from cjm.engine.rows import StageTotal


@dataclass(kw_only=True)
class SparkEventLog(LogInfo):
    """Events in Spark: ``events_frame`` holds journey, case_id, stage, ts (microseconds
    since 1970, UTC), _file, _line and the optional roles; ``rejects_frame`` the rejects
    (_file, _line, reason, content). Spark spreads the journeys itself: ``buckets`` stays 1."""

    spark: Any
    events_frame: Any
    rejects_frame: Any
    staged_frame: Any  # the rows as read and parsed, cached; events and rejects read it
    engine_name: str = "spark"
    _session: Any = None  # cjm.engine.spark.session.Session, stopped on close when cjm started it
    _engines: list[Any] = field(default_factory=list)

    @property
    def suffix(self) -> str:
        return ""

    def stage_names(self, whole: bool = False) -> list[str]:
        """The stages of the log, in name order (it is always whole: Spark does not slice)."""
        return sorted(row[0] for row in self.events_frame.select("stage").distinct().collect())

    def stage_totals(self) -> list[StageTotal]:
        """Events and journeys per stage, most events first, then by name."""
        from pyspark.sql import functions as F

        rows = self.events_frame.groupBy("stage").agg(
            F.count("*").alias("e"), F.count_distinct("journey").alias("j")).collect()
        return sorted((StageTotal(r["stage"], r["e"], r["j"]) for r in rows),
                      key=lambda s: (-s.events, s.stage))

    def engine(self, suffix: str = "", buckets: int = 1, still_active: float | None = None):
        """The aggregation engine over this log's events (Spark; ``buckets`` is DuckDB's)."""
        from cjm.engine.spark.engine import SparkEngine

        engine = SparkEngine(self.events_frame)
        # "Still active" means close to the end of the whole log, as on DuckDB.
        engine.log_end = self.last_timestamp.timestamp() if self.last_timestamp else None
        self._engines.append(engine)
        return engine

    def rejects(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Rejected rows in file and line order: file, line, reason, content."""
        frame = self.rejects_frame.orderBy("_file", "_line", "reason")
        if limit is not None:
            frame = frame.limit(int(limit))
        return [
            {"file": self.files[row["_file"]].path, "line": row["_line"],
             "reason": row["reason"], "content": WITHHELD if self.private else row["content"]}
            for row in frame.collect()
        ]

    def reject_reasons(self, examples: int = 3) -> list[dict[str, Any]]:
        """Reject counts by reason (most first) with the first few lines of each."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        first = Window.partitionBy("reason").orderBy("_file", "_line")
        rows = (self.rejects_frame
                .withColumn("_rank", F.row_number().over(first))
                .withColumn("_count", F.count("*").over(Window.partitionBy("reason")))
                .where(F.col("_rank") <= examples).collect())
        reasons: dict[str, tuple[int, list[tuple[int, int, int]]]] = {}
        for row in rows:
            _, lines = reasons.setdefault(row["reason"], (row["_count"], []))
            lines.append((row["_rank"], row["_file"], row["_line"]))
        return [
            {"reason": reason, "count": count,
             "examples": [f"{self.files[f].path}:{line}" for _, f, line in sorted(lines)]}
            for reason, (count, lines) in sorted(reasons.items(), key=lambda i: (-i[1][0], i[0]))
        ]

    def write_rejects(self, path: str | Path) -> int:
        """Write every reject as CSV (file, line, reason, content); returns how many."""
        from cjm.safety import atomic_writer, neutralise_formula

        rows = self.rejects()
        with atomic_writer(Path(path), newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "reason", "content"])
            for row in rows:
                writer.writerow([neutralise_formula(str(row[k])) for k in
                                 ("file", "line", "reason", "content")])
        return len(rows)

    def close(self) -> None:
        """Let go of the cached events (and stop Spark when cjm started it)."""
        for engine in self._engines:
            engine.release()
        self._engines.clear()
        for frame in (self.events_frame, self.rejects_frame, self.staged_frame):
            with contextlib.suppress(Exception):  # a stopped session has nothing to free
                frame.unpersist()
        if self._session is not None:
            self._session.stop()

    def __enter__(self) -> SparkEventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
