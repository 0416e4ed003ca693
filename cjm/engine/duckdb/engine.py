"""The DuckDB engine's aggregates (cjm.engine.protocol.Engine), in SQL.

It orders each journey once (timestamp, then file, then line) into the table ``seq``; every
figure is then an aggregate over ``seq``, over ``jrn`` (one row a journey) or over ``pth``
(one row a distinct path, with its journeys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
    unsummable,
)
from cjm.errors import UsageError
from cjm.sql import sql_name, sql_string

if TYPE_CHECKING:
    from cjm.engine.duckdb.checks import PendingChecks


def _rows(con, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def refuse_unheld(con, events: str, *roles: str | None) -> None:
    """UsageError for a role among ``roles`` whose values ``events`` do not hold: one not
    mapped, or one that read_log's ``hold`` left out (cjm.engine.duckdb.eventlog)."""
    columns = {row[0] for row in con.execute(f"DESCRIBE {events}").fetchall()}
    missing = [role for role in roles if role is not None and role not in columns]
    if missing:
        raise UsageError(f"this log's events hold no {' or '.join(missing)} values: not "
                         "mapped, or left out by read_log's hold",
                         "Read the log again without hold, or with them in it.")


def stage_filter(stages: Sequence[str] | None) -> str:
    """SQL that keeps the events of ``stages`` (all events for None)."""
    if stages is None:
        return ""
    return f"stage IN ({', '.join(sql_string(s) for s in stages) or 'NULL'})"


# Costs and numeric outcomes: decimals (cjm.engine.semantics.decimal_value), added in a
# decimal of 38 digits, exact in any order.
DECIMAL_SQL = f"DECIMAL({DECIMAL_DIGITS}, {DECIMAL_PLACES})"
SUM_SQL = f"DECIMAL(38, {DECIMAL_PLACES})"


def number_sql(column: str) -> str:
    """SQL: the decimal a cost or numeric outcome in ``column`` counts as (NULL for no number,
    and for one too large, which _refuse_unsummable() reports first)."""
    text = f"trim(CAST({sql_name(column)} AS VARCHAR))"
    return (f"CASE WHEN regexp_full_match({text}, {sql_string(NUMBER)}) "
            f"THEN TRY_CAST({text} AS {DECIMAL_SQL}) END")


def _median_sql(values: str, key: str) -> str:
    """SQL: per ``key`` of ``values`` (with the column cjm_total), the count, the exact sum,
    and the values at the floor and ceiling of the median's position."""
    return (f"SELECT {key}, count(*), sum(cjm_total), "
            "max(cjm_total) FILTER (WHERE r = (n - 1) // 2), "
            "max(cjm_total) FILTER (WHERE r = n // 2) FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY cjm_total) - 1 AS r, "
            f"count(*) OVER (PARTITION BY {key}) AS n FROM ({values})) GROUP BY {key}")


def truthy_sql(column: str) -> str:
    """SQL: whether ``column``'s value is one of TRUTHY."""
    return (f"lower(trim(CAST({sql_name(column)} AS VARCHAR))) IN ("
            + ", ".join(sql_string(t) for t in TRUTHY) + ")")


# The rows of the aggregates discover() reads, from the columns the queries below (and
# those of cjm.engine.duckdb.buckets) select, in order.
def stage_rows(rows: Iterable[tuple]) -> list[Stage]:
    return [Stage(s, int(e), int(j), int(a), int(z)) for s, e, j, a, z in rows]


def move_rows(rows: Iterable[tuple]) -> list[TransitionCount]:
    return [TransitionCount(a, b, int(n), int(j), float(med), float(mean), float(p90), int(h))
            for a, b, n, j, med, mean, p90, h in rows]


def path_rows(rows: Iterable[tuple]) -> list[PathCount]:
    return [PathCount(tuple(p), int(j), float(m)) for p, j, m in rows]


def figure_row(row: tuple) -> JourneyFigures:
    n, d_med, d_p90, d_mean, n_med, n_mean, n_max = row
    return JourneyFigures(int(n or 0), d_med, d_p90, d_mean, n_med, n_mean,
                          None if n_max is None else int(n_max))


def rework_rows(rows: Iterable[tuple]) -> list[Rework]:
    return [Rework(s, int(j), int(x)) for s, j, x in rows]


def ending_rows(rows: Iterable[tuple]) -> list[Ending]:
    return [Ending(s, status, int(n), tuple(p), int(k)) for s, status, n, p, k in rows]


def handoff_rows(rows: Iterable[tuple]) -> list[Handoff]:
    return [Handoff(str(a), str(b), int(n), float(m), int(j)) for a, b, n, m, j in rows]


