"""Lifecycle filtering, journeys split by inactivity, stable order, quality warnings."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from conftest import events, warning_counts

import cjm

LIFECYCLE = (
    "case_id,activity,timestamp,lifecycle:transition\n"
    "1,Review,2024-03-01T10:00:00Z,start\n"
    "1,Review,2024-03-01T10:30:00Z,complete\n"
    "1,Decide,2024-03-01T11:00:00Z,SCHEDULE\n"
    "1,Decide,2024-03-01T11:10:00Z,Complete\n"
    "2,Review,2024-03-02T10:00:00Z,complete\n"
)


def test_lifecycle_keeps_complete_events_by_default_and_says_so(read, write):
    log = read(write("life.csv", LIFECYCLE))
    assert events(log, "journey", "stage", "_line") == [
        ("1", "Review", 3), ("1", "Decide", 5), ("2", "Review", 6)]
    report = log.files[0]
    assert (report.rows, report.events, report.rejected, report.filtered) == (5, 3, 0, 2)
    assert ("kept complete events only: 2 events with lifecycle schedule, start set aside "
            "(pass --lifecycle all to keep every event)") in log.notes


@pytest.mark.parametrize("mode", ["all", "ALL"])
def test_lifecycle_all_keeps_every_event(read, write, mode):
    log = read(write("life.csv", LIFECYCLE), lifecycle=mode)
    assert (log.events, log.filtered) == (5, 0)
    assert not any("complete events only" in note for note in log.notes)


def test_lifecycle_column_without_start_events_filters_nothing(read, write):
    log = read(write("life.csv", "case_id,activity,timestamp,lifecycle\n"
                                 "1,a,2024-03-01T10:00:00Z,complete\n"
                                 "1,b,2024-03-01T11:00:00Z,complete\n"))
    assert (log.events, log.filtered, log.notes) == (2, 0, [])


def test_unknown_lifecycle_mode_is_a_usage_error(read, write):
    with pytest.raises(cjm.UsageError, match="--lifecycle: 'some' is not one of complete, all"):
        read(write("life.csv", LIFECYCLE), lifecycle="some")


def test_journey_gap_splits_a_case_into_numbered_journeys(read, write):
    path = write("gap.csv", "customer_id,stage,timestamp\n"
                            "c,Visit,2024-03-01T10:00:00Z\n"
                            "c,Search,2024-03-01T10:20:00Z\n"
                            "c,Visit,2024-03-01T11:00:00Z\n"   # 40 min later: a new journey
                            "c,Buy,2024-03-01T11:30:00Z\n"     # exactly 30 min: same journey
                            "c,Visit,2024-03-05T09:00:00Z\n"
                            "d,Visit,2024-03-01T10:00:00Z\n")
    log = read(path, journey_gap="30m")
    assert events(log, "journey", "case_id", "stage") == [
        ("c#1", "c", "Visit"), ("c#1", "c", "Search"),
        ("c#2", "c", "Visit"), ("c#2", "c", "Buy"),
        ("c#3", "c", "Visit"),
        ("d#1", "d", "Visit"),
    ]
    assert (log.journeys, log.events, log.journey_gap_seconds) == (4, 6, 1800)


@pytest.mark.parametrize("gap", [None, "30m"])
def test_to_pandas_has_the_documented_columns_with_and_without_a_gap(read, write, gap):
    path = write("cases.csv", "customer_id,stage,timestamp,channel\n"
                              "c,Visit,2024-03-01T10:00:00Z,web\n"
                              "c,Buy,2024-03-01T11:00:00Z,web\n")
    frame = read(path, journey_gap=gap).to_pandas()
    assert list(frame.columns) == ["journey", "case_id", "stage", "ts", "_file", "_line",
                                   "channel"]
    assert list(frame["case_id"]) == ["c", "c"]
    assert list(frame["journey"]) == (["c", "c"] if gap is None else ["c#1", "c#2"])


def test_journey_gap_in_seconds_and_bad_spans(read, write):
    path = write("gap.csv", "case_id,activity,timestamp\n1,a,2024-03-01T10:00:00Z\n"
                            "1,b,2024-03-01T10:01:01Z\n")
    assert read(path, journey_gap=60).journeys == 2
    assert read(path, journey_gap="1h").journeys == 1
    with pytest.raises(cjm.UsageError, match="--journey-gap: cannot read 'soon'"):
        read(path, journey_gap="soon")


def test_events_ordered_by_time_ties_in_file_order(read, write):
    path = write("order.csv", "case_id,activity,timestamp\n"
                              "c,B,2024-03-01T10:00:00Z\n"
                              "c,A,2024-03-01T10:00:00Z\n"
                              "c,Z,2024-03-01T09:00:00+00:00\n"
                              "c,Y,2024-03-01T11:00:00+01:00\n"   # the same instant as B and A
                              "c,C,2024-03-01T10:00:01Z\n")
    log = read(path)
    assert events(log, "stage", "_line") == [
        ("Z", 4), ("B", 2), ("A", 3), ("Y", 5), ("C", 6)]
    assert warning_counts(log)["ties"] == 3
    assert [s for _, s in log.to_pandas()[["journey", "stage"]].itertuples(index=False)] == [
        "Z", "B", "A", "Y", "C"]


def test_ties_across_files_keep_the_order_of_the_files(read, write):
    """Within a file, tied events keep the order of their lines; across files, the order of
    the files, whatever the lines (only a log of one file is ordered without _file)."""
    first = write("a.csv", "case_id,activity,timestamp\nq,Other,2024-03-01T09:00:00Z\n"
                           "q,Late,2024-03-01T12:00:00Z\nc,First,2024-03-01T10:00:00Z\n")
    second = write("b.csv", "case_id,activity,timestamp\nc,Second,2024-03-01T10:00:00Z\n")
    for files, path in ([first, second], ("First", "Second")), ([second, first],
                                                                 ("Second", "First")):
        assert {p.stages for p in cjm.discover(read(files)).paths} == {path, ("Other", "Late")}


def test_order_does_not_depend_on_row_order_apart_from_ties(read, write):
    rows = ["c,Visit,2024-03-01T10:00:00Z", "c,Search,2024-03-01T10:05:00Z",
            "d,Visit,2024-03-01T09:00:00Z", "c,Buy,2024-03-01T10:09:00Z",
            "d,Chat,2024-03-02T09:00:00Z"]
    header = "case_id,activity,timestamp\n"
    forward = read(write("f.csv", header + "\n".join(rows) + "\n"))
    backward = read(write("b.csv", header + "\n".join(reversed(rows)) + "\n"))
    assert events(forward) == events(backward) == [
        ("c", "Visit"), ("c", "Search"), ("c", "Buy"), ("d", "Visit"), ("d", "Chat")]


def test_paths_follow_time_when_the_journeys_are_gathered_on_many_threads():
    """A journey's path is its stages in the order of its events, on a log large enough that
    DuckDB gathers each journey's rows on several threads and in any order, and the stage
    figures and the transitions' journeys read off the paths are those of the events."""
    import duckdb

    from cjm.engine.duckdb.engine import DuckDBEngine, journeys_sql, stage_list_sql

    con = duckdb.connect()
    con.execute("SET threads = 4")
    # 1M events in 50,000 journeys, their rows scattered and their times random.
    con.execute(
        "CREATE TABLE events AS SELECT 'j' || (hash(i) % 50000) AS journey, "
        "'s' || (hash(i * 7) % 23) AS stage, TIMESTAMPTZ '2024-01-01' + "
        "to_seconds((hash(i * 13) % 1000000)::BIGINT) AS ts, 0 AS _file, i + 2 AS _line "
        "FROM range(1000000) t(i)")
    engine = DuckDBEngine(con)
    engine.prepare(None, None)
    by_sort = ("SELECT journey, list(stage::VARCHAR ORDER BY ts, _file, _line) AS path "
               "FROM events GROUP BY journey")
    named = stage_list_sql("j.path", engine.stage_names)
    assert con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {named} IS DISTINCT FROM e.path) "
        f"FROM jrn j FULL JOIN ({by_sort}) e USING (journey)").fetchall() == [(50000, 0)]
    # The window writes each journey's rows together and mostly in order: the paths made
    # again from its rows in random order put every journey's rows on several threads.
    con.execute("CREATE TABLE shuffled AS SELECT * FROM seq ORDER BY hash(journey, pos, 7)")
    assert con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {named} IS DISTINCT FROM e.path) "
        f"FROM ({journeys_sql('shuffled')}) j FULL JOIN ({by_sort}) e USING (journey)"
    ).fetchall() == [(50000, 0)]
    visits = con.execute(
        "SELECT stage, sum(c)::BIGINT, count(*), count(*) FILTER (WHERE first), "
        "count(*) FILTER (WHERE last), count(*) FILTER (WHERE c > 1), sum(c - 1)::BIGINT "
        "FROM (SELECT journey, stage, count(*) AS c, bool_or(pos = 1) AS first, "
        "bool_or(next_stage IS NULL) AS last FROM seq GROUP BY journey, stage) "
        "GROUP BY stage").fetchall()
    assert sorted((str(s), *rest) for s, *rest in engine._visit_figures()) == \
        sorted((str(s), *rest) for s, *rest in visits)
    # The waits' median and 90th percentile, taken in one aggregate, are median()'s and
    # quantile_cont()'s, to the last bit.
    # Every reader of the paths as text gets the lists of jrn.
    lists = dict(con.execute(f"SELECT journey, {named} FROM jrn j").fetchall())
    assert {j: list(p) for j, p in engine.journey_paths()} == lists
    examples = engine.path_examples(2)
    assert set(examples) == {tuple(p) for p in lists.values()}
    assert all(list(path) == lists[j] and 1 <= len(ids) <= 2
               for path, ids in examples.items() for j in ids)
    goal = "s1"
    status = {j: "goal" if goal in p else "dead_end" for j, p in lists.items()}
    for before_goal in (False, True):
        expected = Counter((tuple(p[:p.index(goal)] if before_goal and goal in p else p),
                            status[j]) for j, p in lists.items())
        assert {(e.stages, e.status): e.journeys for e in engine.path_endings(
            [goal], False, None, before_goal)} == expected
    moves = con.execute("SELECT stage::VARCHAR, next_stage::VARCHAR, count(*), "
                        "count(DISTINCT journey), median(wait), quantile_cont(wait, 0.9) "
                        "FROM seq WHERE next_stage IS NOT NULL GROUP BY ALL").fetchall()
    assert sorted((m.source, m.target, m.count, m.journeys, m.median_seconds, m.p90_seconds)
                  for m in engine.transitions()) == sorted(moves)


