"""Hints are claims: each one is checked against the data it speaks of (issue 12)."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import cjm
from tests.conftest import run_cli
from tests.journey_logs import write_journeys

# Nobody ends 80% of the journeys reaching a stage: payment_done ends 6 of 9 (66.7%),
# browse 12 of 21 (57.1%), start 12 of 30 (40%).
NO_GOAL = {
    **{f"p{i}": ["start", "payment_done"] for i in range(6)},
    **{f"q{i}": ["start", "payment_done", "start"] for i in range(3)},
    **{f"b{i}": ["start", "browse"] for i in range(12)},
    **{f"r{i}": ["start", "browse", "start"] for i in range(9)},
}


def flat(text: str) -> str:
    return " ".join(text.split())


def test_no_goal_names_the_rule_and_the_nearest_candidates(tmp_path):
    with cjm.read_log(write_journeys(tmp_path / "log.csv", NO_GOAL)) as log:
        goals = cjm.discover(log).goals
    assert goals.source == "none"
    assert goals.share == 0.8
    assert [(name, round(share, 3)) for name, share in goals.candidates] == [
        ("payment_done", 0.667), ("browse", 0.571), ("start", 0.4)]
    result = run_cli("discover", str(write_journeys(tmp_path / "log.csv", NO_GOAL)),
                     "--no-map")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "no stage ends most journeys" not in text
    assert ("Goals: none inferred (a goal stage ends at least 80% of the journeys that reach "
            "it, and 5% of all journeys); nearest: payment_done 66.7% (--goal payment_done), "
            "browse 57.1% (--goal browse), start 40.0% (--goal start)") in text


def test_no_goal_candidates_follow_goal_share_and_reach_the_json(tmp_path):
    log_file = write_journeys(tmp_path / "log.csv", NO_GOAL)
    result = run_cli("discover", str(log_file), "--no-map", "--goal-share", "90%",
                     "--json", "-")
    assert result.exit_code == 0, result.output
    goals = json.loads(result.output)["goals"]
    assert goals["source"] == "none"
    assert goals["candidates"] == [
        {"stage": "payment_done", "share_ending": 0.666667},
        {"stage": "browse", "share_ending": 0.571429},
        {"stage": "start", "share_ending": 0.4}]
    text = flat(run_cli("discover", str(log_file), "--no-map", "--goal-share", "60%").output)
    assert "Goals: payment_done" in text  # the nearest candidate, taken at its own share


def test_candidate_with_spaces_is_quoted_as_a_shell_would_need(tmp_path):
    journeys = {k: [s.replace("payment_done", "Payment done") for s in v]
                for k, v in NO_GOAL.items()}
    text = flat(run_cli("discover", str(write_journeys(tmp_path / "log.csv", journeys)),
                        "--no-map").output)
    assert "Payment done 66.7% (--goal 'Payment done')" in text


NO_COMPLETE = ("case_id,stage,timestamp,lifecycle\n"
               "c1,Visit,2024-01-01T09:00:00Z,start\n"
               "c1,Visit,2024-01-01T09:05:00Z,end\n"
               "c2,Visit,2024-01-02T09:00:00Z,START\n")


def test_lifecycle_without_complete_says_every_event_is_kept(write, read):
    write("phases.csv", NO_COMPLETE)
    log = read("phases.csv")
    assert (log.events, log.filtered) == (3, 0)
    assert log.notes == ["lifecycle column 'lifecycle' holds no 'complete' value (end, start), "
                         "so no event was set aside by it (--lifecycle complete)"]
    result = run_cli("inspect", "phases.csv")
    assert "Note: lifecycle column 'lifecycle' holds no 'complete' value" in result.output
    assert read("phases.csv", lifecycle="all").notes == []  # nothing to explain: none asked


def test_lifecycle_note_counts_one_event_in_the_singular(write, read):
    write("one.csv", "case_id,stage,timestamp,lifecycle\n"
                     "c1,Visit,2024-01-01T09:00:00Z,start\n"
                     "c1,Visit,2024-01-01T09:05:00Z,complete\n")
    assert read("one.csv").notes == ["kept complete events only: 1 event with lifecycle start "
                                     "set aside (pass --lifecycle all to keep every event)"]


def test_transition_share_says_what_it_is_a_share_of(tmp_path):
    log_file = write_journeys(tmp_path / "log.csv", NO_GOAL)
    lines = run_cli("discover", str(log_file), "--no-map").output.splitlines()
    header = lines[lines.index(next(x for x in lines if x.startswith("Transitions"))) + 1]
    assert header.split() == ["from", "to", "count", "%", "of", "from", "median", "wait"]
    assert "% of from: of the from stage's events, the share followed by the to stage" in \
        flat(run_cli("discover", "--help").output)


def _waits_log(path):
    """35 journeys A → B after 10m, 31 A → C after 1h, one A → D after 5 days."""
    rows = ["case_id,stage,timestamp"]
    for i, (target, wait) in enumerate([("B", "00:10")] * 35 + [("C", "01:00")] * 31):
        day = f"2024-01-{1 + i % 28:02d}"
        rows += [f"j{i},A,{day}T09:00:00Z", f"j{i},{target},{day}T{9 + int(wait[:2]):02d}:"
                 f"{wait[3:]}:00Z"]
    rows += ["k,A,2024-02-01T09:00:00Z", "k,D,2024-02-06T09:00:00Z"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_slowest_transitions_need_a_minimum_count_shown_in_the_title(tmp_path):
    log_file = _waits_log(tmp_path / "waits.csv")
    result = run_cli("discover", str(log_file), "--no-map", "--json", "gaps.json")
    assert result.exit_code == 0, result.output
    assert ("Gaps: slowest transitions (taken at least 30 times) from to median wait count "
            "A C 1h 31 A B 10m 35") in flat(result.output)
    gaps = json.loads((tmp_path / "gaps.json").read_text())["gaps"]
    assert gaps["min_count"] == 30
    assert [(t["from"], t["to"]) for t in gaps["slowest"]] == [("A", "C"), ("A", "B")]

    result = run_cli("discover", str(log_file), "--no-map", "--gap-min-count", "1",
                     "--json", "-")
    gaps = json.loads(result.output)["gaps"]
    assert gaps["min_count"] == 1
    assert next((t["from"], t["to"]) for t in gaps["slowest"]) == ("A", "D")
    assert run_cli("discover", str(log_file), "--gap-min-count", "0").exit_code == 2

    assert run_cli("report", str(log_file), "-o", "r.md").exit_code == 0
    report = (tmp_path / "r.md").read_text()
    assert r"*Slowest transitions \(taken at least 30 times\)*" in report
    assert "| A | D |" not in report


def test_no_transition_taken_often_enough_says_how_to_see_them(tmp_path):
    log_file = write_journeys(tmp_path / "log.csv", {"a": ["V", "W"], "b": ["V", "W", "X"]})
    text = flat(run_cli("discover", str(log_file), "--no-map").output)
    assert ("Gaps: no transition is taken at least 30 times (--gap-min-count 1 shows the "
            "slowest of all)") in text


# Billing-like rows: the second pair shares journey, stage and time but not the amount.
BILLING = ("case_id,stage,timestamp,amount,flag\n"
           "c,charge,2024-03-01T10:00:00Z,10.00,\n"
           "c,charge,2024-03-01T10:00:00Z,10.00,\n"     # identical in every column
           "d,charge,2024-03-01T10:00:00Z,10.00,\n"
           "d,charge,2024-03-01T10:00:00Z,25.50,\n"     # another amount: a real event
           "e,fine,2024-03-02T10:00:00Z,40,x\n"
           "e,fine,2024-03-02T10:00:00Z,40,\n")         # another flag: a real event


def test_duplicates_are_rows_identical_in_every_column(write, read):
    path = write("billing.csv", BILLING)
    warning = {w.code: w for w in read(path).warnings}["duplicates"]
    assert warning.count == 1
    assert warning.examples == (f"{path}:2",)
    assert warning.message == ("1 exact duplicate event: identical in every column to an "
                               "earlier row (kept; --drop-duplicates drops it)")


def test_drop_duplicates_never_drops_a_row_that_differs(write, read):
    path = write("billing.csv", BILLING)
    log = read(path, drop_duplicates=True)
    assert (log.events, log.filtered) == (5, 1)
    lines = log.con.execute("SELECT _line FROM events ORDER BY _line").fetchall()
    assert [line for (line,) in lines] == [2, 4, 5, 6, 7]
    assert "duplicates" not in {w.code for w in log.warnings}
    assert "Drop exact duplicate events (rows identical in every column, mapped or not" in \
        flat(run_cli("discover", "--help").output.replace("│", " "))


# Pairs that share journey, stage and time, each differing in one column the events hold
# (the channel) or in text they do not hold (the timestamp's, the lifecycle's), and one pair
# alike in every column: the print of a row covers only the text the events do not hold.
HELD = ("case_id,stage,timestamp,channel,lifecycle,note\n"
        "a,view,2024-03-01T10:00:00Z,web,complete,\n"
        "a,view,2024-03-01T10:00:00Z,app,complete,\n"       # another channel
        "b,view,2024-03-01T10:00:00Z,web,complete,\n"
        "b,view, 2024-03-01T10:00:00Z,web,complete,\n"      # the same time, written otherwise
        "c,view,2024-03-01T10:00:00Z,web,complete,\n"
        "c,view,2024-03-01T10:00:00Z,web,Complete,\n"       # the same lifecycle, written otherwise
        "d,view,2024-03-01T10:00:00Z,web,complete,x\n"
        "d,view,2024-03-01T10:00:00Z,web,complete,x\n")     # identical in every column


def test_the_print_covers_the_text_the_events_do_not_hold(write, read):
    from cjm.accounting import given_roles
    from cjm.config import Config
    from cjm.schema import Kept, mapped_columns

    header = HELD.split("\n", 1)[0].split(",")
    assert mapped_columns(given_roles(None, Config()))(header) == Kept(
        ["case_id", "stage", "timestamp", "channel", "lifecycle"],
        ["timestamp", "lifecycle", "note"])
    path = write("held.csv", HELD)
    log = read(path)
    cjm.discover(log)  # the checks made from the ordering (PendingChecks)
    warning = {w.code: w for w in log.warnings}["duplicates"]
    assert (warning.count, warning.examples) == (1, (f"{path}:8",))
    assert {w.code: w for w in read(path).warnings}["duplicates"].count == 1  # by grouping
    dropped = read(path, drop_duplicates=True)  # the checks made as the log is read
    assert (dropped.events, dropped.filtered) == (7, 1)
    assert [line for (line,) in dropped.con.execute(
        "SELECT _line FROM events ORDER BY _line").fetchall()] == [2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("hold", [["outcome"], ["outcome", "channel"]])
def test_roles_not_held_are_still_mapped_and_still_tell_duplicates_apart(write, read, hold):
    # read_log(hold=...) reads only the roles named into the events (cjm discover holds the
    # ones it reads): the others stay mapped, and their text is in the row's print, so a row
    # differing only in the channel or only in the segment is still no duplicate.
    from cjm.accounting import given_roles
    from cjm.config import Config
    from cjm.errors import UsageError
    from cjm.render.json_out import journey_json
    from cjm.schema import Kept, mapped_columns

    text = ("case_id,stage,timestamp,channel,segment,converted\n"
            "a,view,2024-03-01T10:00:00Z,web,new,no\n"
            "a,view,2024-03-01T10:00:00Z,app,new,no\n"          # another channel
            "a,buy,2024-03-01T11:00:00Z,chat,new,yes\n"
            "b,view,2024-03-01T10:00:00Z,web,new,no\n"
            "b,view,2024-03-01T10:00:00Z,web,returning,no\n"    # another segment
            "c,view,2024-03-01T10:00:00Z,web,new,no\n"
            "c,view,2024-03-01T10:00:00Z,web,new,no\n")         # identical in every column
    header = text.split("\n", 1)[0].split(",")
    channel = "channel" in hold
    assert mapped_columns(given_roles(None, Config()), hold)(header) == Kept(
        ["case_id", "stage", "timestamp", *(["channel"] if channel else []), "converted"],
        ["timestamp", *([] if channel else ["channel"]), "segment"])
    path = write("roles.csv", text)
    held, whole = read(path, hold=hold), read(path)
    assert held.mapping.to_dict() == whole.mapping.to_dict()
    columns = [name for (name, *_) in held.con.execute("DESCRIBE events").fetchall()]
    assert "segment" not in columns and ("channel" in columns) == channel
    assert [(w.code, w.count, w.examples) for w in held.warnings] == \
        [(w.code, w.count, w.examples) for w in whole.warnings]
    assert {w.code: w for w in held.warnings}["duplicates"].examples == (f"{path}:7",)
    with pytest.raises(UsageError, match="events hold no segment values"):
        held.first_values("segment")
    if channel:  # what discover reads, held: the same map
        assert journey_json(cjm.discover(held)) == journey_json(cjm.discover(whole))
    else:
        with pytest.raises(UsageError, match="events hold no channel values"):
            cjm.discover(held)


def _histories(path, session: bool = False):
    """40 customers, each with 3 to 5 visits a week apart; a visit is 2 to 4 stages, minutes
    apart. The id is the customer's: a journey is a whole history."""
    kinds = [["Visit", "Search"], ["Visit", "View", "Cart"], ["Ad", "View", "Buy", "Mail"],
             ["Visit", "Chat"]]
    rows = ["customer_id,stage,timestamp" + (",session_id" if session else "")]
    pick = random.Random(12)
    for c in range(40):
        for v in range(3 + c % 3):
            for s, stage in enumerate(pick.choice(kinds)):
                at = datetime(2024, 1, 1 + c % 5, 10, 5 * s) + timedelta(days=7 * v)
                rows.append(f"u{c},{stage},{at:%Y-%m-%dT%H:%M:%SZ}"
                            + (f",s{c}-{v}" if session else ""))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


