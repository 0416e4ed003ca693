"""Where ``cjm discover`` spends its time and memory: per engine query, per phase, in Python.

    python benchmarks/profile_cjm.py /tmp/cjm-bench/shop-1m.csv --case journey_id
    python benchmarks/profile_cjm.py LOG.csv --phases cjm      # DuckDB alone, cjm's phases
    python benchmarks/profile_cjm.py LOG.csv --phases lean     # a leaner plan, for comparison
    python benchmarks/profile_cjm.py LOG.csv --phases lean-text   # the same, stages as text
    python benchmarks/profile_cjm.py LOG.csv --case journey_id --cprofile out.prof
    python benchmarks/profile_cjm.py LOG.csv --case journey_id --set "memory_limit = '1.5GB'"

Runs ``cjm discover LOG [FLAGS] --json OUT --no-map -q`` inside this process with every
DuckDB connection wrapped, so that each query cjm sends is timed (execution and fetching),
attributed to the cjm function that sent it, and followed by the process's peak resident
memory so far. It prints the queries ranked by time, the time per cjm function, and what is
left for Python (imports, assembling results, rendering, JSON).

``--phases cjm`` instead times the work in DuckDB alone, one phase after the other, as cjm
does it on a file of the example generator's columns: parsing the CSV, parsing the
timestamps, ordering the events, the window over each journey, the paths as lists, grouping
the paths. ``--phases lean`` times a leaner plan for the same figures (the log held once,
stages as an ENUM), to show what the work itself costs.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FETCHERS = ("fetchall", "fetchone", "fetchmany", "df", "fetchdf", "arrow", "fetchnumpy",
            "fetch_arrow_table", "pl")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Query:
    caller: str
    sql: str
    seconds: float
    peak_after: float


class Recorder:
    def __init__(self) -> None:
        self.queries: list[Query] = []

    def caller(self) -> str:
        for frame in reversed(traceback.extract_stack()[:-2]):
            path = Path(frame.filename)
            if "cjm" in path.parts and "benchmarks" not in path.parts:
                module = ".".join(path.with_suffix("").parts[path.parts.index("cjm"):])
                return f"{module}.{frame.name}"
        return "?"


class TimedResult:
    """What ``execute`` returns: fetching from it adds to the query's time."""

    def __init__(self, con, query: Query) -> None:
        self._con, self._query = con, query

    def __getattr__(self, name):
        attr = getattr(self._con, name)
        if name not in FETCHERS:
            return attr

        def fetch(*args, **kwargs):
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._query.seconds += time.perf_counter() - start
                self._query.peak_after = peak_mib()
        return fetch