def test_quality_duplicates_kept_by_default(read, write):
    path = write("dup.csv", "case_id,activity,timestamp,channel\n"
                            "c,a,2024-03-01T10:00:00Z,web\n"
                            "c,a,2024-03-01T10:00:00Z,web\n"
                            "c,a,2024-03-01T10:00:00Z,app\n"   # another channel: no duplicate
                            "c,b,2024-03-01T11:00:00Z,web\n"
                            "d,a,2024-03-01T10:00:00Z,web\n"
                            "d,a,2024-03-01T10:00:00Z,web\n"
                            "d,a,2024-03-01T10:00:00Z,web\n")
    log = read(path)
    warning = {w.code: w for w in log.warnings}["duplicates"]
    assert warning.count == 3
    assert warning.examples == (f"{path}:2", f"{path}:6")
    assert warning.message == ("3 exact duplicate events: identical in every column to an "
                               "earlier row (kept; --drop-duplicates drops them)")
    assert log.events == 7


def test_drop_duplicates_keeps_the_first_and_accounts_for_the_rest(read, write):
    path = write("dup.csv", "case_id,activity,timestamp\n"
                            "c,a,2024-03-01T10:00:00Z\n"
                            "c,a,2024-03-01T10:00:00Z\n"
                            "c,b,2024-03-01T11:00:00Z\n"
                            "c,a,2024-03-01T10:00:00Z\n")
    log = read(path, drop_duplicates=True)
    assert events(log, "stage", "_line") == [("a", 2), ("b", 4)]
    report = log.files[0]
    assert (report.rows, report.events, report.rejected, report.filtered) == (4, 2, 0, 2)
    assert "exact duplicate events dropped (--drop-duplicates)" in log.notes
    assert "duplicates" not in warning_counts(log)


