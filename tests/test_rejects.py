"""Every reject reason, with its exact line; ``write_rejects`` writes them all, safely."""

from __future__ import annotations

import csv

import pytest
from conftest import reject_lines

HEADER = "case_id,activity,timestamp\n"
GOOD = "ok,Visit,2024-03-01T10:00:00Z\n"


def test_every_row_level_reason_with_its_line(read, write):
    path = write("bad.csv", HEADER + GOOD + (
        ",Visit,2024-03-01T10:00:00Z\n"            # 3: missing case id
        "  ,Visit,2024-03-01T10:00:00Z\n"          # 4: a blank case id is missing too
        "c1,,2024-03-01T10:00:00Z\n"               # 5: missing stage
        "c1,Visit,\n"                              # 6: empty timestamp
        "c1,Visit,yesterday\n"                     # 7: unparsable timestamp
        "c1,Visit,2024-03-01T10:00:00Z,extra\n"    # 8: too many fields
        "c1,Visit\n"                               # 9: too few fields
    ) + GOOD)
    log = read(path)
    assert reject_lines(log) == [
        (3, "missing journey id (column case_id)"),
        (4, "missing journey id (column case_id)"),
        (5, "missing stage (column activity)"),
        (6, "empty timestamp (column timestamp)"),
        (7, "unparsable timestamp (ISO 8601 expected)"),
        (8, "malformed line: expected number of columns: 3 found: 4"),
        (9, "malformed line: expected number of columns: 3 found: 2"),
    ]
    report = log.files[0]
    assert (report.rows, report.events, report.rejected, report.filtered) == (9, 2, 7, 0)
    rejects = log.rejects()
    assert {r["file"] for r in rejects} == {str(path)}
    assert rejects[0]["content"] == "journey id=, stage=Visit, timestamp=2024-03-01T10:00:00Z"
    assert rejects[4]["content"] == "journey id=c1, stage=Visit, timestamp=yesterday"
    assert rejects[5]["content"] == "c1,Visit,2024-03-01T10:00:00Z,extra"
    assert rejects[6]["content"] == "c1,Visit"


def test_an_id_or_stage_that_only_starts_blank_is_kept(read, write):
    # Rows whose id and stage start with a letter skip the reject tests; these do not, and
    # must be judged by the tests themselves: spaces alone are nothing, anything else counts.
    path = write("edges.csv", HEADER + (
        " c1,Visit,2024-03-01T10:00:00Z\n"         # 2: kept, its id starts with a space
        "\tc2, Visit,2024-03-01T10:00:00Z\n"       # 3: kept: a tab is not a space
        "c3,   ,2024-03-01T10:00:00Z\n"            # 4: spaces only: missing stage
        "   ,Visit,2024-03-01T10:00:00Z\n"         # 5: spaces only: missing journey id
        "c5,\t,2024-03-01T10:00:00Z\n"             # 6: kept: a stage named by a tab
    ))
    log = read(path)
    assert reject_lines(log) == [
        (4, "missing stage (column activity)"),
        (5, "missing journey id (column case_id)"),
    ]
    assert log.events == 3
    assert sorted(log.con.execute("SELECT journey, stage FROM events").fetchall()) == [
        ("\tc2", " Visit"), (" c1", "Visit"), ("c5", "\t")]


def test_unterminated_quote(read, write):
    path = write("quote.csv", HEADER + GOOD + GOOD + 'c2,"Visit,2024-03-01T10:00:00Z\n')
    log = read(path)
    assert reject_lines(log) == [
        (4, "malformed line: bad quoting (a quote is never closed, or text follows a closing "
            "quote)")]
    assert (log.files[0].rows, log.events, log.rejected) == (3, 2, 1)


def test_invalid_utf8_line_when_reading_utf8(read, write):
    path = write("bytes.csv", HEADER.encode() + GOOD.encode() + b"c1,Caf\xe9,2024-03-01\n"
                 + GOOD.encode())
    log = read(path, encoding="utf-8")
    assert reject_lines(log) == [(3, "not valid utf-8 text (pass --encoding)")]
    assert (log.files[0].rows, log.events) == (3, 2)


def test_invalid_utf8_beyond_the_sniffed_sample_is_a_reject(read, write):
    # The first megabyte is UTF-8, so the file is read as UTF-8; the late bad line is rejected.
    rows = GOOD * 40_000
    path = write("late.csv", (HEADER + rows).encode() + b"c1,Caf\xe9,2024-03-01\n" + GOOD.encode())
    log = read(path)
    assert log.files[0].details["encoding"] == "utf-8"
    assert reject_lines(log) == [(40_002, "not valid utf-8 text (pass --encoding)")]
    assert (log.files[0].rows, log.events) == (40_002, 40_001)