HISTORY = "journeys look like whole customer histories rather than visits"


def test_whole_histories_get_a_hint_to_split_them(tmp_path):
    result = run_cli("discover", str(_histories(tmp_path / "h.csv")), "--no-map")
    assert result.exit_code == 0, result.output
    text = flat(result.stderr)
    assert (f"Note: {HISTORY}: the median journey lasts 21d 5m and 100.0% of the journeys take "
            "a path no other journey takes; to study visits, split them with --journey-gap "
            "30m") in text
    with cjm.read_log(_histories(tmp_path / "h.csv")) as log:
        assert any(HISTORY in note for note in cjm.discover(log).notes)


def test_whole_histories_with_a_session_column_are_pointed_to_it(tmp_path):
    log_file = _histories(tmp_path / "s.csv", session=True)
    text = flat(run_cli("discover", str(log_file), "--no-map", "--case", "customer_id").stderr)
    assert "split them with --journey-gap 30m or by the column session_id (--case session_id)" \
        in text
    # Split by visits, the same log gives no hint.
    assert HISTORY not in run_cli("discover", str(log_file), "--no-map", "--case",
                                  "session_id").stderr


def test_the_example_shop_log_gets_no_history_hint():
    from tests.conftest import TESTS

    shop = TESTS.parent / "examples" / "shop.csv"
    for extra in ([], ["--case", "customer_id"]):
        result = run_cli("discover", str(shop), "--no-map", *extra)
        assert result.exit_code == 0, result.output
        assert HISTORY not in result.output