def test_quality_ties_and_single_event_journeys(read, write):
    path = write("q.csv", "case_id,activity,timestamp\n"
                          "c,a,2024-03-01T10:00:00Z\nc,b,2024-03-01T10:00:00Z\n"
                          "c,c,2024-03-01T10:00:00Z\nd,a,2024-03-01T10:00:00Z\n"
                          "e,a,2024-03-01T10:00:00Z\n")
    log = read(path)
    assert warning_counts(log) == {"ties": 3, "single_event": 2}
    messages = {w.code: w.message for w in log.warnings}
    assert messages["ties"] == ("3 events share their timestamp with another event of the same "
                                "journey (1 journey); they keep file order")


TIES = ("case_id,activity,timestamp,channel\n"
        "c,a,2024-03-01T10:00:00Z,web\nc,b,2024-03-01T10:00:00Z,web\n"
        "c,a,2024-03-01T10:00:00Z,web\nc,c,2024-03-01T11:00:00Z,web\n"  # a repeat of line 2
        "d,a,2024-03-01T10:00:00Z,web\nd,a,2024-03-01T10:00:00Z,app\n"  # a tie, no repeat
        "e,a,2024-03-01T10:00:00Z,web\n"                                  # not tied with c's
        # 1 µs apart in the year 9000, where epoch seconds as doubles no longer differ:
        "f,a,9000-12-31T23:59:59.000001Z,web\nf,b,9000-12-31T23:59:59.000002Z,web\n")