class TimedConnection:
    def __init__(self, con, recorder: Recorder) -> None:
        self._con, self._recorder = con, recorder

    def _timed(self, method: str, sql: str, *args):
        query = Query(self._recorder.caller(), " ".join(str(sql).split()), 0.0, 0.0)
        self._recorder.queries.append(query)
        start = time.perf_counter()
        try:
            getattr(self._con, method)(sql, *args)
        finally:
            query.seconds = time.perf_counter() - start
            query.peak_after = peak_mib()
        return TimedResult(self._con, query)

    def execute(self, sql, *args):
        return self._timed("execute", sql, *args)

    def executemany(self, sql, *args):
        return self._timed("executemany", sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def profile_discover(log: str, flags: list[str], cprofile: Path | None,
                     settings: list[str]) -> None:
    marks = {}
    start = time.perf_counter()
    import cjm.cli

    marks["import cjm.cli"] = time.perf_counter() - start
    for name in ("duckdb", "pyarrow", "pandas"):
        t = time.perf_counter()
        __import__(name)
        marks[f"import {name}"] = time.perf_counter() - t
    import duckdb

    recorder = Recorder()
    connect = duckdb.connect
    def timed_connect(*args, **kwargs):
        con = connect(*args, **kwargs)
        for setting in settings:  # what-if experiments: SET memory_limit = '1.5GB'
            con.execute(f"SET {setting}")
        return TimedConnection(con, recorder)

    duckdb.connect = timed_connect
    scratch = tempfile.TemporaryDirectory(prefix="cjm-profile-")
    out = Path(scratch.name) / "out.json"
    argv = ["discover", log, *flags, "--json", str(out), "--no-map", "-q"]
    profiler = None
    if cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    baseline = peak_mib()
    t = time.perf_counter()
    try:
        cjm.cli.app(argv, standalone_mode=False)
    finally:
        scratch.cleanup()
        if profiler:
            profiler.disable()
            profiler.dump_stats(cprofile)
    run = time.perf_counter() - t
    total = time.perf_counter() - start
    queries = recorder.queries
    in_queries = sum(q.seconds for q in queries)
    print(f"cjm {' '.join(argv)}")
    print(f"total {total:.2f} s in this process; peak resident memory {peak_mib():,.0f} MiB\n")
    print("Imports:")
    for name, seconds in marks.items():
        print(f"  {seconds:6.2f} s  {name}")
    print(f"\nThe command: {run:.2f} s; in {len(queries)} engine queries {in_queries:.2f} s; "
          f"Python outside them {run - in_queries:.2f} s\n")
    print("Per cjm function (engine queries):")
    by_caller: dict[str, float] = defaultdict(float)
    for q in queries:
        by_caller[q.caller] += q.seconds
    for caller, seconds in sorted(by_caller.items(), key=lambda item: -item[1]):
        print(f"  {seconds:6.2f} s  {100 * seconds / run:4.0f}%  {caller}")
    print("\nSlowest queries (peak MiB after each):")
    for q in sorted(queries, key=lambda q: -q.seconds)[:15]:
        print(f"  {q.seconds:6.2f} s  {q.peak_after:7,.0f}  {q.caller}: {q.sql[:150]}")
    print("\nWhere the peak memory grew (queries raising it by 20 MiB or more):")
    print(f"  {baseline:7,.0f} MiB  before the command (interpreter and imports)")
    before = baseline
    for q in queries:
        if q.peak_after - before >= 20:
            print(f"  +{q.peak_after - before:6,.0f} -> {q.peak_after:7,.0f} MiB  {q.caller}: "
                  f"{q.sql[:110]}")
        before = max(before, q.peak_after)


PHASES = [
    ("parse the CSV, count only (all columns text)",
     "SELECT count(*) FROM read_csv({src}, header=true, all_varchar=true)"),
    ("parse the CSV into a table (as load_csv: raw_0)",
     "CREATE TABLE raw AS SELECT * FROM read_csv({src}, header=true, all_varchar=true)"),
    ("parse the timestamps (try_cast(trim(...) AS TIMESTAMPTZ))",
     "SELECT count(try_cast(trim(timestamp) AS TIMESTAMPTZ)) FROM raw"),
    ("timestamps + trims + reasons into a table (as _build: staged)",
     "CREATE TABLE staged AS SELECT rowid + 2 AS _line, 0 AS _file, journey_id AS case_id, "
     "stage, timestamp AS ts_text, try_cast(trim(timestamp) AS TIMESTAMPTZ) AS ts, "
     "channel, device, segment, converted AS outcome FROM raw"),
    ("order the events by journey, ts, line (as _build: events)",
     "CREATE TABLE events AS SELECT case_id AS journey, * EXCLUDE (ts_text) FROM staged "
     "ORDER BY journey, ts, _file, _line"),
    ("the same, without ORDER BY",
     "CREATE TABLE events_unordered AS SELECT case_id AS journey, * EXCLUDE (ts_text) "
     "FROM staged"),
    ("window over each journey: pos, next stage, wait (as prepare: seq)",
     "CREATE TABLE seq AS SELECT journey, stage, ts, channel AS hand, "
     "row_number() OVER w AS pos, lead(stage) OVER w AS next_stage, "
     "epoch(lead(ts) OVER w) - epoch(ts) AS wait, lead(channel) OVER w AS next_hand "
     "FROM events WINDOW w AS (PARTITION BY journey ORDER BY ts, _file, _line)"),
    ("paths as lists per journey (as prepare: jrn)",
     "CREATE TABLE jrn AS SELECT journey, list(stage ORDER BY pos) AS path, count(*) AS n, "
     "epoch(max(ts)) - epoch(min(ts)) AS duration FROM seq GROUP BY journey"),
    ("group the paths (as paths())",
     "SELECT count(*) FROM (SELECT path, count(*) j, median(duration) FROM jrn GROUP BY path)"),
    ("transitions with median, mean, p90 waits (as transitions())",
     "SELECT count(*) FROM (SELECT stage, next_stage, count(*), count(DISTINCT journey), "
     "median(wait), avg(wait), quantile_cont(wait, 0.9) FROM seq WHERE next_stage IS NOT NULL "
     "GROUP BY stage, next_stage)"),
]



def _stage_enum(con) -> str:
    """A type for the stages: an ENUM of the distinct names, in name order."""
    names = [row[0] for row in con.execute(
        "SELECT DISTINCT stage FROM ev WHERE stage IS NOT NULL ORDER BY stage").fetchall()]
    con.execute("CREATE TYPE stage_t AS ENUM ("
                + ", ".join("'" + n.replace("'", "''") + "'" for n in names) + ")")
    return "SELECT 1"


# A leaner plan on the same file, to show what the work costs when the log is held once:
# one table of the needed columns (timestamps parsed as it loads, rowid for the file order),
# no ORDER BY, stages as an ENUM, stage figures and rework in one grouping, the quality
# counts from the window's columns.
LEAN = [
    ("one table: needed columns, timestamps parsed while loading",
     "CREATE TABLE ev AS SELECT journey_id AS journey, stage, "
     "try_cast(trim(timestamp) AS TIMESTAMPTZ) AS ts, channel, converted "
     "FROM read_csv({src}, header=true, all_varchar=true)"),
    ("stage names as an ENUM (distinct over the table)", _stage_enum),
    ("window over each journey, stages as ENUM (seq)",
     "CREATE TABLE seq AS SELECT journey, CAST(stage AS stage_t) AS stage, ts, channel AS hand, "
     "lower(trim(converted)) IN ('true', '1') AS success, row_number() OVER w AS pos, "
     "lead(CAST(stage AS stage_t)) OVER w AS next_stage, "
     "epoch(lead(ts) OVER w) - epoch(ts) AS wait, lead(channel) OVER w AS next_hand "
     "FROM ev WINDOW w AS (PARTITION BY journey ORDER BY ts, ev.rowid)"),
    ("drop the loaded table", "DROP TABLE ev"),
    ("paths as ENUM lists per journey (jrn)",
     "CREATE TABLE jrn AS SELECT journey, list(stage ORDER BY pos) AS path, count(*) AS n, "
     "epoch(max(ts)) - epoch(min(ts)) AS duration, max(ts) AS last_ts, "
     "arg_max(stage, pos) AS last_stage, bool_or(success) AS success FROM seq GROUP BY journey"),
    ("group the paths", PHASES[8][1]),
    ("transitions", PHASES[9][1]),
    ("stages and rework in one grouping by journey and stage",
     "SELECT stage, count(*), sum(c), sum(c - 1), count(*) FILTER (WHERE c > 1), "
     "count(*) FILTER (WHERE s), count(*) FILTER (WHERE e) FROM (SELECT journey, stage, "
     "count(*) c, bool_or(pos = 1) s, bool_or(next_stage IS NULL) e FROM seq "
     "GROUP BY journey, stage) GROUP BY stage"),
    ("ties and single-event journeys from the window's columns",
     "SELECT count(*) FILTER (WHERE wait = 0), "
     "count(*) FILTER (WHERE pos = 1 AND next_stage IS NULL) FROM seq"),
]

# The same plan with the stages kept as text and the loaded table kept: what the ENUM saves.
LEAN_TEXT = [
    (label.replace(", stages as ENUM", "").replace("ENUM lists", "text lists"),
     sql.replace("CAST(stage AS stage_t)", "stage") if isinstance(sql, str) else sql)
    for label, sql in LEAN if sql is not _stage_enum and not str(sql).startswith("DROP")
]


def profile_phases(log: str, phases: list, settings: list[str]) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for setting in settings:  # e.g. the memory cap cjm sets after reading
        con.execute(f"SET {setting}")
    src = "'" + log.replace("'", "''") + "'"
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"DuckDB {duckdb.__version__}, {threads} threads, on {log}\n")
    total = 0.0
    for label, sql in phases:
        start = time.perf_counter()
        if callable(sql):
            sql = sql(con)
        con.execute(sql.format(src=src)).fetchall()
        seconds = time.perf_counter() - start
        total += seconds
        memory = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
        print(f"  {seconds:6.2f} s  engine memory {memory / 2**20:7,.0f} MiB, "
              f"peak RSS {peak_mib():7,.0f} MiB  {label}")
    print(f"  {total:6.2f} s  in all")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--case", help="passed to cjm discover")
    parser.add_argument("--phases", choices=["cjm", "lean", "lean-text"],
                        help="time phases in DuckDB alone on a generated log: cjm's, a "
                        "leaner plan's, or the leaner plan's with text stages")
    parser.add_argument("--cprofile", type=Path, help="also write a cProfile of the command")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING",
                        help="a DuckDB setting for cjm's connection (or the phases'), e.g. "
                        "\"memory_limit = '1.5GB'\" (repeatable; an experiment, not what cjm does)")
    args = parser.parse_args(argv)
    if args.phases:
        plans = {"cjm": PHASES, "lean": LEAN, "lean-text": LEAN_TEXT}
        profile_phases(args.log, plans[args.phases], args.set)
    else:
        profile_discover(args.log, ["--case", args.case] if args.case else [], args.cprofile,
                         args.set)


if __name__ == "__main__":
    main()