def open_sql(log_end: float | None, still_active_seconds: float | None, latest: str) -> str:
    """SQL: whether a journey (its last event ``last_ts``) may still be running; ``latest``
    is SQL for the last event's epoch when the log's end is not known."""
    if not still_active_seconds:
        return "false"
    if log_end is None:
        return f"epoch(last_ts) >= {latest} - {float(still_active_seconds)}"
    return f"epoch(last_ts) >= {open_from(log_end, still_active_seconds)!r}"


def visit_sql(paths: str, names: str) -> str:
    """SQL, per stage (named from ``names``, as in stage_list_sql()), from ``paths`` (each
    distinct path with its number ``id`` and its journeys ``j``): events, journeys, starts,
    ends, journeys coming back and extra visits.
    A path holds every visit of its journeys, and paths are far fewer than events (87,206
    for 10M events: 0.15 s where grouping the events by journey and stage took 1 s). The
    visits are grouped by the path's number, not the path: a key as long as the path would
    make a long journey cost the square of its length."""
    return (f"SELECT {names}[stage + 1], sum(j * c)::BIGINT, sum(j)::BIGINT, "
            "coalesce(sum(j) FILTER (WHERE is_start), 0)::BIGINT, "
            "coalesce(sum(j) FILTER (WHERE is_end), 0)::BIGINT, "
            "coalesce(sum(j) FILTER (WHERE c > 1), 0)::BIGINT, sum(j * (c - 1))::BIGINT "
            "FROM (SELECT j, stage, count(*) AS c, bool_or(i = 1) AS is_start, "
            "bool_or(i = n) AS is_end FROM (SELECT id, j, len(path) AS n, "
            f"unnest(path) AS stage, generate_subscripts(path, 1) AS i FROM {paths}) "
            "GROUP BY id, j, stage) GROUP BY stage")


def path_table_sql(jrn: str, median: bool = True) -> str:
    """SQL: the distinct paths of ``jrn``, each with a number ``id``, its journeys ``j``,
    those of them that succeed ``g`` and, with ``median``, their median duration ``m``
    (which holds every journey's duration)."""
    m = ", median(duration) AS m" if median else ""
    return (f"SELECT row_number() OVER () AS id, * FROM (SELECT path, count(*) AS j, "
            f"count(*) FILTER (WHERE success) AS g{m} FROM {jrn} GROUP BY path)")


def top_paths_sql(counts: str) -> str:
    """SQL: per last stage and status ('goal', 'open', 'dead_end') of the rows of ``counts``
    (last_stage, status, path, n: its journeys), their journeys and the path most of them
    took (the first path by its stages among equals): the rows of ending_rows()."""
    return (f"WITH c AS ({counts}), "
            "r AS (SELECT *, row_number() OVER (PARTITION BY last_stage, status "
            "ORDER BY n DESC, path) AS rank, sum(n) OVER (PARTITION BY last_stage, status) "
            "AS total FROM c) "
            "SELECT last_stage, status, total::BIGINT, path, n FROM r WHERE rank = 1")


def stage_list_sql(path: str, names: str) -> str:
    """SQL: the stages of ``path`` (a list of codes, journeys_sql()) as text, the code c
    naming the stage at c + 1 of ``names`` (SQL for the list of the ENUM's names)."""
    return f"list_transform({path}, lambda c: {names}[c + 1])"


# A code of an ENUM as one character: past the control characters, and past the surrogates,
# which are no characters (a log would need 55,264 stages to reach them).
_SURROGATES = 0xD800 - 32


def _code_char(code: int) -> str:
    return chr(code + 32 + 2048 * (code >= _SURROGATES))


_CODE_CHAR_SQL = f"chr((c + 32 + 2048 * (c >= {_SURROGATES})::INTEGER)::INTEGER)"


def path_text_sql(path: str) -> str:
    """SQL: the text of ``path`` (a list of stage codes), a character a stage (_code_char of
    its code): DuckDB turns a list into Python values one at a time, 0.4 s for the 985,634
    stages of the paths of 10M events, where their text is made, fetched and read in
    0.17 s."""
    return f"array_to_string(list_transform({path}, lambda c: {_CODE_CHAR_SQL}), '')"


