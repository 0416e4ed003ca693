"""SparkEventLog: an EventLog whose events live in Spark (a persisted DataFrame).

It offers what ``discover()``, ``build_map()`` and the renderers ask of a log: the reading
accounting (files, rows, events, rejected, filtered), the mapping, the timestamp format,
notes and warnings, first and last timestamps, rejects, and ``engine()``. What needs
DuckDB's tables (subsets by segment or period, ``to_pandas``) is not offered.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cjm.accounting import WITHHELD, LogInfo, write_rejects
from cjm.engine.protocol import FirstValue, Paths, Reaching, Selection, StartPeriod
from cjm.engine.rows import JourneySizes, StageTotal
from cjm.engine.semantics import instant, micros_of


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
    _parent: SparkEventLog | None = None  # a subset shares its parent's session and frames

    @property
    def suffix(self) -> str:
        return ""

    def stage_names(self, whole: bool = False) -> list[str]:
        """The stages of the log (``whole``: of the log it was sliced from), in name order."""
        if whole and self._parent is not None:
            return self._parent.stage_names(whole=True)
        return sorted(row[0] for row in self.events_frame.select("stage").distinct().collect())

    def first_values(self, role: str) -> list[tuple[str | None, int]]:
        """(value, journeys) of a role at each journey's first event (its first value, empty
        ones skipped, in journey order), most journeys first; as the DuckDB engine."""

        firsts = _firsts(self.events_frame, role)
        rows = firsts.groupBy("v").count().collect()
        return sorted(((r["v"], r["count"]) for r in rows),
                      key=lambda r: (-r[1], r[0] is None, r[0] or ""))

    def period_labels(self, period: str) -> list[str]:
        """The periods in which journeys start, oldest first."""
        from pyspark.sql import functions as F

        starts = self.events_frame.groupBy("journey").agg(F.min("ts").alias("t0"))
        rows = starts.select(_period(period, F.col("t0")).alias("p")).distinct().collect()
        return sorted(r["p"] for r in rows)

    def subset(self, selection: Selection, label: str) -> SparkEventLog:
        """The journeys (or events) ``selection`` picks, as a log sharing this one's
        session and reading accounting (closing it lets go of its own events only)."""
        from dataclasses import replace

        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        events = self.events_frame
        if isinstance(selection, FirstValue):
            firsts = _firsts(events, selection.role)
            named = [v for v in selection.values if v is not None]
            test = F.col("v").isin(named) if named else F.lit(False)
            if None in selection.values:
                test = test | F.col("v").isNull()
            chosen = events.join(firsts.where(test).select("journey"), "journey")
        elif isinstance(selection, Reaching):
            reaching = events.where(F.col("stage").isin(list(selection.stages)))
            chosen = events.join(reaching.select("journey").distinct(), "journey")
        elif isinstance(selection, StartPeriod):
            starts = events.groupBy("journey").agg(F.min("ts").alias("t0"))
            picked = starts.where(_period(selection.period, F.col("t0")) == selection.label)
            chosen = events.join(picked.select("journey"), "journey")
        elif isinstance(selection, Paths):
            chosen = events.join(_taking(self.spark, events, selection), "journey")
        elif selection.clip_events:
            inside = events.where(_within(F.col("ts"), selection))
            chosen = inside
        else:
            starts = events.groupBy("journey").agg(F.min("ts").alias("t0"))
            picked = starts.where(_within(F.col("t0"), selection))
            chosen = events.join(picked.select("journey"), "journey")
        chosen = chosen.select(*events.columns).persist(StorageLevel.MEMORY_AND_DISK)
        n, journeys, stages, first, last = chosen.agg(
            F.count("*"), F.count_distinct("journey"), F.count_distinct("stage"), F.min("ts"),
            F.max("ts")).collect()[0]
        return replace(self, events_frame=chosen, label=label, events=n, journeys=journeys,
                       stages=stages, first_timestamp=instant(first),
                       last_timestamp=instant(last), _session=None, _engines=[], _parent=self)

    def journey_sizes(self) -> JourneySizes:
        """Events per journey: fewest, median (quantile_cont), mean and most."""
        import math

        from cjm.engine.semantics import quantile_cont, quantile_position
        from cjm.engine.spark.engine import rank_in

        per_journey = self.events_frame.groupBy("journey").count()
        sizes = sorted((r["count"], r["n"]) for r in per_journey.groupBy("count").agg(
            {"*": "count"}).withColumnRenamed("count(1)", "n").collect())
        total = sum(k for _, k in sizes)
        middle = quantile_position(total, 0.5)
        median = quantile_cont(rank_in(sizes, math.floor(middle)),
                               rank_in(sizes, math.ceil(middle)), total, 0.5)
        # The mean of whole numbers: their exact sum over the count, as DuckDB divides it.
        return JourneySizes(sizes[0][0], float(median),
                            sum(n * k for n, k in sizes) / total, sizes[-1][0])

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
        # "Still active" means close to the end of the whole log (not of a subset's), as
        # on DuckDB.
        root = self
        while root._parent is not None:
            root = root._parent
        engine.log_end = root.last_timestamp.timestamp() if root.last_timestamp else None
        engine.sources = [f.path for f in self.files]  # for errors that name a line
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
        return write_rejects(self.rejects(), path)

    def close(self) -> None:
        """Let go of the cached events (and stop Spark when cjm started it); a subset lets
        go of its own events only."""
        for engine in self._engines:
            engine.release()
        self._engines.clear()
        own = (self.events_frame,) if self._parent is not None else (
            self.events_frame, self.rejects_frame, self.staged_frame)
        for frame in own:
            with contextlib.suppress(Exception):  # a stopped session has nothing to free
                frame.unpersist()
        if self._session is not None:
            self._session.stop()

    def __enter__(self) -> SparkEventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _firsts(events, role: str):
    """Per journey, ``v``: its first value of ``role`` in journey order (empty values
    skipped; None when it has none), as the DuckDB engine's arg_min."""
    from pyspark.sql import functions as F

    order = F.struct("ts", "_file", "_line")
    given = events.where(F.col(role).isNotNull()).groupBy("journey").agg(
        F.min_by(F.col(role), order).alias("v"))
    return events.select("journey").distinct().join(given, "journey", "left")