def test_line_numbers_after_a_multiline_field(read, write):
    path = write("multi.csv", HEADER + (
        'c1,"Chat\nwith\nagent",2024-03-01T10:00:00Z\n'   # 2-4
        "c1,,2024-03-01T11:00:00Z\n"                      # 5: missing stage
        "c1,Visit,2024-03-01T12:00:00Z,x\n"               # 6: too many fields
        "c2,Visit,2024-03-01T13:00:00Z\n"                 # 7
    ))
    log = read(path)
    assert reject_lines(log) == [
        (5, "missing stage (column activity)"),
        (6, "malformed line: expected number of columns: 3 found: 4"),
    ]
    assert log.con.execute("SELECT _line FROM events ORDER BY _line").fetchall() == [(2,), (7,)]


def test_line_numbers_after_blank_lines(read, write):
    path = write("blank.csv", HEADER + GOOD + "\n" + (
        "c1,Visit,2024-03-01T10:00:00Z,x\n"   # 4: too many fields
        "c1,Visit\n"                          # 5: too few
        "\n\n"                                # 6, 7
        "c1,,2024-03-01T10:00:00Z\n"          # 8: missing stage
        "c1,Visit,2024-03-01T10:00:00Z,x\n"   # 9: too many fields
    ) + GOOD)                                 # 10
    log = read(path)
    assert reject_lines(log) == [
        (4, "malformed line: expected number of columns: 3 found: 4"),
        (5, "malformed line: expected number of columns: 3 found: 2"),
        (8, "missing stage (column activity)"),
        (9, "malformed line: expected number of columns: 3 found: 4"),
    ]
    assert log.con.execute("SELECT _line FROM events ORDER BY _line").fetchall() == [(2,), (10,)]
    assert (log.files[0].rows, log.events, log.rejected) == (6, 2, 4)


def test_blank_line_after_a_malformed_line(read, write):
    path = write("blank2.csv", HEADER + GOOD + "c1,Visit,2024-03-01T10:00:00Z,x\n\n" + GOOD)
    log = read(path)
    assert reject_lines(log) == [(3, "malformed line: expected number of columns: 3 found: 4")]
    assert log.con.execute("SELECT _line FROM events ORDER BY _line").fetchall() == [(2,), (5,)]


def test_crlf_line_endings(read, write):
    text = HEADER + GOOD + 'c1,"two\nlines",2024-03-01T10:00:00Z\nc1,Visit\n' + GOOD
    log = read(write("crlf.csv", text.replace("\n", "\r\n")))
    assert reject_lines(log) == [(5, "malformed line: expected number of columns: 3 found: 2")]
    assert log.con.execute("SELECT _line FROM events ORDER BY _line").fetchall() == [
        (2,), (3,), (6,)]


def test_non_records_in_a_json_array(read, write):
    path = write("array.json", "[\n"
                 '  {"case_id": "1", "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"},\n'
                 "  5,\n"
                 "  [1, 2],\n"
                 "  null,\n"
                 '  {"case_id": "1", "activity": "", "timestamp": "2024-03-01T11:00:00Z"},\n'
                 '  {"case_id": "2", "activity": "Visit",\n'
                 '   "timestamp": "2024-03-01T12:00:00Z"}\n'
                 "]\n")
    log = read(path)
    assert reject_lines(log) == [
        (3, "not a record: a JSON number where an object was expected"),
        (4, "not a record: a JSON array where an object was expected"),
        (5, "not a record: a JSON null where an object was expected"),
        (6, "missing stage (column activity)"),
    ]
    assert [r["content"] for r in log.rejects()][:3] == ["5", "[1, 2]", "null"]
    assert log.con.execute("SELECT _line FROM events ORDER BY _line").fetchall() == [(2,), (7,)]
    assert (log.files[0].rows, log.events, log.rejected) == (6, 2, 4)


def test_json_lines_rejects(read, write):
    path = write("lines.jsonl", (
        b'{"case_id": "1", "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"}\n'  # 1
        b"\n"                                                                           # 2
        b"42\n"                                                                         # 3
        b'["a"]\n'                                                                      # 4
        b'{"case_id": "1", "activity": "Buy", \n'                                       # 5
        b'{"activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"}\n'                 # 6
        b'{"case_id": "1", "activity": "Visit", "timestamp": "not a time"}\n'           # 7
        b'{"case_id": "1", "activity": "Caf\xe9", "timestamp": "2024-03-01"}\n'         # 8
        b'{"case_id": "2", "activity": "Visit", "timestamp": "2024-03-01T11:00:00Z"}\n'  # 9
    ))
    log = read(path)
    assert reject_lines(log) == [
        (3, "not a record: a JSON number where an object was expected"),
        (4, "not a record: a JSON array where an object was expected"),
        (5, "malformed JSON: Expecting property name enclosed in double quotes"),
        (6, "missing journey id (column case_id)"),
        (7, "unparsable timestamp (ISO 8601 expected)"),
        (8, "not valid UTF-8 text"),
    ]
    contents = {r["line"]: r["content"] for r in log.rejects()}
    assert contents[3] == "42"
    assert contents[8] == '{"case_id": "1", "activity": "Caf\ufffd", "timestamp": "2024-03-01"}'
    assert (log.files[0].rows, log.events, log.rejected) == (8, 2, 6)