@pytest.fixture
def tie_sources(monkeypatch) -> list[str | None]:
    """The table of tied pairs each tie check was given (None: it grouped the events)."""
    from cjm.engine.duckdb import checks

    given: list[str | None] = []
    find_ties = checks.find_ties

    def spy(con, printed=False, pairs=None, held=()):
        given.append(pairs)
        return find_ties(con, printed, pairs, held)

    monkeypatch.setattr(checks, "find_ties", spy)
    return given


def test_ties_found_by_the_ordering_are_those_of_the_grouping(read, write, tie_sources):
    """The checks wait for the first ordering of every event, or for the warnings; the ties
    come from the ordering, or from grouping the events: the same."""
    path = write("ties.csv", TIES)
    grouped = read(path).warnings
    log = read(path)
    cjm.discover(log)
    assert tie_sources == [None, "tied_pairs"]
    assert log.warnings == grouped
    counts = {w.code: w.count for w in grouped}
    assert (counts["ties"], counts["duplicates"]) == (5, 1)
    assert "_row" not in log.to_pandas().columns
    assert "_row" not in [c[0] for c in log.con.execute("DESCRIBE events").fetchall()]
    assert not log.con.execute("SELECT * FROM duckdb_tables() WHERE table_name IN "
                               "('tied_pairs', 'tied', 'prints', 'repeats')").fetchall()


@pytest.fixture
def journey_count_sources(monkeypatch) -> list[str | None]:
    """The table of journeys each count of journeys was read off (None: it grouped)."""
    from cjm.engine.duckdb import checks

    given: list[str | None] = []
    count = checks._journey_counts

    def spy(con, jrn=None):
        given.append(jrn)
        return count(con, jrn)

    monkeypatch.setattr(checks, "_journey_counts", spy)
    return given


def test_journeys_counted_off_the_ordering_are_those_of_the_grouping(
        read, write, journey_count_sources):
    """With the checks pending, the journeys (and those of a single event) are counted off
    the first ordering of every event, or by grouping when asked for before it."""
    path = write("ties.csv", TIES)
    grouped = read(path)
    expected = (grouped.journeys, warning_counts(grouped)["single_event"])
    assert journey_count_sources == [None]
    log = read(path)
    journey_map = cjm.discover(log)
    assert journey_count_sources == [None, "jrn"]
    assert (log.journeys, warning_counts(log)["single_event"]) == expected == (4, 1)
    assert journey_map.log.journeys == journey_map.journeys == 4
    eager = read(path, memory_limit="1GB")  # a budget makes the checks as the log is read
    assert (eager.journeys, warning_counts(eager)["single_event"]) == expected