def journeys_sql(seq: str) -> str:
    """SQL: a row a journey of ``seq`` (the table ``jrn``): its path, events, duration, last
    event's time, and success.

    A path is the codes of its stages' ENUM (stage_list_sql() names them), in the order of
    their positions: each code is packed below its position into one integer, whose list
    sorts as the positions do. That took 0.9 to 1.1 s at 10M events where selecting the
    stages by the grades of a list of positions took 1.3 to 1.6 s (and three times as long
    ordering the aggregate by position). A journey of 2^31 events or more would overflow the
    shift, and DuckDB refuses it."""
    return ("SELECT journey, path, n, duration, last_ts, success FROM (SELECT journey, "
            "list_transform(list_sort(list((pos << 32) | enum_code(stage))), "
            "lambda x: (x & 4294967295)::UINTEGER) AS path, "
            "count(*) AS n, epoch(max(ts)) - epoch(min(ts)) AS duration, max(ts) AS last_ts, "
            f"bool_or(success) AS success FROM {seq} GROUP BY journey)")


class Ordering:
    """The journeys of an EventLog's ``events`` table (in its DuckDB connection), ordered."""

    def __init__(self, con, suffix: str = "", events: str = "events") -> None:
        self.con = con
        self.events = events
        self.seq = "seq" + suffix
        self.jrn = "jrn" + suffix
        self.funnel_table = "funnel" + suffix
        self.suffix = suffix
        self.log_end: float | None = None  # epoch seconds of the whole log's last event
        self.condition = ""  # which events of ``events`` the tables of _order() hold
        self.sources: list[str] = []  # the log's files, by their number in ``_file``
        # The log's checks still to make: ordering every event of the log finds its ties.
        self.checks: PendingChecks | None = None
        self._stage_type = ""  # the ENUM of the stages of the tables _order() made

    def prepare(self, handoff: str | None, outcome: str | None,
                stages: Sequence[str] | None = None) -> None:
        self._order(handoff, outcome, stage_filter(stages))

    def _order(self, handoff: str | None, outcome: str | None, condition: str) -> None:
        """The tables ``seq`` and ``jrn`` for the events that meet ``condition`` (SQL)."""
        self.condition = condition
        refuse_unheld(self.con, self.events, handoff, outcome)
        where = f"WHERE {condition}" if condition else ""
        # Stages as an ENUM (in name order, so that sorting is unchanged): paths become lists
        # of small integers, which sort and group several times faster than text.
        # The hand-off column likewise: a byte a value where its text took 16.
        self.con.execute(f"DROP TABLE IF EXISTS {self.seq}")
        self.con.execute(f"DROP TABLE IF EXISTS {self.jrn}")
        hand = "NULL::VARCHAR"
        if handoff:
            hand = f"{sql_name(handoff)}::{self._names('hand', sql_name(handoff), condition)}"
        success = truthy_sql(outcome) if outcome else "false"
        self._stage_type = self._names("stage", "stage", condition)
        stage = f"stage::{self._stage_type}"
        # Events of one file all have the _file 0: sorting by it too took 4% of the window.
        order = "ts, _line" if len(self.sources) == 1 else "ts, _file, _line"
        # Cast before the window, not in it: lead() of a cast casts every value again
        # (0.9 s of 3.3 s at 10M events).
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.seq} AS SELECT journey, stage, ts, hand, "
            "success, row_number() OVER w AS pos, lead(stage) OVER w AS next_stage, "
            "epoch(lead(ts) OVER w) - epoch(ts) AS wait, lead(hand) OVER w AS next_hand "
            f"FROM (SELECT journey, {stage} AS stage, ts, _file, _line, {hand} AS hand, "
            f"{success} AS success FROM {self.events} {where}) "
            f"WINDOW w AS (PARTITION BY journey ORDER BY {order})"
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.jrn} AS {journeys_sql(self.seq)}")
        if self.checks is not None and not condition:
            self.checks.check(self.con, self.seq, self.jrn)
            self.checks = None

    @property
    def stage_names(self) -> str:
        """SQL: the list of the names of the stages of the tables _order() made, by code."""
        return f"enum_range(NULL::{self._stage_type})"

    def _names(self, name: str, column: str, condition: str) -> str:
        """An ENUM type of the values of ``column`` in the events that meet ``condition``,
        in name order (so that sorting by it is sorting by the text); its name."""
        kind = f"{name}_names{self.suffix}"
        self.con.execute(f"DROP TYPE IF EXISTS {kind}")
        self.con.execute(f"CREATE TYPE {kind} AS ENUM (SELECT DISTINCT {column} FROM "
                         f"{self.events} WHERE {column} IS NOT NULL"
                         f"{f' AND ({condition})' if condition else ''} ORDER BY 1)")
        return kind

    def outcome_values(self, role: str, limit: int = 50) -> list[str]:
        refuse_unheld(self.con, self.events, role)
        return [row[0] for row in _rows(self.con,
            "SELECT DISTINCT lower(trim(raw)) v FROM (SELECT DISTINCT "
            f"CAST({sql_name(role)} AS VARCHAR) AS raw FROM {self.events}) "
            f"WHERE v IS NOT NULL AND v <> '' ORDER BY v LIMIT {int(limit)}")]