def test_malformed_json_array_is_a_data_error_with_the_line(read, write):
    import cjm

    path = write("broken.json", '[\n  {"case_id": "1"},\n  {"case_id": 00042}\n]\n')
    with pytest.raises(cjm.DataError, match=r"broken\.json.*malformed JSON.*line 3"):
        read(path)


def test_write_rejects_writes_every_reject_and_neutralises_formulas(read, write, tmp_path):
    path = write("formula.csv", HEADER + GOOD + (
        "=HYPERLINK(\"http://x\"),Visit,2024-03-01,x\n"   # 3: too many fields
        "+1,Visit\n"                                      # 4: too few
        "-1,Visit,2024,x\n"                               # 5: too many
        "@SUM(A1),Visit\n"                                # 6: too few
        "c1,,2024-03-01\n"                                # 7: missing stage
    ))
    log = read(path)
    target = tmp_path / "out" / "rejects.csv"
    assert log.write_rejects(target) == 5
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["file", "line", "reason", "content"],
        [str(path), "3", "malformed line: expected number of columns: 3 found: 4",
         "'=HYPERLINK(\"http://x\"),Visit,2024-03-01,x"],
        [str(path), "4", "malformed line: expected number of columns: 3 found: 2", "'+1,Visit"],
        [str(path), "5", "malformed line: expected number of columns: 3 found: 4",
         "'-1,Visit,2024,x"],
        [str(path), "6", "malformed line: expected number of columns: 3 found: 2",
         "'@SUM(A1),Visit"],
        [str(path), "7", "missing stage (column activity)",
         "journey id=c1, stage=, timestamp=2024-03-01"],
    ]


def test_reject_reasons_summary(read, write):
    path = write("sum.csv", HEADER + GOOD + "c1,,2024-03-01\nc2,,2024-03-01\nc3,V,x\n"
                 "c4,,2024-03-01\n")
    log = read(path)
    assert log.reject_reasons(examples=2) == [
        {"reason": "missing stage (column activity)", "count": 3,
         "examples": [f"{path}:3", f"{path}:4"]},
        {"reason": "unparsable timestamp (ISO 8601 expected)", "count": 1,
         "examples": [f"{path}:5"]},
    ]


def test_only_rejects_leaves_no_events(read, write):
    import cjm

    path = write("allbad.csv", HEADER + "c1,,2024-03-01\n,V,2024-03-01\n")
    with pytest.raises(cjm.DataError,
                       match=r"no events to work with \(2 rows read, 2 rejected, 0 filtered\)"):
        read(path)


def test_commands_say_where_rejects_are_explained_and_that_is_true(write, tmp_path):
    """The pointer every command prints with rejects leads where it says: cjm inspect names
    each reason with its first line, --rejects writes every row."""
    from tests.conftest import run_cli

    log = write("bad.csv", "journey_id,stage,timestamp\na,Visit,2024-01-01 10:00\n"
                           "a,Buy,not-a-time\nb,Visit,2024-01-02 10:00\n,Visit,2024-01-02 11:00\n"
                           "b,Buy,2024-01-02 12:00\n")
    pointer = "rejected rows: why and where in cjm inspect; each one with --rejects FILE.csv"
    shown = run_cli("discover", str(log), "--no-map")
    assert shown.exit_code == 0 and pointer in shown.stdout
    inspected = run_cli("inspect", str(log))
    assert pointer not in inspected.stdout
    assert "missing journey id (column journey_id)" in inspected.stdout
    assert "bad.csv:5" in inspected.stdout and "bad.csv:3" in inspected.stdout
    listed = run_cli("funnel", str(log), "--steps", "Visit,Buy", "--rejects", "r.csv")
    assert listed.exit_code == 0 and pointer in listed.stdout
    with open(tmp_path / "r.csv", newline="") as rows:
        assert [row["line"] for row in csv.DictReader(rows)] == ["3", "5"]
    clean = write("good.csv", "journey_id,stage,timestamp\na,Visit,2024-01-01 10:00\n")
    assert "rejected rows" not in run_cli("discover", str(clean), "--no-map").stdout