def test_an_ordering_of_some_stages_does_not_find_the_ties(read, write, tie_sources):
    path = write("ties.csv", TIES)
    log = read(path)
    log.engine().prepare(None, None, stages=["b"])
    assert tie_sources == []
    assert warning_counts(log)["ties"] == 5
    assert tie_sources == [None]


def test_duplicates_are_counted_before_repeats_are_collapsed(read, write):
    path = write("dup.csv", "case_id,activity,timestamp\n"
                            "c,a,2024-03-01T10:00:00Z\nc,a,2024-03-01T10:00:00Z\n"
                            "c,b,2024-03-01T11:00:00Z\n")
    log = read(path, collapse_repeats=True)
    assert log.events == 2
    assert warning_counts(log)["duplicates"] == 1


def test_the_checks_left_for_later_wait_for_no_one(read, write):
    """A subset, a closed log and a log under a memory limit all give the warnings."""
    from cjm.engine.protocol import Reaching

    path = write("ties.csv", TIES)
    expected = read(path).warnings
    log = read(path)
    vip = log.subset(Reaching(("c",)), "reaching c")
    assert vip.journeys == 1
    assert log.warnings == expected and vip.warnings == expected
    log = read(path)
    log.close()
    assert log.warnings == expected
    log = read(path, memory_limit="1GB")
    assert log._pending is None and log.warnings == expected
    log = read(path)
    log.con.close()
    log.close()  # its user closed the connection first: nothing to check, no error


def test_a_check_that_fails_can_be_made_again(read, write):
    """A check stopped half-way (here by a table in its way) loses no warning, leaves none
    of its tables, and lets the error of a with block through."""
    import duckdb

    path = write("ties.csv", TIES)
    expected = read(path).warnings
    log = read(path)
    log.con.execute("CREATE TEMP TABLE prints (x INTEGER)")
    with pytest.raises(duckdb.CatalogException):
        _ = log.warnings
    assert not log.con.execute("SELECT * FROM duckdb_tables() WHERE table_name IN "
                               "('tied_pairs', 'tied', 'repeats')").fetchall()
    log.con.execute("DROP TABLE prints")
    assert log.warnings == expected
    with pytest.raises(ValueError, match="the block's own"), cjm.read_log(path) as log:
        log.con.execute("CREATE TEMP TABLE prints (x INTEGER)")
        raise ValueError("the block's own")


def test_quality_future_and_before_1990(read, write):
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write("q.csv", "case_id,activity,timestamp\n"
                          f"c,a,1989-12-31T23:59:59Z\nc,b,1990-01-01T00:00:00Z\nc,c,{future}\n"
                          "d,a,1970-01-01T00:00:00Z\nd,b,2024-03-01T00:00:00Z\n")
    log = read(path)
    assert warning_counts(log) == {"future": 1, "before_1990": 2}


def test_quality_stage_names_differing_only_in_case_or_spaces(read, write):
    path = write("q.csv", "case_id,activity,timestamp\n"
                          "c,Checkout,2024-03-01T10:00:00Z\n"
                          'c,"checkout ",2024-03-01T11:00:00Z\n'
                          "c,Cart,2024-03-01T12:00:00Z\n"
                          "d,cart,2024-03-01T10:00:00Z\n"
                          "d,Pay,2024-03-01T11:00:00Z\n")
    log = read(path)
    warning = {w.code: w for w in log.warnings}["near_duplicate_stages"]
    assert warning.count == 2
    assert warning.examples == ("'Cart' / 'cart'", "'Checkout' / 'checkout '")


def test_clean_log_has_no_warnings(read, write):
    path = write("clean.csv", "case_id,activity,timestamp\n"
                              "c,a,2024-03-01T10:00:00Z\nc,b,2024-03-01T11:00:00Z\n")
    assert read(path).warnings == []