class DuckDBEngine(Ordering):
    """Every aggregate of the Engine Protocol, over the ordered journeys."""

    _visits: list[tuple] | None = None  # _visit_figures() of the tables _order() made
    _paths_made = False  # whether the table of paths of the tables _order() made exists
    _names_read: list[str] | None = None  # the stages' names of the tables _order() made

    def _order(self, handoff: str | None, outcome: str | None, condition: str) -> None:
        # The table of paths is made again (CREATE OR REPLACE) when next read.
        self._visits, self._paths_made, self._names_read = None, False, None
        super()._order(handoff, outcome, condition)

    def _stage_list(self) -> list[str]:
        """The names of the stages, by code (the codes of the paths, journeys_sql())."""
        if self._names_read is None:
            self._names_read = [row[0] for row in _rows(
                self.con, f"SELECT unnest({self.stage_names})")]
        return self._names_read

    def _stage_codes(self, stages: Sequence[str]) -> str:
        """SQL: the list of the codes of those of ``stages`` the paths hold."""
        code = {name: c for c, name in enumerate(self._stage_list())}
        return f"[{', '.join(str(code[s]) for s in stages if s in code)}]::UINTEGER[]"

    def _named(self, codes: Iterable[int]) -> tuple[str, ...]:
        """The stages of a path fetched as codes."""
        names = self._stage_list()
        return tuple([names[c] for c in codes])

    def _named_endings(self, rows: Iterable[tuple]) -> list[Ending]:
        """ending_rows() of rows whose last stage and path are codes."""
        names = self._stage_list()
        return ending_rows((names[last], status, n, self._named(path), k)
                           for last, status, n, path, k in rows)

    @property
    def _paths(self) -> str:
        return "pth" + self.suffix

    def _path_table(self) -> str:
        """The table of path_table_sql(), made on first use; the stages, the transitions'
        journeys and the paths read it."""
        if not self._paths_made:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self._paths} AS "
                             + path_table_sql(self.jrn))
            self._paths_made = True
        return self._paths

    def _visit_figures(self) -> list[tuple]:
        """visit_sql()'s rows, for stages() and rework() alike: no table of the visits."""
        if self._visits is None:
            self._visits = _rows(self.con, visit_sql(self._path_table(), self.stage_names))
        return self._visits

    def stages(self) -> list[Stage]:
        return stage_rows(row[:5] for row in self._visit_figures())

    def transitions(self) -> list[TransitionCount]:
        # A transition's journeys are counted on the paths, each pair once a path (by the
        # path's number, as in visit_sql()): counting distinct journey ids over the events
        # took three times as long as the rest. The median and the 90th percentile come from
        # one aggregate, which sorts each transition's waits once: 0.1 s of 0.3 s at 10M
        # events, the same figures as median() (DuckDB's 0.5 quantile, interpolated alike).
        return move_rows(_rows(self.con,
            "SELECT stage, next_stage, n, journeys, q[1], mean, q[2], h FROM ("
            "SELECT stage, next_stage, enum_code(stage) AS a, enum_code(next_stage) AS b, "
            "count(*) AS n, quantile_cont(wait, [0.5, 0.9]) AS q, avg(wait) AS mean, "
            "count(*) FILTER (WHERE hand IS DISTINCT FROM next_hand AND hand IS NOT NULL "
            f"AND next_hand IS NOT NULL) AS h FROM {self.seq} WHERE next_stage IS NOT NULL "
            "GROUP BY stage, next_stage) JOIN (SELECT a, b, sum(j)::BIGINT AS "
            "journeys FROM (SELECT DISTINCT id, j, "
            "unnest(list_slice(path, 1, len(path) - 1)) AS a, "
            "unnest(list_slice(path, 2, len(path))) AS b "
            f"FROM {self._path_table()}) GROUP BY a, b) USING (a, b)"))

    def _path_reader(self) -> Callable[[str], tuple[str, ...]]:
        """A function from the text of a path (path_text_sql()) to its stages."""
        stage_of = {_code_char(code): name for code, name in enumerate(self._stage_list())}
        return lambda text: tuple(map(stage_of.__getitem__, text))

    def paths(self) -> list[PathCount]:
        stages = self._path_reader()
        return [PathCount(stages(path), int(j), float(m)) for path, j, m in _rows(self.con,
                f"SELECT {path_text_sql('path')}, j, m FROM {self._path_table()} "
                "ORDER BY j DESC, path")]

    def journey_figures(self) -> JourneyFigures:
        return figure_row(_rows(self.con,
            "SELECT count(*), median(duration), quantile_cont(duration, 0.9), avg(duration), "
            f"median(n), avg(n), max(n) FROM {self.jrn}")[0])

    def rework(self) -> list[Rework]:
        return rework_rows((s, j, x) for s, *_, j, x in self._visit_figures() if j)

    def _status(self, goals: Sequence[str], use_outcome: bool,
                still_active_seconds: float | None) -> str:
        """SQL: how a journey of ``jrn`` ends ('goal', 'open' or 'dead_end')."""
        listing = ", ".join(sql_string(g) for g in goals) or "NULL"
        # A journey succeeds once it reaches a goal stage, whatever happens after it.
        success = "success" if use_outcome else (
            f"journey IN (SELECT journey FROM {self.seq} WHERE stage IN ({listing}))")
        still = open_sql(self.log_end, still_active_seconds,
                         f"(SELECT epoch(max(last_ts)) FROM {self.jrn})")
        return f"CASE WHEN {success} THEN 'goal' WHEN {still} THEN 'open' ELSE 'dead_end' END"

    def endings(self, goals: Sequence[str], use_outcome: bool,
                still_active_seconds: float | None) -> list[Ending]:
        if still_active_seconds:  # whether a journey is still open is its own
            status = self._status(goals, use_outcome, still_active_seconds)
            return self._named_endings(_rows(self.con, top_paths_sql(
                "SELECT path[-1] AS last_stage, status, path, count(*) AS n FROM (SELECT path, "
                f"{status} AS status FROM {self.jrn}) GROUP BY last_stage, status, path")))
        # Else a journey ends as its path says, with its outcome: counted on the paths, 0.02 s
        # where grouping the journeys by status and path took 0.2 s at 10M events.
        goal = "g" if use_outcome else (
            f"CASE WHEN list_has_any(path, {self._stage_codes(goals)}) THEN j ELSE 0 END")
        return self._named_endings(_rows(self.con, top_paths_sql(
            f"SELECT path[-1] AS last_stage, status, path, n FROM (SELECT path, 'goal' AS status, "
            f"{goal} AS n FROM {self._path_table()} UNION ALL SELECT path, 'dead_end', "
            f"j - {goal} FROM {self._path_table()}) WHERE n > 0")))

    def path_endings(self, goals: Sequence[str], use_outcome: bool,
                     still_active_seconds: float | None,
                     before_goal: bool = False) -> list[PathEnding]:
        status = self._status(goals, use_outcome, still_active_seconds)
        stages = self._path_reader()
        if not before_goal:
            return [PathEnding(stages(p), s, int(n)) for p, s, n in _rows(self.con,
                f"SELECT {path_text_sql('path')}, status, n FROM (SELECT path, {status} AS "
                f"status, count(*) AS n FROM {self.jrn} GROUP BY ALL)")]
        listing = ", ".join(sql_string(g) for g in goals) or "NULL"
        return [PathEnding(stages(p), s, int(n)) for p, s, n in _rows(self.con,
            f"WITH c AS (SELECT journey, min(pos) FILTER (WHERE stage::VARCHAR IN ({listing})) "
            f"AS cut FROM {self.seq} GROUP BY journey), "
            "b AS (SELECT s.journey, list(enum_code(s.stage) ORDER BY s.pos) FILTER "
            "(WHERE c.cut IS NULL OR s.pos < c.cut) AS before "
            f"FROM {self.seq} s JOIN c USING (journey) GROUP BY s.journey) "
            f"SELECT coalesce({path_text_sql('before')}, ''), {status} AS status, count(*) "
            f"FROM {self.jrn} JOIN b USING (journey) GROUP BY ALL")]

    def handoff_matrix(self) -> list[Handoff]:
        return handoff_rows(_rows(self.con,
            "SELECT hand, next_hand, count(*), median(wait), count(DISTINCT journey) FROM "
            f"{self.seq} WHERE next_stage IS NOT NULL AND hand IS NOT NULL AND next_hand "
            "IS NOT NULL AND hand <> next_hand GROUP BY hand, next_hand"))

    def path_examples(self, n: int = 3) -> dict[tuple[str, ...], list[str]]:
        stages = self._path_reader()
        return {stages(path): ids for path, ids in _rows(self.con,
            f"SELECT {path_text_sql('path')}, ids FROM (SELECT path, "
            f"list(journey ORDER BY journey)[1:{int(n)}] AS ids FROM {self.jrn} GROUP BY path)")}

    def journey_paths(self, journeys: Sequence[str] | None = None
                      ) -> Iterator[tuple[str, tuple[str, ...]]]:
        stages = self._path_reader()
        where = "" if journeys is None else "WHERE journey IN (SELECT unnest(?)) "
        result = self.con.execute(f"SELECT journey, {path_text_sql('path')} FROM {self.jrn} "
                                  f"{where}ORDER BY journey", [] if journeys is None else
                                  [list(journeys)])
        while batch := result.fetchmany(10_000):
            for journey, path in batch:
                yield journey, stages(path)

    def slow_transitions(self, limits: Mapping[tuple[str, str], float]) -> list[SlowWait]:
        if not limits:
            return []
        pairs = " OR ".join(
            f"(stage = {sql_string(a)} AND next_stage = {sql_string(b)} AND wait > {float(s)})"
            for (a, b), s in sorted(limits.items()))
        return [SlowWait(a, b, j, float(w)) for a, b, j, w in _rows(self.con,
            f"SELECT stage, next_stage, journey, wait FROM {self.seq} WHERE {pairs} "
            "ORDER BY journey, pos")]

    def funnel(self, steps: Sequence[Sequence[str]], strict: bool,
               within: float | None) -> list[FunnelCount]:
        # The matches are kept in the table ``funnel_<suffix>`` for funnel_next().
        span = "epoch(e.ts) - epoch(m.t0)" if strict else "abs(epoch(e.ts) - epoch(m.t0))"
        window = f" AND {span} <= {float(within)}" if within else ""
        names = ["(" + ", ".join(sql_string(s) for s in step) + ")" for step in steps]
        parts = [f"m0 AS (SELECT journey, min(pos) AS pos, arg_min(ts, pos) AS ts, "
                 f"arg_min(ts, pos) AS t0 FROM {self.seq} WHERE stage IN {names[0]} "
                 "GROUP BY journey)"]
        for k, step in enumerate(names[1:], start=1):
            # Strict: after the previous match; any order: anywhere in the journey.
            after = " AND e.pos > m.pos" if strict else ""
            parts.append(
                f"m{k} AS (SELECT m.journey, min(e.pos) AS pos, arg_min(e.ts, e.pos) AS ts, "
                f"m.t0 FROM m{k - 1} m JOIN {self.seq} e ON e.journey = m.journey "
                f"AND e.stage IN {step}{after}{window} GROUP BY m.journey, m.t0)")
        union = " UNION ALL ".join(
            f"SELECT {k} AS step, journey, pos, ts FROM m{k}" for k in range(len(steps)))
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.funnel_table} AS "
                         f"WITH {', '.join(parts)} {union}")
        return [FunnelCount(int(n), None if m is None else float(m)) for n, m in _rows(self.con,
            # In any order a step may come first: the time between two steps is unsigned.
            "SELECT count(a.journey), median(abs(epoch(a.ts) - epoch(b.ts))) "
            "FROM range(?) r(step) "
            f"LEFT JOIN {self.funnel_table} a ON a.step = r.step "
            f"LEFT JOIN {self.funnel_table} b ON b.step = r.step - 1 AND b.journey = a.journey "
            "GROUP BY r.step ORDER BY r.step", [len(steps)])]

    def funnel_next(self, step: int) -> list[NextStage]:
        return [NextStage(s, int(n)) for s, n in _rows(self.con,
            f"SELECT e.stage, count(*) AS n FROM {self.funnel_table} p "
            f"LEFT JOIN {self.seq} e ON e.journey = p.journey AND e.pos = p.pos + 1 "
            f"WHERE p.step = ? AND p.journey NOT IN (SELECT journey FROM {self.funnel_table} "
            "WHERE step = ?) GROUP BY e.stage ORDER BY n DESC, e.stage NULLS LAST",
            [step - 1, step])]

    def channel_mix(self) -> list[ChannelCount]:
        return [ChannelCount(s, c, int(n)) for s, c, n in _rows(self.con,
            f"SELECT stage, hand, count(*) FROM {self.seq} WHERE hand IS NOT NULL "
            "GROUP BY stage, hand")]

    def channel_sequences(self) -> list[ChannelSequence]:
        return [ChannelSequence(tuple(s), int(n)) for s, n in _rows(self.con,
            "SELECT seq, count(*) n FROM (SELECT journey, list(hand ORDER BY pos) seq FROM ("
            f"SELECT journey, pos, hand, lag(hand) OVER (PARTITION BY journey ORDER BY pos) "
            f"prev FROM {self.seq} WHERE hand IS NOT NULL) WHERE prev IS DISTINCT FROM hand "
            "GROUP BY journey) GROUP BY seq ORDER BY n DESC, seq")]

    def journeys_moving(self, pairs: Sequence[tuple[str, str]]) -> int:
        moves = " OR ".join(f"(hand = {sql_string(a)} AND next_hand = {sql_string(b)})"
                            for a, b in pairs) or "false"
        return int(_rows(self.con, f"SELECT count(DISTINCT journey) FROM {self.seq} "
                                   f"WHERE next_hand IS NOT NULL AND ({moves})")[0][0])

    def costs(self, prices: Mapping[str, float] | None) -> Costs:
        if prices:
            cost_sql = f"CASE {sql_name('channel')} " + " ".join(
                f"WHEN {sql_string(c)} THEN {decimal_value(repr(float(p)))}::{DECIMAL_SQL}"
                for c, p in sorted(prices.items())) + " END"
        else:
            self._refuse_unsummable("cost")
            cost_sql = number_sql("cost")
        where = f"WHERE {self.condition}" if self.condition else ""
        # Aliases with a prefix no column of the events table has: a column named like an
        # alias (the cost column "cost") must never be read as the alias instead.
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE cost{self.suffix} AS SELECT journey AS cjm_journey, "
            f"stage AS cjm_stage, coalesce({cost_sql}, 0)::{SUM_SQL} AS cjm_cost "
            f"FROM {self.events} {where}")
        totals = (f"(SELECT cjm_journey, sum(cjm_cost) AS cjm_total FROM cost{self.suffix} "
                  "GROUP BY cjm_journey)")
        by_path = [PathCost(self._named(p), int(j), exact_float(t), exact_median(lo, hi, j))
                   for p, j, t, lo, hi in _rows(self.con, _median_sql(
            f"SELECT j.path AS cjm_key, c.cjm_total FROM {self.jrn} j JOIN {totals} c "
            "ON c.cjm_journey = j.journey", "cjm_key"))]
        by_stage = [StageCost(s, int(e), exact_float(c)) for s, e, c in _rows(self.con,
            f"SELECT cjm_stage, count(*), sum(cjm_cost) FROM cost{self.suffix} GROUP BY cjm_stage")]
        overall = _rows(self.con, _median_sql(f"SELECT 0 AS cjm_key, cjm_total FROM {totals}",
                                              "cjm_key"))
        n, total, low, high = overall[0][1:] if overall else (0, None, None, None)
        return Costs(int(n), exact_float(total), exact_median(low, high, n),
                     exact_mean(total, n), by_stage, by_path)

    def _refuse_unsummable(self, role: str) -> None:
        """A data error for the first number of ``role`` too large to add exactly."""
        text = f"trim(CAST({sql_name(role)} AS VARCHAR))"
        for f, line, value in _rows(self.con,
                f"SELECT _file, _line, {text} FROM {self.events} WHERE regexp_full_match("
                f"{text}, {sql_string(NUMBER)}) AND TRY_CAST({text} AS {DECIMAL_SQL}) IS NULL "
                "ORDER BY _file, _line LIMIT 1"):
            raise unsummable(role, value, f"{self.sources[f]}:{line}")

    def outcome_sums(self, kind: str, before: Sequence[str] = ()
                     ) -> tuple[OutcomeSums, list[OutcomeItem]]:
        raw = f"lower(trim(CAST({sql_name('outcome')} AS VARCHAR)))"
        if kind == "rate":
            truthy = ", ".join(sql_string(t) for t in TRUTHY)
            y_sql = (f"max(CASE WHEN {raw} IN ({truthy}) THEN 1 WHEN {raw} IS NULL OR "
                     f"{raw} = '' THEN NULL ELSE 0 END)")
        else:
            self._refuse_unsummable("outcome")
            number = number_sql("outcome")
            # The last value in journey order: equal timestamps keep file order.
            y_sql = f"arg_max({number}, (ts, _file, _line)) FILTER (WHERE {number} IS NOT NULL)"
        # Each outcome also as its whole part and its fraction in units, whose products
        # (for the sums of squares) stay within 38 digits.
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE outcome{self.suffix} AS SELECT journey, y, "
            "CAST(floor(y) AS HUGEINT) AS w, "
            f"CAST((y - floor(y)) * {10 ** DECIMAL_PLACES} AS HUGEINT) AS f FROM ("
            f"SELECT journey, CAST({y_sql} AS {SUM_SQL}) AS y FROM {self.events} "
            "GROUP BY journey) WHERE y IS NOT NULL")
        sums = "count(*), sum(y), sum(w * w), sum(w * f), sum(f * f)"
        overall = _rows(self.con, f"SELECT {sums} FROM outcome{self.suffix}")[0]
        seq = self.seq
        if before:  # the events before the first goal event; the last of them goes nowhere
            goals = ", ".join(sql_string(g) for g in before)
            seq = ("(SELECT s.journey, s.stage, CASE WHEN g.cut IS NULL OR s.pos + 1 < g.cut "
                   f"THEN s.next_stage END AS next_stage FROM {self.seq} s LEFT JOIN "
                   f"(SELECT journey, min(pos) AS cut FROM {self.seq} WHERE stage::VARCHAR IN "
                   f"({goals}) GROUP BY journey) g USING (journey) "
                   "WHERE g.cut IS NULL OR s.pos < g.cut)")
        items = _rows(self.con,
            f"SELECT kind, item, {sums} FROM ("
            f"SELECT DISTINCT journey, 'stage' AS kind, stage AS item FROM {seq} "
            f"UNION SELECT DISTINCT journey, 'transition', stage || ' → ' || next_stage "
            f"FROM {seq} WHERE next_stage IS NOT NULL) "
            f"JOIN outcome{self.suffix} USING (journey) GROUP BY kind, item")
        return (exact_outcomes(*overall),
                [OutcomeItem(k, name, exact_outcomes(*sums)) for k, name, *sums in items])

    def touch_sequences(self, goals: Sequence[str], by_channel: bool) -> list[TouchSequence]:
        """The distinct touch sequences of the journeys, with those that convert and not;
        after prepare() (with the channel as hand-off column for ``by_channel``).

        A touch is a stage, or with ``by_channel`` a channel (events without one have none);
        consecutive repeats count once. With ``goals``, a journey converts when it reaches one
        of them, and only its events before the first goal event are touches (with channels,
        up to and including it); without, it converts when its outcome is truthy (prepare()
        with the outcome) and all its events are touches.
        """
        touch = "hand" if by_channel else "stage::VARCHAR"
        cut, keep, converted = "SELECT NULL AS journey, NULL AS cut WHERE false", "true", \
            "coalesce(j.success, false)"
        if goals:
            listing = ", ".join(sql_string(g) for g in goals)
            cut = (f"SELECT journey, min(pos) AS cut FROM {self.seq} WHERE stage::VARCHAR IN "
                   f"({listing}) GROUP BY journey")
            keep = f"g.cut IS NULL OR s.pos {'<=' if by_channel else '<'} g.cut"
            converted = "g.cut IS NOT NULL"
        rows = _rows(self.con,
            f"WITH g AS ({cut}), "
            f"t AS (SELECT s.journey, s.pos, {touch} AS touch FROM {self.seq} s "
            f"LEFT JOIN g USING (journey) WHERE ({keep}) AND {touch} IS NOT NULL), "
            "f AS (SELECT journey, pos, touch, lag(touch) OVER (PARTITION BY journey "
            "ORDER BY pos) AS prev FROM t), "
            "l AS (SELECT journey, list(touch ORDER BY pos) AS touches FROM f "
            "WHERE prev IS DISTINCT FROM touch GROUP BY journey) "
            "SELECT coalesce(l.touches, []::VARCHAR[]) AS touches, "
            f"count(*) FILTER (WHERE {converted}), count(*) FILTER (WHERE NOT ({converted})) "
            f"FROM {self.jrn} j LEFT JOIN l USING (journey) LEFT JOIN g USING (journey) "
            "GROUP BY touches ORDER BY touches")
        return [TouchSequence(tuple(t), int(c), int(n)) for t, c, n in rows]

    def goal_times(self, goals: Sequence[str], still_active_seconds: float | None,
                   use_outcome: bool = False) -> list[GoalTime]:
        listing = ", ".join(sql_string(g) for g in goals) or "NULL"
        goal = f"stage::VARCHAR IN ({listing})" + (" OR success" if use_outcome else "")
        latest = f"(SELECT epoch(max(last_ts)) FROM {self.jrn})"
        still = open_sql(self.log_end, still_active_seconds, latest)
        end = repr(float(self.log_end)) if self.log_end is not None else latest
        # In whole microseconds, so that a time reads 444.407, not 444.40700006484985.
        rows = _rows(self.con,
            "WITH j AS (SELECT epoch_us(min(ts)) AS t0, max(ts) AS last_ts, "
            f"epoch_us(min(ts) FILTER (WHERE {goal})) AS tg FROM {self.seq} GROUP BY journey), "
            "t AS (SELECT CASE WHEN tg IS NOT NULL THEN tg - t0 "
            f"WHEN {still} THEN CAST(round({end} * 1000000) AS BIGINT) - t0 "
            "ELSE epoch_us(last_ts) - t0 END AS us, tg IS NOT NULL AS reached FROM j) "
            "SELECT us / 1000000, reached, count(*) FROM t GROUP BY us, reached "
            "ORDER BY us, reached")
        return [GoalTime(float(seconds), bool(reached), int(n)) for seconds, reached, n in rows]
