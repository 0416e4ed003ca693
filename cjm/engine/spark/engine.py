"""The Spark engine's aggregates (cjm.engine.protocol.Engine) for discover() and build_map().

Every method returns what every engine returns, to the bit (cjm.engine.semantics): journeys
are ordered by (timestamp, file, line); waits and durations are differences of
``epoch_seconds`` (see cjm.engine.spark.timestamps.epoch_seconds); medians and percentiles
are ``quantile_cont``: Spark finds the two values around the quantile's position and the
driver interpolates them. Rows come back in no order, but ``paths`` in the Protocol's.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cjm.engine import semantics
from cjm.engine.rows import (
    ChannelCount,
    ChannelSequence,
    Costs,
    Ending,
    FunnelCount,
    GoalTime,
    Handoff,
    JourneyFigures,
    NextStage,
    OutcomeItem,
    OutcomeSums,
    PathCost,
    PathCount,
    PathEnding,
    Rework,
    SlowWait,
    Stage,
    StageCost,
    TouchSequence,
    TransitionCount,
)
from cjm.engine.semantics import (
    DECIMAL_DIGITS,
    DECIMAL_PLACES,
    NUMBER,
    TRUTHY,
    decimal_value,
    exact_float,
    exact_mean,
    exact_median,
    exact_outcomes,
    open_from,
    quantile_cont,
    quantile_position,
    unsummable,
)
from cjm.engine.spark.timestamps import epoch_seconds, spark_trim

WINDOW_LIMIT = 1_000_000  # journeys one task may sort for their median and p90 durations
ACCURACY = 100_000  # of Spark's approximate percentiles, which bound the exact ones
# Costs and numeric outcomes: decimals (cjm.engine.semantics.decimal_value), added in a
# decimal of 38 digits, exact in any order.
DECIMAL = f"decimal({DECIMAL_DIGITS},{DECIMAL_PLACES})"
SUM = f"decimal(38,{DECIMAL_PLACES})"
WHOLE = "decimal(38,0)"


def _spark():
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return F, Window


def _with_quantiles(frame, keys: Sequence[str], value: str, qs: Sequence[float]):
    """``frame`` with the columns _n (values in the group), _r (the value's rank) and, per
    quantile, a flag for the ranks DuckDB interpolates between."""
    F, Window = _spark()
    group = Window.partitionBy(*keys) if keys else Window.partitionBy(F.lit(0))
    ranked = frame.withColumn("_r", F.row_number().over(group.orderBy(value))) \
        .withColumn("_n", F.count("*").over(group))
    return ranked


def _quantile_aggregates(value: str, qs: Sequence[float]) -> list[Any]:
    """Aggregates giving, per quantile, the values at floor and ceil of its position."""
    F, _ = _spark()
    columns = []
    for i, q in enumerate(qs):
        rn = (F.col("_n") - 1).cast("double") * F.lit(q)
        columns.append(F.max(F.when(F.col("_r") == F.floor(rn) + 1, F.col(value)))
                       .alias(f"_lo{i}"))
        columns.append(F.max(F.when(F.col("_r") == F.ceil(rn) + 1, F.col(value)))
                       .alias(f"_hi{i}"))
    return columns


def _ranks(n: int, qs: Sequence[float]) -> list[int]:
    """The 0-based ranks whose values the quantiles ``qs`` of ``n`` values interpolate."""
    return sorted({f(quantile_position(n, q)) for q in qs for f in (math.floor, math.ceil)})


def rank_in(counts: list[tuple[Any, int]], rank: int) -> Any:
    """The value at a 0-based rank of sorted (value, how many) pairs."""
    seen = 0
    for value, k in counts:
        seen += k
        if rank < seen:
            return value
    raise IndexError(rank)


def _order_statistics(frame, column: str, n: int, ranks: Sequence[int]) -> dict[int, float]:
    """The values at 0-based ``ranks`` of ``column`` (``n`` rows, no nulls), exactly.

    Up to WINDOW_LIMIT rows one task sorts them all. Beyond, Spark's approximate percentiles
    give, for each rank, two values that hold it between them; the rows below, at and between
    them are counted, and the few rows strictly between them collected and sorted here, so
    that no task sorts them all.
    """
    F, _ = _spark()
    if n <= WINDOW_LIMIT:
        return _order_statistics_sorted(frame, column, ranks)
    margin = 2 * n // ACCURACY + 2  # Spark's error is at most n / ACCURACY ranks
    probes = sorted({min(n - 1, max(0, r + d)) for r in ranks for d in (-margin, margin)})
    approx = frame.agg(F.percentile_approx(column, [p / (n - 1) for p in probes], ACCURACY)
                       ).collect()[0][0]
    near = dict(zip(probes, approx, strict=True))
    bands = {r: (near[max(0, r - margin)], near[min(n - 1, r + margin)]) for r in ranks}
    value = F.col(column)
    counts = frame.agg(*[
        aggregate for r, (low, high) in bands.items() for aggregate in (
            F.count(F.when(value < low, 1)).alias(f"_below{r}"),
            F.count(F.when(value == low, 1)).alias(f"_low{r}"),
            F.count(F.when((value == high) & (value != low), 1)).alias(f"_high{r}"))
    ]).collect()[0]
    inside = functools.reduce(lambda a, b: a | b, [(value > low) & (value < high)
                                                   for low, high in bands.values()])
    values = sorted(row[0] for row in frame.where(inside).select(column).collect())
    found = {}
    for r, (low, high) in bands.items():
        between = values[bisect.bisect_right(values, low):bisect.bisect_left(values, high)]
        index, at_low = r - counts[f"_below{r}"], counts[f"_low{r}"]
        if 0 <= index < at_low:
            found[r] = low
        elif at_low <= index < at_low + len(between):
            found[r] = between[index - at_low]
        elif 0 <= index - at_low - len(between) < counts[f"_high{r}"]:
            found[r] = high
        else:  # the approximation missed: sort them all
            return _order_statistics_sorted(frame, column, ranks)
    return found


def _order_statistics_sorted(frame, column: str, ranks: Sequence[int]) -> dict[int, float]:
    F, Window = _spark()
    ranked = frame.select(column).withColumn(
        "_r", F.row_number().over(Window.partitionBy(F.lit(0)).orderBy(column)) - 1)
    return {r["_r"]: r[column] for r in ranked.where(F.col("_r").isin(list(ranks))).collect()}


def _quantiles(row, n: int, qs: Sequence[float]) -> list[float | None]:
    return [None if row[f"_lo{i}"] is None else
            quantile_cont(row[f"_lo{i}"], row[f"_hi{i}"], n, q) for i, q in enumerate(qs)]


def _number_text(column: str):
    F, _ = _spark()
    return spark_trim(F.col(column).cast("string"))


def _is_number(text):
    """A column: whether ``text`` is written as a number (cjm.engine.semantics.NUMBER)."""
    return text.rlike(f"^(?:{NUMBER})\\z")


def number(column: str):
    """A column: the decimal a cost or numeric outcome in ``column`` counts as (null for no
    number, and for one too large, which _refuse_unsummable() reports first)."""
    F, _ = _spark()
    text = _number_text(column)
    return F.when(_is_number(text), text.try_cast(DECIMAL))


def before_first(path, goals: Sequence[str]):
    """A column: the stages of ``path`` (an array column) before its first one of ``goals``
    (all of them when it has none), as the DuckDB engine cuts paths."""
    F, _ = _spark()
    listing = [F.lit(g) for g in goals] or [F.lit(None).cast("string")]
    at = F.transform(path, lambda stage, i: F.when(stage.isin(*listing), i))
    cut = F.array_min(F.filter(at, lambda i: i.isNotNull()))
    return F.when(cut.isNull(), path).otherwise(F.slice(path, 1, cut))


def _guarded(method):
    """Spark's failures in ``method`` reported as such (cjm.engine.spark.session.failures)."""

    @functools.wraps(method)
    def run(*args, **kwargs):
        from cjm.engine.spark.session import failures

        with failures():
            return method(*args, **kwargs)

    return run


class SparkEngine:
    """Aggregates over a SparkEventLog's events; the same interface as DuckDBEngine."""

    def __init__(self, events) -> None:
        self.events = events
        self.seq = None
        self.jrn = None
        self.kept = events  # the events prepare() orders
        self.sources: list[str] = []  # the log's files, by their number in ``_file``
        self.log_end: float | None = None  # epoch seconds of the whole log's last event
        self._matches: list[Any] = []  # each funnel step's matches, for funnel_next()

    def release(self) -> None:
        """Let go of the cached tables of the last prepare()."""
        for frame in (self.seq, self.jrn):
            if frame is not None:
                with contextlib.suppress(Exception):  # the session is gone already
                    frame.unpersist()
        self.seq = self.jrn = None
        self._release_funnel()

    @_guarded
    def prepare(self, handoff: str | None, outcome: str | None,
                stages: Sequence[str] | None = None) -> None:
        """Order the journeys once; with ``stages``, only events of those stages count."""
        from pyspark import StorageLevel

        F, Window = _spark()
        self.release()
        events = self.events
        if stages is not None:
            events = events.where(F.col("stage").isin(list(stages))) if stages else \
                events.limit(0)
        hand = F.col(handoff) if handoff else F.lit(None).cast("string")
        success = (F.lower(spark_trim(F.col(outcome))).isin(list(TRUTHY)) if outcome
                   else F.lit(False))
        w = Window.partitionBy("journey").orderBy("ts", "_file", "_line")
        epoch = epoch_seconds(F.col("ts"))
        seq = events.select(
            "journey", "stage", "ts", hand.alias("hand"), success.alias("success"),
            F.row_number().over(w).alias("pos"), F.lead("stage").over(w).alias("next_stage"),
            (F.lead(epoch).over(w) - epoch).alias("wait"), F.lead(hand).over(w)
            .alias("next_hand"),
        ).persist(StorageLevel.MEMORY_AND_DISK)
        jrn = seq.groupBy("journey").agg(
            F.transform(F.sort_array(F.collect_list(F.struct("pos", "stage"))),
                        lambda x: x["stage"]).alias("path"),
            F.count("*").alias("n"),
            (epoch_seconds(F.max("ts")) - epoch_seconds(F.min("ts"))).alias("duration"),
            F.max("ts").alias("last_ts"),
            F.max_by("stage", "pos").alias("last_stage"),
            F.bool_or("success").alias("success"),
        ).persist(StorageLevel.MEMORY_AND_DISK)
        self.seq, self.jrn, self.kept = seq, jrn, events

    @_guarded
    def stages(self) -> list[Stage]:
        F, _ = _spark()
        rows = self.seq.groupBy("stage").agg(
            F.count("*").alias("e"), F.count_distinct("journey").alias("j"),
            F.count(F.when(F.col("pos") == 1, 1)).alias("s"),
            F.count(F.when(F.col("next_stage").isNull(), 1)).alias("x"),
        ).collect()
        return [Stage(r["stage"], r["e"], r["j"], r["s"], r["x"]) for r in rows]

    @_guarded
    def transitions(self) -> list[TransitionCount]:
        F, _ = _spark()
        qs = (0.5, 0.9)
        moves = self.seq.where(F.col("next_stage").isNotNull())
        handoff = (F.col("hand") != F.col("next_hand")) & F.col("hand").isNotNull() \
            & F.col("next_hand").isNotNull()
        rows = _with_quantiles(moves, ("stage", "next_stage"), "wait", qs) \
            .groupBy("stage", "next_stage").agg(
                F.count("*").alias("c"), F.count_distinct("journey").alias("j"),
                F.avg("wait").alias("mean"), F.count(F.when(handoff, 1)).alias("h"),
                *_quantile_aggregates("wait", qs)).collect()
        result = []
        for r in rows:
            median, p90 = _quantiles(r, r["c"], qs)
            result.append(TransitionCount(r["stage"], r["next_stage"], r["c"], r["j"], median,
                                          r["mean"], p90, r["h"]))
        return result

    @_guarded
    def paths(self) -> list[PathCount]:
        F, _ = _spark()
        qs = (0.5,)
        rows = _with_quantiles(self.jrn, ("path",), "duration", qs).groupBy("path").agg(
            F.count("*").alias("j"), *_quantile_aggregates("duration", qs)).collect()
        result = [PathCount(tuple(r["path"]), r["j"], _quantiles(r, r["j"], qs)[0])
                  for r in rows]
        result.sort(key=lambda row: (-row.journeys, row.stages))
        return result

    @_guarded
    def journey_figures(self) -> JourneyFigures:
        F, _ = _spark()
        durations = (0.5, 0.9)
        row = self.jrn.agg(F.count("*").alias("c"), F.avg("duration").alias("mean"),
                           F.sum("n").alias("n_sum"), F.max("n").alias("n_max")).collect()[0]
        n = row["c"]
        if not n:
            return JourneyFigures(0, None, None, None, None, None, None)
        # Events per journey are few distinct whole numbers: their median from their counts.
        sizes = sorted((r["n"], r["count"]) for r in self.jrn.groupBy("n").count().collect())
        at = _order_statistics(self.jrn, "duration", n, _ranks(n, durations))
        median, p90 = (quantile_cont(at[math.floor(quantile_position(n, q))],
                                   at[math.ceil(quantile_position(n, q))], n, q) for q in durations)
        middle = quantile_position(n, 0.5)
        size_median = quantile_cont(rank_in(sizes, math.floor(middle)),
                                  rank_in(sizes, math.ceil(middle)), n, 0.5)
        # The mean of whole numbers: their exact sum over the count, as DuckDB divides it.
        return JourneyFigures(n, median, p90, row["mean"], size_median, row["n_sum"] / n,
                              row["n_max"])

    @_guarded
    def rework(self) -> list[Rework]:
        F, _ = _spark()
        rows = (self.seq.groupBy("journey", "stage").count().where(F.col("count") > 1)
                .groupBy("stage").agg(F.count("*").alias("j"),
                                      F.sum(F.col("count") - 1).alias("x")).collect())
        return [Rework(r["stage"], r["j"], r["x"]) for r in rows]

    def _status(self, goals: Sequence[str], use_outcome: bool,
                still_active_seconds: float | None):
        """A column of ``jrn``: how a journey ends ('goal', 'open' or 'dead_end')."""
        F, _ = _spark()
        if use_outcome:
            success = F.coalesce(F.col("success"), F.lit(False))
        elif goals:
            # A journey succeeds once it reaches a goal stage, whatever happens after it.
            success = F.arrays_overlap(F.col("path"), F.array(*[F.lit(g) for g in goals]))
        else:
            success = F.lit(False)
        return F.when(success, "goal").when(self._still(still_active_seconds), "open") \
            .otherwise("dead_end")

    def _still(self, still_active_seconds: float | None):
        """A column of ``jrn``: whether a journey may still be running."""
        F, _ = _spark()
        if not still_active_seconds:
            return F.lit(False)
        return epoch_seconds(F.col("last_ts")) >= F.lit(self._open_from(
            float(still_active_seconds)))

    @_guarded
    def endings(self, goals: Sequence[str], use_outcome: bool,
                still_active_seconds: float | None) -> list[Ending]:
        status = self._status(goals, use_outcome, still_active_seconds)
        rows = (self.jrn.select("last_stage", "path", status.alias("status"))
                .groupBy("last_stage", "status", "path").count().collect())
        endings: dict[tuple[str, str], list[Any]] = {}
        for r in rows:
            path, n = tuple(r["path"]), r["count"]
            entry = endings.setdefault((r["last_stage"], r["status"]), [0, None, 0])
            entry[0] += n
            if entry[1] is None or (-n, path) < (-entry[2], entry[1]):
                entry[1], entry[2] = path, n
        return [Ending(stage, status, total, path, n)
                for (stage, status), (total, path, n) in endings.items()]

    @_guarded
    def path_endings(self, goals: Sequence[str], use_outcome: bool,
                     still_active_seconds: float | None,
                     before_goal: bool = False) -> list[PathEnding]:
        F, _ = _spark()
        status = self._status(goals, use_outcome, still_active_seconds)
        path = F.col("path")
        if before_goal:
            path = before_first(path, goals)
        rows = (self.jrn.select(path.alias("p"), status.alias("status"))
                .groupBy("p", "status").count().collect())
        return [PathEnding(tuple(r["p"]), r["status"], r["count"]) for r in rows]

    def _open_from(self, still_active: float) -> float:
        """The epoch seconds from which a journey's last event makes it open."""
        F, _ = _spark()
        end = self.log_end
        if end is None:
            end = semantics.epoch_seconds(int(self.jrn.agg(F.max("last_ts")).collect()[0][0]))
        return open_from(end, still_active)

    @_guarded
    def handoff_matrix(self) -> list[Handoff]:
        F, _ = _spark()
        qs = (0.5,)
        moves = self.seq.where(
            F.col("next_stage").isNotNull() & F.col("hand").isNotNull()
            & F.col("next_hand").isNotNull() & (F.col("hand") != F.col("next_hand")))
        rows = _with_quantiles(moves, ("hand", "next_hand"), "wait", qs) \
            .groupBy("hand", "next_hand").agg(
                F.count("*").alias("c"), F.count_distinct("journey").alias("j"),
                *_quantile_aggregates("wait", qs)).collect()
        return [Handoff(r["hand"], r["next_hand"], r["c"], _quantiles(r, r["c"], qs)[0], r["j"])
                for r in rows]

    @_guarded
    def funnel(self, steps: Sequence[Sequence[str]], strict: bool,
               within: float | None) -> list[FunnelCount]:
        """As the DuckDB engine: each step's earliest qualifying event per journey; the
        matches are kept for funnel_next()."""
        from pyspark import StorageLevel

        F, _ = _spark()
        self._release_funnel()
        at = self.seq.select("journey", "pos", "ts", "stage")
        match = (at.where(F.col("stage").isin(list(steps[0]))).groupBy("journey")
                 .agg(F.min("pos").alias("pos"), F.min_by("ts", "pos").alias("ts"))
                 .withColumn("t0", F.col("ts")))
        self._matches = [match.persist(StorageLevel.MEMORY_AND_DISK)]
        for step in steps[1:]:
            later = at.where(F.col("stage").isin(list(step))).select(
                "journey", F.col("pos").alias("epos"), F.col("ts").alias("ets"))
            joined = match.join(later, "journey")
            keep = F.col("epos") > F.col("pos") if strict else F.lit(True)
            if within:
                span = epoch_seconds(F.col("ets")) - epoch_seconds(F.col("t0"))
                keep = keep & ((span if strict else F.abs(span)) <= F.lit(float(within)))
            match = (joined.where(keep).groupBy("journey", "t0")
                     .agg(F.min("epos").alias("pos"), F.min_by("ets", "epos").alias("ts"))
                     .persist(StorageLevel.MEMORY_AND_DISK))
            self._matches.append(match)
        counts = []
        for k, match in enumerate(self._matches):
            n = match.count()
            median = None
            if k and n:
                # In any order a step may come first: the time between two steps is unsigned.
                gaps = match.select("journey", "ts").join(
                    self._matches[k - 1].select("journey", F.col("ts").alias("prev")),
                    "journey").select(F.abs(epoch_seconds(F.col("ts"))
                                            - epoch_seconds(F.col("prev"))).alias("d"))
                row = _with_quantiles(gaps, (), "d", (0.5,)).agg(
                    *_quantile_aggregates("d", (0.5,))).collect()[0]
                median = _quantiles(row, n, (0.5,))[0]
            counts.append(FunnelCount(n, median))
        return counts

    @_guarded
    def funnel_next(self, step: int) -> list[NextStage]:
        before, after = self._matches[step - 1], self._matches[step]
        dropped = before.join(after.select("journey"), "journey", "left_anti")
        went = dropped.select("journey", "pos").join(
            self.seq.select("journey", "pos", "next_stage"), ["journey", "pos"])
        rows = went.groupBy("next_stage").count().collect()
        return [NextStage(r["next_stage"], r["count"]) for r in
                sorted(rows, key=lambda r: (-r["count"], r["next_stage"] is None,
                                            r["next_stage"] or ""))]

    @_guarded
    def channel_mix(self) -> list[ChannelCount]:
        F, _ = _spark()
        rows = self.seq.where(F.col("hand").isNotNull()).groupBy("stage", "hand").count()
        return [ChannelCount(r["stage"], r["hand"], r["count"]) for r in rows.collect()]

    @_guarded
    def channel_sequences(self) -> list[ChannelSequence]:
        """Hand-off values in journey order, repeats folded, most journeys first."""
        F, _ = _spark()
        given = self.seq.where(F.col("hand").isNotNull())
        sequences = _folded(given, "hand", "channels")
        rows = sequences.groupBy("channels").count().collect()
        return sorted((ChannelSequence(tuple(r["channels"]), r["count"]) for r in rows),
                      key=lambda c: (-c.journeys, c.channels))

    @_guarded
    def journeys_moving(self, pairs: Sequence[tuple[str, str]]) -> int:
        F, _ = _spark()
        if not pairs:
            return 0
        moves = F.lit(False)
        for a, b in pairs:
            moves = moves | ((F.col("hand") == a) & (F.col("next_hand") == b))
        return self.seq.where(F.col("next_hand").isNotNull() & moves) \
            .select("journey").distinct().count()

    def _release_funnel(self) -> None:
        for frame in self._matches:
            with contextlib.suppress(Exception):  # the session is gone already
                frame.unpersist()
        self._matches = []

    @_guarded
    def outcome_values(self, role: str, limit: int = 50) -> list[str]:
        F, _ = _spark()
        value = F.lower(spark_trim(F.col(role).cast("string"))).alias("v")
        rows = (self.events.select(value).where(F.col("v").isNotNull() & (F.col("v") != ""))
                .distinct().orderBy("v").limit(int(limit)).collect())
        return [r["v"] for r in rows]

    @_guarded
    def path_examples(self, n: int = 3) -> dict[tuple[str, ...], list[str]]:
        F, _ = _spark()
        rows = self.jrn.groupBy("path").agg(
            F.slice(F.sort_array(F.collect_list("journey")), 1, int(n)).alias("ids")).collect()
        return {tuple(r["path"]): list(r["ids"]) for r in rows}

    @_guarded
    def journey_paths(self, journeys: Sequence[str] | None = None
                      ) -> Iterator[tuple[str, tuple[str, ...]]]:
        """One row a journey reaches the driver, in id order, a partition at a time."""
        F, _ = _spark()
        frame = self.jrn.select("journey", "path")
        if journeys is not None:
            frame = frame.where(F.col("journey").isin(list(journeys)))
        for row in frame.orderBy("journey").toLocalIterator():
            yield row["journey"], tuple(row["path"])

    @_guarded
    def slow_transitions(self, limits: Mapping[tuple[str, str], float]) -> list[SlowWait]:
        F, _ = _spark()
        if not limits:
            return []
        slow = functools.reduce(lambda a, b: a | b, [
            (F.col("stage") == a) & (F.col("next_stage") == b) & (F.col("wait") > float(s))
            for (a, b), s in sorted(limits.items())])
        rows = (self.seq.where(slow).select("stage", "next_stage", "journey", "wait", "pos")
                .collect())
        rows.sort(key=lambda r: (r["journey"], r["pos"]))
        return [SlowWait(r["stage"], r["next_stage"], r["journey"], r["wait"]) for r in rows]

    @_guarded
    def goal_times(self, goals: Sequence[str], still_active_seconds: float | None,
                   use_outcome: bool = False) -> list[GoalTime]:
        F, _ = _spark()
        goal = F.col("stage").isin(list(goals)) if goals else F.lit(False)
        if use_outcome:
            goal = goal | F.coalesce(F.col("success"), F.lit(False))
        times = self.seq.groupBy("journey").agg(
            F.min("ts").alias("t0"), F.max("ts").alias("last_ts"),
            F.min(F.when(goal, F.col("ts"))).alias("tg"))
        if self.log_end is not None:
            end = self.log_end
        else:
            end = semantics.epoch_seconds(int(self.jrn.agg(F.max("last_ts")).collect()[0][0]))
        # The log's end in whole microseconds, rounded half away from zero as DuckDB rounds.
        end_us = int(Decimal(end * 1_000_000).quantize(Decimal(1), ROUND_HALF_UP))
        us = (F.when(F.col("tg").isNotNull(), F.col("tg") - F.col("t0"))
              .when(self._still(still_active_seconds), F.lit(end_us) - F.col("t0"))
              .otherwise(F.col("last_ts") - F.col("t0")))
        rows = (times.select(us.alias("us"), F.col("tg").isNotNull().alias("reached"))
                .groupBy("us", "reached").count().collect())
        return [GoalTime(r["us"] / 1_000_000, r["reached"], r["count"])
                for r in sorted(rows, key=lambda r: (r["us"], r["reached"]))]

    @_guarded
    def touch_sequences(self, goals: Sequence[str], by_channel: bool) -> list[TouchSequence]:
        """As the DuckDB engine's: one row a distinct sequence reaches the driver."""
        F, _ = _spark()
        touch = F.col("hand" if by_channel else "stage")
        cut = (self.seq.where(F.col("stage").isin(list(goals))).groupBy("journey")
               .agg(F.min("pos").alias("cut")) if goals else
               self.seq.select("journey", F.lit(None).cast("int").alias("cut")).limit(0))
        before = F.col("pos") <= F.col("cut") if by_channel else F.col("pos") < F.col("cut")
        kept = (self.seq.join(cut, "journey", "left")
                .where((F.col("cut").isNull() | before) & touch.isNotNull())
                .select("journey", "pos", touch.alias("touch")))
        lists = _folded(kept, "touch", "touches")
        converted = (F.col("cut").isNotNull() if goals
                     else F.coalesce(F.col("success"), F.lit(False)))
        rows = (self.jrn.select("journey", "success").join(lists, "journey", "left")
                .join(cut, "journey", "left")
                .select(F.coalesce(F.col("touches"), F.array().cast("array<string>"))
                        .alias("touches"), converted.alias("c"))
                .groupBy("touches").agg(F.count(F.when(F.col("c"), 1)).alias("y"),
                                        F.count(F.when(~F.col("c"), 1)).alias("n"))
                .collect())
        return sorted((TouchSequence(tuple(r["touches"]), r["y"], r["n"]) for r in rows),
                      key=lambda t: t.touches)

    @_guarded
    def costs(self, prices: Mapping[str, float] | None) -> Costs:
        """As the DuckDB engine's: decimal costs, summed exactly."""
        from pyspark import StorageLevel

        F, _ = _spark()
        if prices:
            cost = F.lit(None)
            for channel, price in sorted(prices.items()):
                cost = F.when(F.col("channel") == channel,
                              F.lit(decimal_value(repr(float(price)))).cast(DECIMAL)
                              ).otherwise(cost)
        else:
            self._refuse_unsummable("cost")
            cost = number("cost")
        events = self.kept.select("journey", "stage",
                                  F.coalesce(cost.cast(SUM), F.lit(0).cast(SUM)).alias("c"))
        totals = (events.groupBy("journey").agg(F.sum("c").alias("t"))
                  .persist(StorageLevel.MEMORY_AND_DISK))
        try:
            by_stage = [StageCost(r["stage"], r["e"], exact_float(r["t"])) for r in
                        events.groupBy("stage").agg(F.count("*").alias("e"),
                                                    F.sum("c").alias("t")).collect()]
            paths = self.jrn.select("journey", "path").join(totals, "journey")
            by_path = [PathCost(tuple(r["path"]), r["j"], exact_float(r["s"]),
                                exact_median(r["_lo0"], r["_hi0"], r["j"])) for r in
                       _with_quantiles(paths, ("path",), "t", (0.5,)).groupBy("path").agg(
                           F.count("*").alias("j"), F.sum("t").alias("s"),
                           *_quantile_aggregates("t", (0.5,))).collect()]
            row = totals.agg(F.count("*").alias("n"), F.sum("t").alias("s")).collect()[0]
            n, total = row["n"], row["s"]
            median = 0.0
            if n:
                middle = quantile_position(n, 0.5)
                at = _order_statistics(totals, "t", n, _ranks(n, (0.5,)))
                median = exact_median(at[math.floor(middle)], at[math.ceil(middle)], n)
        finally:
            totals.unpersist()
        return Costs(n, exact_float(total), median, exact_mean(total, n), by_stage, by_path)

    def _refuse_unsummable(self, role: str) -> None:
        """A data error for the first number of ``role`` too large to add exactly."""
        text = _number_text(role)
        first = (self.events.where(_is_number(text) & text.try_cast(DECIMAL).isNull())
                 .select("_file", "_line", text.alias("v")).orderBy("_file", "_line")
                 .limit(1).collect())
        for row in first:
            raise unsummable(role, row["v"], f"{self.sources[row['_file']]}:{row['_line']}")

    @_guarded
    def outcome_sums(self, kind: str, before: Sequence[str] = ()
                     ) -> tuple[OutcomeSums, list[OutcomeItem]]:
        """As the DuckDB engine's: each journey's outcome a decimal, summed exactly."""
        F, _ = _spark()
        if kind == "rate":
            raw = F.lower(spark_trim(F.col("outcome").cast("string")))
            y = F.max(F.when(raw.isin(list(TRUTHY)), 1)
                      .when(raw.isNull() | (raw == ""), None).otherwise(0))
            outcomes = self.events.groupBy("journey").agg(y.cast(DECIMAL).alias("y"))
        else:
            self._refuse_unsummable("outcome")
            # The last value in journey order: equal timestamps keep file order.
            outcomes = (self.events.withColumn("y", number("outcome"))
                        .where(F.col("y").isNotNull()).groupBy("journey")
                        .agg(F.max_by("y", F.struct("ts", "_file", "_line")).alias("y")))
        # Each outcome also as its whole part and its fraction in units, whose products (for
        # the sums of squares) stay within 38 digits.
        whole = F.floor("y")
        outcomes = outcomes.where(F.col("y").isNotNull()).select(
            "journey", F.col("y").cast(SUM).alias("y"), whole.cast(WHOLE).alias("w"),
            ((F.col("y") - whole) * F.lit(10 ** DECIMAL_PLACES)).cast(WHOLE).alias("f"))
        w, f = F.col("w"), F.col("f")
        sums = [F.count("*").alias("n"), F.sum("y").alias("t"), F.sum(w * w).alias("ww"),
                F.sum(w * f).alias("wf"), F.sum(f * f).alias("ff")]
        overall = outcomes.agg(*sums).collect()[0]
        seq = self.seq.select("journey", "pos", "stage", "next_stage")
        if before:  # the events before the first goal event; the last of them goes nowhere
            cut = (self.seq.where(F.col("stage").isin(list(before))).groupBy("journey")
                   .agg(F.min("pos").alias("cut")))
            seq = (seq.join(cut, "journey", "left")
                   .where(F.col("cut").isNull() | (F.col("pos") < F.col("cut")))
                   .select("journey", "stage", F.when(
                       F.col("cut").isNull() | (F.col("pos") + 1 < F.col("cut")),
                       F.col("next_stage")).alias("next_stage")))
        stages = seq.select("journey", F.lit("stage").alias("kind"),
                            F.col("stage").alias("item"))
        moves = seq.where(F.col("next_stage").isNotNull()).select(
            "journey", F.lit("transition").alias("kind"),
            F.concat(F.col("stage"), F.lit(" → "), F.col("next_stage")).alias("item"))
        rows = (stages.union(moves).distinct().join(outcomes, "journey")
                .groupBy("kind", "item").agg(*sums).collect())

        def summed(r) -> OutcomeSums:
            return exact_outcomes(r["n"], r["t"], r["ww"], r["wf"], r["ff"])

        return summed(overall), [OutcomeItem(r["kind"], r["item"], summed(r)) for r in rows]


def _folded(frame, column: str, name: str):
    """Each journey's values of ``column`` in journey order, repeats folded, as ``name``."""
    F, Window = _spark()
    previous = F.lag(column).over(Window.partitionBy("journey").orderBy("pos"))
    changes = frame.withColumn("_prev", previous).where(
        F.col("_prev").isNull() | (F.col("_prev") != F.col(column)))
    return changes.groupBy("journey").agg(F.transform(
        F.sort_array(F.collect_list(F.struct("pos", column))), lambda x: x[column]).alias(name))