# One journey of one event, and one of two events at the same moment, on a channel.
SINGLES = ("case_id,stage,timestamp,channel,segment\n"
           "c,Visit,2024-03-01T09:00:00Z,web,a\n"
           "c,View,2024-03-01T09:00:00Z,web,a\n"
           "d,Visit,2024-03-02T10:00:00Z,app,b\n")
WRONG_PLURAL = re.compile(r"(?<![\d,.])1 (journeys|events|rows|stages|paths|transitions|steps"
                          r"|stage names)\b|\b1 (events|journeys) (share|have|are)\b")


@pytest.mark.parametrize("args", [
    ["inspect"], ["discover", "--no-map", "--goal", "View"], ["funnel", "--steps", "Visit,View"],
    ["channels"], ["compare", "--by", "segment", "--values", "a,b"],
    ["report", "-o", "r.md", "--goal", "View"]])
def test_one_of_a_thing_is_counted_in_the_singular(write, args):
    write("one.csv", SINGLES)
    result = run_cli(args[0], "one.csv", *args[1:])
    assert result.exit_code == 0, result.output
    text = result.output + (Path("r.md").read_text() if args[0] == "report" else "")
    assert not WRONG_PLURAL.search(text), WRONG_PLURAL.search(text)[0]


def test_singular_and_separators_in_the_header_and_warnings(write):
    text = flat(run_cli("inspect", str(write("one.csv", SINGLES))).output)
    assert "one.csv (csv comma-separated): 3 rows, 3 events" in text
    assert "2 journeys, 3 events, 2 stages" in text
    assert "Warning: 1 journey has a single event" in text
    assert ("Warning: 2 events share their timestamp with another event of the same journey "
            "(1 journey); they keep file order") in text
    rows = "".join(f"j{i},Visit,2024-03-01T09:00:00Z\n" for i in range(1393))
    text = flat(run_cli("inspect", str(write("many.csv", "case_id,stage,timestamp\n" + rows)))
                .output)
    assert "1,393 journeys, 1,393 events, 1 stage" in text
    assert "Warning: 1,393 journeys have a single event" in text


def test_report_without_goals_names_the_nearest_candidates(tmp_path):
    log_file = write_journeys(tmp_path / "log.csv", NO_GOAL)
    assert run_cli("report", str(log_file), "-o", "r.md").exit_code == 0
    report = flat((tmp_path / "r.md").read_text())
    assert ("Nearest to a goal, by the share of the journeys reaching the stage that end "
            r"there\: payment\_done 66.7% \(--goal payment\_done\), browse 57.1%") in report


def test_errors_count_one_row_in_the_singular(write):
    write("mix.csv", "case_id,stage,timestamp\nc,a,13/01/2024\nc,b,01/13/2024\n")
    result = run_cli("inspect", "mix.csv")
    assert result.exit_code == 1
    assert "(1 row with a day > 12 first, 1 second)" in flat(result.output)
