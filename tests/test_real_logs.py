"""The real logs in ../shared/data give exactly the numbers pm4py computed for them.

The references are in ../shared/data/reference/*.json; the tests skip when the folder is absent.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from conftest import read_shared, reference, warning_counts

SMALL_LOGS = [
    ("receipt.csv", "receipt_csv"),
    ("receipt.xes.gz", "receipt_xes"),
    ("sepsis.csv", "sepsis"),
    ("roadtraffic100traces.csv", "roadtraffic100traces"),
    ("helpdesk.xes.gz", "helpdesk"),
]


def _paths(log) -> Counter:
    """Journeys' stage sequences (variants) in the log's order: by time, ties in file order."""
    rows = log.con.execute(
        "SELECT list(stage ORDER BY ts, _file, _line) FROM events GROUP BY journey").fetchall()
    return Counter(tuple(path) for (path,) in rows)


def _edges(paths: Counter) -> Counter:
    edges: Counter = Counter()
    for path, count in paths.items():
        for pair in pairwise(path):
            edges[pair] += count
    return edges


def check_against_reference(log, ref: dict) -> None:
    assert (log.journeys, log.events, log.stages) == (
        ref["cases"], ref["events"], ref["activities"])
    assert log.rows == ref["rows_read"]
    assert log.rejected == 0
    assert log.rows == log.events + log.rejected + log.filtered
    counts = dict(log.con.execute("SELECT stage, count(*) FROM events GROUP BY stage").fetchall())
    assert counts == ref["activity_counts"]
    assert log.first_timestamp.isoformat(sep=" ") == ref["first_timestamp"]
    assert log.last_timestamp.isoformat(sep=" ") == ref["last_timestamp"]
    tied = ref["events_sharing_timestamp_with_another_event_of_same_case"]
    assert warning_counts(log).get("ties", 0) == tied
    # The order of events within journeys (ties in file order) gives pm4py's variants and edges.
    paths = _paths(log)
    assert len(paths) == ref["variants"]
    assert [{"variant": list(p), "count": n} for p, n in
            sorted(paths.items(), key=lambda item: (-item[1], item[0]))[:5]] == [
        {"variant": v["variant"], "count": v["count"]} for v in
        sorted(ref["top5_variants"], key=lambda v: (-v["count"], v["variant"]))]
    assert _edges(paths) == Counter(
        {(e["from"], e["to"]): e["count"] for e in ref["dfg_all_edges"]})


@pytest.mark.parametrize(("name", "ref"), SMALL_LOGS, ids=[n for n, _ in SMALL_LOGS])
def test_real_log_matches_reference(shared_data, name, ref):
    log = read_shared(shared_data, name)
    try:
        check_against_reference(log, reference(shared_data, ref))
    finally:
        log.close()


def test_receipt_csv_and_xes_give_the_same_journeys(shared_data):
    csv_log = read_shared(shared_data, "receipt.csv")
    xes_log = read_shared(shared_data, "receipt.xes.gz")
    try:
        assert _paths(csv_log) == _paths(xes_log)
        assert csv_log.mapping.to_dict() == xes_log.mapping.to_dict()
    finally:
        csv_log.close()
        xes_log.close()


def test_sepsis_keeps_the_case_called_NA(shared_data):
    log = read_shared(shared_data, "sepsis.csv")
    try:
        assert log.files[0].details["delimiter"] == ";"
        assert log.con.execute(
            "SELECT count(*) FROM events WHERE case_id = 'NA'").fetchall() == [(24,)]
    finally:
        log.close()


def test_helpdesk_duplicates_are_reported(shared_data):
    log = read_shared(shared_data, "helpdesk.xes.gz")
    try:
        assert warning_counts(log)["duplicates"] == 127
    finally:
        log.close()


def test_bpic2012_complete_events_only(shared_data, bpic2012_complete):
    ref = reference(shared_data, "bpic2012_complete")
    check_against_reference(bpic2012_complete, ref)
    assert bpic2012_complete.filtered == ref["rows_read"] - ref["events"]
    assert any(note.startswith("kept complete events only: 97,694 events")
               for note in bpic2012_complete.notes)


def test_bpic2012_all_lifecycles(shared_data, bpic2012_all):
    check_against_reference(bpic2012_all, reference(shared_data, "bpic2012_all_lifecycles"))
    assert bpic2012_all.filtered == 0
