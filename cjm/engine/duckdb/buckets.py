"""The journey map of a log larger than memory: journeys in K buckets, exact figures summed.

A journey falls in bucket ``hash(journey) % K``, so every bucket holds whole journeys. Each
bucket is ordered on its own (a K-th of the sort the whole log would need), and leaves exact
partial aggregates: counts, and histograms of waits and durations (each value with how often
it occurs). Summed over the buckets they give the same figures as one pass, medians and
percentiles included, which are read off the merged histograms with DuckDB's interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence

from cjm.engine.duckdb.engine import (
    Ordering,
    ending_rows,
    figure_row,
    handoff_rows,
    move_rows,
    open_sql,
    path_rows,
    path_table_sql,
    rework_rows,
    stage_filter,
    stage_list_sql,
    stage_rows,
    top_paths_sql,
    visit_sql,
)
from cjm.engine.rows import (
    Ending,
    Handoff,
    JourneyFigures,
    PathCount,
    Rework,
    Stage,
    TransitionCount,
)
from cjm.engine.semantics import quantile_cont
from cjm.progress import step
from cjm.sql import sql_string

BYTES_PER_EVENT = 400  # what ordering one event costs DuckDB, roughly, with its window columns


def buckets_for(events: int, memory_limit_bytes: int | None) -> int:
    """How many buckets keep each one's ordering within a third of the memory limit."""
    if not memory_limit_bytes:
        return 1
    return max(1, -(-events * BYTES_PER_EVENT // (memory_limit_bytes // 3)))


def _quantile(histogram: str, keys: Sequence[str], q: float) -> str:
    """SQL: per ``keys``, the values ``a`` and ``b`` at the floor and ceiling of quantile
    ``q``'s position among the values ``v`` weighted by their counts ``n``; quantile_cont of
    cjm.engine.semantics interpolates them, as for every engine."""
    key = ", ".join(keys)
    part = f"PARTITION BY {key}" if keys else ""
    lead = f"{key}, " if keys else ""
    return (
        f"SELECT {lead}a, b FROM (SELECT {lead}"
        "min(v) FILTER (WHERE cum > lo) AS a, min(v) FILTER (WHERE cum > hi) AS b "
        "FROM (SELECT *, floor(h) AS lo, ceil(h) AS hi FROM ("
        f"SELECT {lead}v, n, sum(n) OVER ({part} ORDER BY v ROWS UNBOUNDED PRECEDING) AS cum, "
        f"(sum(n) OVER ({part}) - 1) * {float(q)} AS h FROM ({histogram}))) "
        + (f"GROUP BY {key})" if keys else ")")
    )


def _pair(histogram: str, q: float) -> str:
    """SQL: the list [a, b] of _quantile over a whole histogram."""
    return f"SELECT [a, b] FROM ({_quantile(histogram, [], q)})"


def _q(bounds: list[float] | None, n: int | None, q: float) -> float | None:
    """quantile_cont from the values at the floor and ceiling of its position."""
    return quantile_cont(bounds[0], bounds[1], n, q) if n else None


class BucketedEngine(Ordering):
    """DuckDBEngine's figures for discover() and build_map(), computed bucket by bucket;
    the analyses beyond them need the journeys ordered at once (DuckDBEngine)."""

    def __init__(self, con, suffix: str, events: str, buckets: int,
                 still_active: float | None = None) -> None:
        super().__init__(con, suffix, events)
        self.buckets = buckets
        self.still_active = still_active
        self.acc = f"acc{suffix}_"

    def prepare(self, handoff: str | None, outcome: str | None,
                stages: Sequence[str] | None = None) -> None:
        condition = stage_filter(stages)
        latest = self.log_end if self.log_end is not None else self.con.execute(
            f"SELECT epoch(max(ts)) FROM {self.events}"
            + (f" WHERE {condition}" if condition else "")).fetchall()[0][0]
        still = open_sql(latest, self.still_active if latest is not None else None, "")
        a = self.acc
        for name, columns in (
            ("stage", "stage VARCHAR, events BIGINT, journeys BIGINT, starts BIGINT, "
                      "ends BIGINT, again BIGINT, extra BIGINT"),
            ("trans", "stage VARCHAR, next_stage VARCHAR, n BIGINT, journeys BIGINT, "
                      "handoffs BIGINT"),
            ("wait", "stage VARCHAR, next_stage VARCHAR, v DOUBLE, n BIGINT"),
            ("jrn", "duration DOUBLE, events BIGINT, n BIGINT"),
            ("path", "path VARCHAR[], v DOUBLE, n BIGINT"),
            ("end", "last_stage VARCHAR, path VARCHAR[], success BOOLEAN, open BOOLEAN, "
                    "n BIGINT"),
            ("hand", "hand VARCHAR, next_hand VARCHAR, v DOUBLE, n BIGINT"),
            ("handj", "hand VARCHAR, next_hand VARCHAR, journeys BIGINT"),
        ):
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {a}{name} ({columns})")
        handoff_sql = ("hand IS NOT NULL AND next_hand IS NOT NULL AND hand <> next_hand")
        with step(f"Aggregating {self.buckets} buckets of journeys",
                  total=self.buckets) as advance:
            for bucket in range(self.buckets):
                mine = f"hash(journey) % {self.buckets} = {bucket}"
                self._order(handoff, outcome, f"{mine} AND {condition}" if condition else mine)
                s, j, names = self.seq, self.jrn, self.stage_names
                # Each bucket's stages have codes of their own: the paths are kept as text.
                path = stage_list_sql("path", names)
                for sql in (
                    f"INSERT INTO {a}stage "
                    f"{visit_sql(f'({path_table_sql(j, median=False)})', names)}",
                    f"INSERT INTO {a}trans SELECT stage, next_stage, count(*), "
                    f"count(DISTINCT journey), count(*) FILTER (WHERE {handoff_sql}) FROM {s} "
                    "WHERE next_stage IS NOT NULL GROUP BY stage, next_stage",
                    f"INSERT INTO {a}wait SELECT stage, next_stage, wait, count(*) FROM {s} "
                    "WHERE next_stage IS NOT NULL GROUP BY stage, next_stage, wait",
                    f"INSERT INTO {a}jrn SELECT duration, n, count(*) FROM {j} "
                    "GROUP BY duration, n",
                    f"INSERT INTO {a}path SELECT {path}, duration, n FROM (SELECT path, "
                    f"duration, count(*) AS n FROM {j} GROUP BY path, duration)",
                    f"INSERT INTO {a}end SELECT {names}[path[-1] + 1], {path}, success, open, "
                    f"n FROM (SELECT path, success, {still} AS open, count(*) AS n FROM {j} "
                    "GROUP BY ALL)",
                    f"INSERT INTO {a}hand SELECT hand, next_hand, wait, count(*) FROM {s} "
                    f"WHERE next_stage IS NOT NULL AND {handoff_sql} GROUP BY ALL",
                    f"INSERT INTO {a}handj SELECT hand, next_hand, count(DISTINCT journey) "
                    f"FROM {s} WHERE next_stage IS NOT NULL AND {handoff_sql} GROUP BY ALL",
                ):
                    self.con.execute(sql)
                self.con.execute(f"DROP TABLE {s}")
                self.con.execute(f"DROP TABLE {j}")
                advance(bucket + 1)

    def _merged(self, name: str, keys: str) -> str:
        """A histogram table with each value once per key."""
        return f"SELECT {keys}, v, sum(n) AS n FROM {self.acc}{name} GROUP BY {keys}, v"

    def stages(self) -> list[Stage]:
        return stage_rows(self._fetch(
            "SELECT stage, sum(events)::BIGINT, sum(journeys)::BIGINT, sum(starts)::BIGINT, "
            f"sum(ends)::BIGINT FROM {self.acc}stage GROUP BY stage"))

    def rework(self) -> list[Rework]:
        return rework_rows(self._fetch(
            f"SELECT stage, sum(again)::BIGINT, sum(extra)::BIGINT FROM {self.acc}stage "
            "GROUP BY stage HAVING sum(again) > 0"))

    def transitions(self) -> list[TransitionCount]:
        keys = ["stage", "next_stage"]
        waits = self._merged("wait", "stage, next_stage")
        return move_rows((a, b, n, j, _q(m, n, 0.5), mean, _q(p, n, 0.9), h) for
                         a, b, n, j, m, mean, p, h in self._fetch(
            "SELECT t.stage, t.next_stage, t.n, t.journeys, [m.a, m.b], w.mean, [p.a, p.b], "
            "t.handoffs FROM "
            f"(SELECT stage, next_stage, sum(n)::BIGINT n, sum(journeys)::BIGINT journeys, "
            f"sum(handoffs)::BIGINT handoffs FROM {self.acc}trans GROUP BY ALL) t "
            f"JOIN ({_quantile(waits, keys, 0.5)}) m USING (stage, next_stage) "
            f"JOIN ({_quantile(waits, keys, 0.9)}) p USING (stage, next_stage) "
            "JOIN (SELECT stage, next_stage, sum(v * n) / sum(n) AS mean FROM "
            f"({waits}) GROUP BY ALL) w USING (stage, next_stage)"))

    def journey_figures(self) -> JourneyFigures:
        durations = f"SELECT duration AS v, sum(n) AS n FROM {self.acc}jrn GROUP BY duration"
        events = f"SELECT events::DOUBLE AS v, sum(n) AS n FROM {self.acc}jrn GROUP BY events"
        n, d_med, d_p90, d_mean, n_med, n_mean, n_max = self._fetch(
            f"SELECT (SELECT sum(n)::BIGINT FROM {self.acc}jrn), "
            f"({_pair(durations, 0.5)}), ({_pair(durations, 0.9)}), "
            f"(SELECT sum(duration * n) / sum(n) FROM {self.acc}jrn), "
            f"({_pair(events, 0.5)}), "
            f"(SELECT sum(events * n) / sum(n) FROM {self.acc}jrn), "
            f"(SELECT max(events) FROM {self.acc}jrn)")[0]
        return figure_row((n, _q(d_med, n, 0.5), _q(d_p90, n, 0.9), d_mean, _q(n_med, n, 0.5),
                           n_mean, n_max))

    def paths(self) -> list[PathCount]:
        durations = self._merged("path", "path")
        return path_rows((p, j, _q(m, j, 0.5)) for p, j, m in self._fetch(
            "SELECT p.path, p.j, [m.a, m.b] FROM (SELECT path, sum(n)::BIGINT j FROM "
            f"{self.acc}path "
            f"GROUP BY path) p JOIN ({_quantile(durations, ['path'], 0.5)}) m USING (path) "
            "ORDER BY p.j DESC, p.path"))

    def endings(self, goals: Sequence[str], use_outcome: bool,
                still_active_seconds: float | None) -> list[Ending]:
        listing = ", ".join(sql_string(g) for g in goals)
        reached = "success" if use_outcome else (
            f"list_has_any(path, [{listing}]::VARCHAR[])" if goals else "false")
        is_open = "open" if still_active_seconds else "false"
        return ending_rows(self._fetch(top_paths_sql(
            "SELECT last_stage, status, path, sum(n)::BIGINT AS n FROM (SELECT last_stage, "
            f"path, CASE WHEN {reached} THEN 'goal' WHEN {is_open} THEN 'open' "
            f"ELSE 'dead_end' END AS status, n FROM {self.acc}end) "
            "GROUP BY last_stage, status, path")))

    def handoff_matrix(self) -> list[Handoff]:
        waits = self._merged("hand", "hand, next_hand")
        return handoff_rows((a, b, n, _q(m, n, 0.5), j) for a, b, n, m, j in self._fetch(
            "SELECT h.hand, h.next_hand, h.n, [m.a, m.b], j.journeys FROM (SELECT hand, "
            "next_hand, "
            f"sum(n)::BIGINT n FROM {self.acc}hand GROUP BY ALL) h "
            f"JOIN ({_quantile(waits, ['hand', 'next_hand'], 0.5)}) m USING (hand, next_hand) "
            f"JOIN (SELECT hand, next_hand, sum(journeys)::BIGINT journeys FROM "
            f"{self.acc}handj GROUP BY ALL) j USING (hand, next_hand)"))

    def _fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()