def _period(period: str, micros):
    """The label of the period (day … year) holding an instant (microseconds, UTC), as the
    DuckDB engine writes it: 2024-07-01, 2024-W27 (ISO weeks), 2024-07, 2024-Q3, 2024."""
    from pyspark.sql import functions as F

    moment = F.timestamp_micros(micros)  # the session's zone is UTC
    day = F.to_date(moment)
    if period == "day":
        return F.date_format(moment, "yyyy-MM-dd")
    if period == "week":
        # The ISO year is that of the week's Thursday.
        thursday = F.date_add(day, 3 - (F.dayofweek(day) + 5) % 7)
        return F.concat(F.year(thursday).cast("string"), F.lit("-W"),
                        F.lpad(F.weekofyear(day).cast("string"), 2, "0"))
    if period == "month":
        return F.date_format(moment, "yyyy-MM")
    if period == "quarter":
        return F.concat(F.year(moment).cast("string"), F.lit("-Q"),
                        F.quarter(moment).cast("string"))
    return F.year(moment).cast("string")


def _within(micros, window):
    """Whether an instant (microseconds) falls in [since, until) of a Window."""
    from pyspark.sql import functions as F

    test = F.lit(True)
    if window.since is not None:
        test = test & (micros >= F.lit(micros_of(window.since)))
    if window.until is not None:
        test = test & (micros < F.lit(micros_of(window.until)))
    return test


def _taking(spark, events, selection: Paths):
    """The journeys (one column) whose path, up to their first event at one of
    ``selection.before``, is one of ``selection.paths``; the paths travel to the executors,
    the journeys' paths never leave them."""
    from pyspark.sql import functions as F

    from cjm.engine.spark.engine import before_first

    ordered = F.sort_array(F.collect_list(F.struct("ts", "_file", "_line", "stage")))
    paths = events.groupBy("journey").agg(F.transform(ordered, lambda e: e["stage"])
                                          .alias("path"))
    if selection.before:
        paths = paths.select("journey", before_first(F.col("path"), selection.before)
                             .alias("path"))
    wanted = spark.createDataFrame([(list(p),) for p in selection.paths],
                                   "path array<string>")
    return paths.join(F.broadcast(wanted), "path").select("journey")