def test_log_totals(read, write):
    path = write("t.csv", "case_id,activity,timestamp\n"
                          "c,a,2024-03-01T10:00:00Z\nc,b,2024-03-03T11:00:00+01:00\n"
                          "d,a,2024-03-02T00:00:00Z\n")
    log = read(path)
    assert (log.journeys, log.events, log.stages, log.rows) == (2, 3, 2, 3)
    assert log.first_timestamp == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    assert log.last_timestamp == dt.datetime(2024, 3, 3, 10, tzinfo=dt.UTC)


def test_describe(read, write):
    path = write("t.csv", "case_id,activity,timestamp\n"
                          "c,a,2024-03-01T10:00:00Z\nc,b,2024-03-01T11:00:00Z\n"
                          "c,b,2024-03-01T12:00:00Z\nd,b,2024-03-02T00:00:00Z\n"
                          ",x,2024-03-02T00:00:00Z\n")
    data = cjm.describe(read(path)).to_dict()
    assert data["schema"] == "cjm.inspect/1"
    assert (data["rows"], data["events"], data["rejected"], data["filtered"]) == (5, 4, 1, 0)
    assert (data["journeys"], data["stages_count"]) == (2, 2)
    assert [(s["name"], s["events"], s["journeys"]) for s in data["stages"]] == [
        ("b", 3, 2), ("a", 1, 1)]
    assert data["events_per_journey"] == {"min": 1, "median": 2.0, "mean": 2.0, "max": 3}
    assert data["timestamps"]["first"] == "2024-03-01T10:00:00Z"
    assert data["timestamps"]["span_seconds"] == 50400.0
    assert data["rejects"] == [{"reason": "missing journey id (column case_id)", "count": 1,
                                "examples": [f"{path}:6"]}]


def test_the_journey_id_is_held_once_when_no_gap_splits_cases(read, write):
    # case_id is the journey read again (a generated column), not a second copy of the ids;
    # with a gap the two differ and both are held. The table is the events, or the one under
    # them when their lines are the row ids (cjm.engine.duckdb.lines).
    path = write("ids.csv", "customer_id,stage,timestamp\nc,Visit,2024-03-01T10:00:00Z\n")
    for gap, held in ((None, ["journey"]), ("30m", ["journey", "case_id"])):
        log = read(path, journey_gap=gap)
        (sql,), = log.con.execute("SELECT sql FROM duckdb_tables() WHERE table_name IN "
                                  "('events', 'event_rows')").fetchall()
        stored = [c for c in ("journey", "case_id")
                  if f"{c} VARCHAR," in sql and f"{c} VARCHAR GENERATED" not in sql]
        assert stored == held, sql
        assert log.con.execute("SELECT journey, case_id FROM events").fetchall() == [
            ("c" if gap is None else "c#1", "c")]


def test_duckdb_memory_is_capped_by_default_from_the_log_read(read, write):
    from cjm.engine.duckdb.memory import DEFAULT_MEMORY_FLOOR
    from cjm.units import parse_size

    def limit(log) -> int:
        return parse_size(log.con.execute("SELECT current_setting('memory_limit')")
                          .fetchall()[0][0])

    path = write("small.csv", "journey,stage,timestamp\nj,Visit,2024-03-01T10:00:00Z\n")
    assert limit(read(path)) == DEFAULT_MEMORY_FLOOR  # a small log: the floor


def test_a_given_memory_limit_is_shared_with_what_the_process_holds(read, write, monkeypatch):
    # What the process holds is set, not read: in a long test session its resident set moves
    # on its own (garbage collected, memory handed back), so only a set figure gives an
    # exact expectation. test_the_resident_set_is_the_kernels shows that the figure is real.
    from cjm.engine.duckdb import memory
    from cjm.units import parse_size

    path = write("small.csv", "journey,stage,timestamp\nj,Visit,2024-03-01T10:00:00Z\n")
    for held in (300 << 20, 1 << 30):
        monkeypatch.setattr(memory, "resident_bytes", lambda held=held: held)
        log = read(path, memory_limit="3GiB")
        cap = parse_size(log.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        # The budget less what the process held, less the share kept beside DuckDB's buffers
        # (DuckDB's text of the size is cut to a tenth of a GiB).
        expected = (1 - memory.OUTSIDE_SHARE) * ((3 << 30) - held) - memory.OUTSIDE_FIXED
        assert expected - (1 << 30) / 10 < cap <= expected, (held, cap, expected)
    assert read(path, memory_limit="60MB").con.execute(
        "SELECT current_setting('memory_limit')").fetchall()[0][0] == "47.6 MiB"  # the floor


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux's /proc only")
def test_the_resident_set_is_the_kernels():
    from cjm.engine.duckdb import memory

    def kernels() -> int:  # VmRSS, in KiB, another file than the one resident_bytes() reads
        line = next(line for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    before, ours, after = kernels(), memory.resident_bytes(), kernels()
    assert min(before, after) - (8 << 20) <= ours <= max(before, after) + (8 << 20)
    assert ours > 10 << 20  # bytes, not pages or KiB


def test_default_memory_limit_grows_with_what_the_log_holds():
    import duckdb

    from cjm.engine.duckdb import memory
    from cjm.units import parse_size

    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT range AS a, range::VARCHAR || 'xxxxxxxxxxxxxxx' "
                "AS b FROM range(3_000_000)")
    held = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0]
    memory.default_memory_limit(con, floor=1 << 20)
    cap = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert abs(parse_size(cap) / held - (1 + memory.DEFAULT_MEMORY_SHARE)) < 0.01, (cap, held)


def test_the_undo_of_an_update_comes_out_of_the_default_memory_limit():
    # DuckDB holds an update's undo to the end and never spills it (the lines of a file
    # read in place are numbered by one): the tables' share is what is left beside it.
    import duckdb

    from cjm.engine.duckdb import memory
    from cjm.units import parse_size

    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT NULL::BIGINT AS a, range::VARCHAR || "
                "'xxxxxxxxxxxxxxx' AS b FROM range(3_000_000)")
    con.execute("UPDATE events SET a = rowid + 2")
    tables, undo = con.execute(
        "SELECT sum(memory_usage_bytes) FILTER (WHERE tag <> 'TRANSACTION'), "
        "sum(memory_usage_bytes) FILTER (WHERE tag = 'TRANSACTION') FROM duckdb_memory()"
    ).fetchall()[0]
    assert undo > 0.1 * tables
    memory.default_memory_limit(con, floor=1 << 20)
    cap = parse_size(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    expected = (1 + memory.DEFAULT_MEMORY_SHARE) * tables - undo
    assert abs(cap / expected - 1) < 0.01, (cap, tables, undo)


def test_paths_read_as_text_keep_every_stage_code():
    """paths() reads each path as one character a stage: the codes journeys_sql() packs with
    the positions come back whole, in order, and the characters DuckDB makes of them are
    those Python maps back, one for each of 70,000 codes, none a control character or a
    surrogate (which no text can hold)."""
    import duckdb

    from cjm.engine.duckdb.engine import _code_char, journeys_sql, path_text_sql

    con = duckdb.connect()
    codes = [0, 1, 95, 55_263, 55_264, 55_265, 69_999, 1]
    con.execute("CREATE TYPE many AS ENUM (SELECT 's' || range FROM range(70000))")
    con.execute(
        "CREATE TABLE seq AS SELECT 'j' AS journey, ('s' || c)::many AS stage, i + 1 AS pos, "
        "TIMESTAMP '2024-01-01' AS ts, false AS success FROM "
        "(SELECT unnest(?::INTEGER[]) AS c, unnest(range(?)) AS i) ORDER BY i DESC",
        [codes, len(codes)])
    rows = con.execute(
        f"SELECT path, {path_text_sql('path')} FROM ({journeys_sql('seq')})").fetchall()
    assert rows == [(codes, "".join(_code_char(c) for c in codes))]
    assert len({_code_char(c) for c in range(70_000)}) == 70_000
    assert min(_code_char(c) for c in range(70_000)) == " "
    assert not any(0xD800 <= ord(_code_char(c)) <= 0xDFFF for c in range(70_000))
