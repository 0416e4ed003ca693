"""Each reader on tiny hand-made files: what is read, as text, with the right line numbers."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, events

UTC = dt.UTC


def test_comma_csv_keeps_case_ids_exactly_as_written(read):
    log = read(DATA / "comma.csv")
    assert (log.journeys, log.events, log.stages) == (3, 5, 3)
    assert events(log, "journey", "stage", "channel", "_line") == [
        ("00000042", "Visit", "app", 4),
        ("00000042", "Purchase", "app", 6),
        ("1e5", "Visit", "store", 5),
        ("NA", "Visit", "web", 2),
        ("NA", "Search", "web", 3),
    ]
    report = log.files[0]
    assert (report.format, report.rows, report.events, report.rejected, report.filtered) == (
        "csv", 5, 5, 0, 0)
    assert report.details["delimiter"] == ","
    assert report.details["delimiter_source"] == "detected"
    assert report.details["encoding"] == "utf-8"


@pytest.mark.parametrize(
    ("name", "delimiter", "columns"),
    [
        ("semicolon.csv", ";", ("customer_id", "touchpoint", "event_time")),
        ("tabs.tsv", "\t", ("session_id", "step", "ts")),
        ("pipe.csv", "|", ("user_id", "action", "datetime")),
    ],
)
def test_delimiter_is_sniffed(read, name, delimiter, columns):
    log = read(DATA / name)
    assert log.files[0].details["delimiter"] == delimiter
    assert log.files[0].details["delimiter_source"] == "detected"
    mapping = log.mapping.to_dict()
    assert tuple(mapping[r]["column"] for r in ("case", "stage", "timestamp")) == columns
    assert events(log, "journey", "stage", "_line") == [
        ("00000042", "Visit", 4), ("NA", "Visit", 2), ("NA", "Search", 3),
    ]
    assert (log.files[0].rows, log.files[0].events, log.rejected) == (3, 3, 0)


def test_delimiter_flag_is_used_and_reported(read, write):
    path = write("semi.csv", "case_id;activity;timestamp\n1;a,b;2024-01-01\n")
    log = read(path, delimiter=";")
    assert log.files[0].details["delimiter"] == ";"
    assert log.files[0].details["delimiter_source"] == "flag"
    assert events(log, "case_id", "stage") == [("1", "a,b")]


def test_tab_delimiter_given_as_backslash_t(read):
    log = read(DATA / "tabs.tsv", delimiter="\\t")
    assert log.files[0].details["delimiter"] == "\t"
    assert log.events == 3


def test_quoted_fields_with_delimiters_quotes_and_newlines(read):
    log = read(DATA / "quoted.csv", keep_rows=True)
    assert events(log, "journey", "stage", "_line") == [
        ("1", "Visit, then leave", 2),
        ("1", "Chat\nwith agent", 3),
        ("2", "Visit", 6),  # the record above spans lines 3 to 5
    ]
    assert log.con.execute("SELECT note FROM raw ORDER BY _line").fetchall() == [
        ('said "hi"',), ("two\nlines",), ("plain",),
    ]
    assert (log.files[0].rows, log.rejected) == (3, 0)


def test_utf8_byte_order_mark_is_not_part_of_the_first_column(read):
    log = read(DATA / "bom.csv")
    assert log.mapping.to_dict()["case"] == {"column": "case_id", "source": "detected"}
    assert log.files[0].details["encoding_source"] == "byte-order mark"
    assert events(log, "journey", "stage") == [("1", "Visit"), ("1", "Café")]


def test_cp1252_file_is_sniffed_and_said_so(read):
    log = read(DATA / "cp1252.csv")
    assert log.files[0].details["encoding"] == "cp1252"
    assert events(log, "journey", "stage") == [("1", "Café"), ("1", "€ offer"), ("2", "Naïve")]
    assert "cp1252.csv: not UTF-8; read as cp1252 (pass --encoding to change)" in log.notes
    assert log.rejected == 0


def test_encoding_flag_overrides_the_sniffer(read):
    log = read(DATA / "cp1252.csv", encoding="latin-1")
    assert log.files[0].details["encoding"] == "latin-1"
    assert log.files[0].details["encoding_source"] == "flag"
    # In latin-1, byte 0x80 is a C1 control character, not the euro sign.
    assert events(log, "journey", "stage") == [("1", "Café"), ("1", "\x80 offer"),
                                               ("2", "Naïve")]
    assert not any("cp1252" in note for note in log.notes)


def test_unknown_encoding_is_a_usage_error(read):
    with pytest.raises(__import__("cjm").UsageError, match="--encoding: unknown encoding"):
        read(DATA / "comma.csv", encoding="klingon-8")


def test_gzip_csv(read, tmp_path):
    path = tmp_path / "comma.csv.gz"
    path.write_bytes(gzip.compress((DATA / "comma.csv").read_bytes()))
    log = read(path)
    assert (log.files[0].format, log.files[0].rows, log.events, log.journeys) == ("csv", 5, 5, 3)
    assert events(log, "journey", "_line")[0] == ("00000042", 4)


def test_gzip_csv_with_rejects_keeps_line_numbers(read, tmp_path):
    text = "case_id,activity,timestamp\n1,a,2024-01-01\n2,b,2024-01-01,x\n3,,2024-01-01\n"
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    log = read(path)
    assert [(r["line"], r["reason"]) for r in log.rejects()] == [
        (3, "malformed line: expected number of columns: 3 found: 4"),
        (4, "missing stage (column activity)"),
    ]


def test_a_csv_read_in_parallel_keeps_every_rows_line(read, tmp_path):
    # Over 100 MB, DuckDB splits the file among its threads: the lines must still be the
    # file's, after a record over two lines too (each row carries its own line as segment).
    path, line = tmp_path / "big.csv", 2
    with path.open("w") as out:
        out.write("journey,stage,timestamp,segment\n")
        for i in range(3_000_000):
            note = '"two\nlines"' if i == 3 else "x"
            out.write(f"j{i % 5000},{note},2024-01-01 00:00:00,{line}\n")
            line += 2 if i == 3 else 1
    log = read(path, columns={"segment": "segment"})
    assert log.events == 3_000_000
    assert log.con.execute(
        "SELECT count(*) FROM events WHERE _line <> segment::BIGINT").fetchall() == [(0,)]


@pytest.mark.parametrize("removed", ["rejected", "filtered"])
def test_lines_stay_the_files_when_rows_go_from_the_middle(read, tmp_path, removed):
    # A file read in place numbers its lines by row id while no row goes. Here 650,000 rows
    # of the middle go (rejected for their empty stage, or not complete), and DuckDB compacts
    # the table at its checkpoint, giving the rows after them other ids: the lines must be
    # the file's all the same (each row carries its own line as segment).
    path = tmp_path / "middle.csv"
    with path.open("w") as out:
        out.write("journey,stage,timestamp,lifecycle,segment\n")
        for line in range(2, 1_000_002):
            gone = 50_000 <= line < 700_000
            stage = "" if gone and removed == "rejected" else "Visit"
            state = "start" if gone and removed == "filtered" else "complete"
            out.write(f"j{line % 5000},{stage},2024-01-01 00:00:00,{state},{line}\n")
    log = read(path, columns={"segment": "segment", "lifecycle": "lifecycle"})
    assert log.events == 350_000
    assert log.con.execute(
        "SELECT count(*) FROM events WHERE _line <> segment::BIGINT").fetchall() == [(0,)]
    if removed == "rejected":
        assert [r["line"] for r in log.rejects(limit=2)] == [50_000, 50_001]


def test_a_line_near_the_8_mb_limit_across_a_read_buffer_is_kept(read, tmp_path):
    # DuckDB reads a CSV in 16 MiB buffers, twice the longest line allowed: a 7.9 MB line
    # that starts 14 MB in runs into the next buffer, and it and every row after it keep
    # their line (each row carries its own line as segment).
    path, line = tmp_path / "long.csv", 2
    with path.open("w") as out:
        out.write("journey,stage,timestamp,segment\n")
        while out.tell() < 14_000_000:
            out.write(f"j{line % 5000},Visit,2024-01-01 00:00:00,{line}\n")
            line += 1
        long_line = line
        out.write(f"j1,{'x' * 7_900_000},2024-01-01 00:00:00,{line}\n")
        for _ in range(200_000):
            line += 1
            out.write(f"j{line % 5000},Visit,2024-01-01 00:00:00,{line}\n")
    log = read(path, columns={"segment": "segment"})
    assert log.events == line - 1 and not log.rejects()
    assert log.con.execute(
        "SELECT count(*) FROM events WHERE _line <> segment::BIGINT").fetchall() == [(0,)]
    assert log.con.execute(
        f"SELECT length(stage) FROM events WHERE _line = {long_line}").fetchall() == [(7_900_000,)]


def test_json_array_of_records(read):
    log = read(DATA / "records.json")
    assert log.files[0].format == "json"
    assert events(log, "journey", "stage", "_line") == [
        ("00000042", "Visit", 3), ("1e5", "Visit", 4), ("42", "Search", 5), ("NA", "Visit", 2),
    ]


def test_json_lines_nested_objects_become_dotted_columns(read):
    log = read(DATA / "nested.jsonl", keep_rows=True)
    assert log.files[0].format == "jsonl"
    mapping = log.mapping.to_dict()
    assert mapping["case"] == {"column": "customer.id", "source": "detected"}
    assert mapping["stage"] == {"column": "event.name", "source": "detected"}
    assert mapping["timestamp"] == {"column": "time", "source": "detected"}
    assert mapping["channel"] == {"column": "channel", "source": "detected"}
    assert mapping["segment"] == {"column": "customer.segment", "source": "detected"}
    # Blank line 3 is no row; line 4 is still line 4.
    assert events(log, "journey", "stage", "channel", "segment", "_line") == [
        ("00000042", "Visit", "web", "vip", 1),
        ("1e5", "Purchase", "app", "new", 4),
        ("NA", "Search", "app", "new", 2),
    ]
    raw = log.con.execute('SELECT "value", tags, ok FROM raw ORDER BY _line').fetchall()
    assert raw == [("1.50", None, None), (None, None, None), (None, '["a",1]', "true")]
    assert (log.files[0].rows, log.rejected) == (3, 0)


def test_json_extension_holding_json_lines(read, write):
    path = write("lines.json", '{"case_id": "7", "activity": "a", "timestamp": "2024-01-01"}\n'
                               '{"case_id": "8", "activity": "b", "timestamp": "2024-01-02"}\n')
    log = read(path)
    assert events(log, "journey", "_line") == [("7", 1), ("8", 2)]


def test_parquet_keeps_text_ids_and_native_timestamps(read, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "case_id": ["NA", "00000042", "1e5", "NA"],
        "activity": ["Visit", "Visit", "Visit", "Search"],
        "timestamp": pa.array([dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
                               dt.datetime(2024, 3, 2, 9, tzinfo=UTC),
                               dt.datetime(2024, 3, 3, 8, tzinfo=UTC),
                               dt.datetime(2024, 3, 1, 10, 5, tzinfo=UTC)],
                              pa.timestamp("us", tz="UTC")),
        "amount": [1, 2, 3, 4],
    })
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    log = read(path)
    assert log.files[0].format == "parquet"
    assert events(log, "journey", "stage", "ts", "_line") == [
        ("00000042", "Visit", dt.datetime(2024, 3, 2, 9, tzinfo=UTC), 2),
        ("1e5", "Visit", dt.datetime(2024, 3, 3, 8, tzinfo=UTC), 3),
        ("NA", "Visit", dt.datetime(2024, 3, 1, 10, tzinfo=UTC), 1),
        ("NA", "Search", dt.datetime(2024, 3, 1, 10, 5, tzinfo=UTC), 4),
    ]
    assert not any("without an offset" in note for note in log.notes)


def test_parquet_with_text_timestamps_and_a_missing_id(read, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({
        "case_id": ["1", None, "2"],
        "activity": ["a", "b", "c"],
        "timestamp": ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z", "2024-03-01T12:00:00Z"],
    }), path)
    log = read(path)
    assert [(r["line"], r["reason"]) for r in log.rejects()] == [
        (2, "missing journey id (column case_id)")]
    assert (log.files[0].rows, log.files[0].events, log.files[0].rejected) == (3, 2, 1)


@pytest.mark.parametrize("compressed", [False, True], ids=["xes", "xes.gz"])
def test_xes_trace_attributes_become_case_columns(read, tmp_path, compressed):
    path = tmp_path / ("tiny.xes.gz" if compressed else "tiny.xes")
    if compressed:
        path.write_bytes(gzip.compress((DATA / "tiny.xes").read_bytes()))
    else:
        shutil.copy(DATA / "tiny.xes", path)
    log = read(path, keep_rows=True)
    assert log.files[0].format == "xes"
    assert log.mapping.to_dict() == {
        "case": {"column": "case:concept:name", "source": "detected"},
        "stage": {"column": "concept:name", "source": "detected"},
        "timestamp": {"column": "time:timestamp", "source": "detected"},
        "channel": {"column": "case:channel", "source": "detected"},
    }
    assert events(log, "journey", "stage", "channel", "ts", "_line") == [
        ("00000042", "Visit", "web", dt.datetime(2024, 3, 1, 9, tzinfo=UTC), 7),
        ("00000042", "Purchase", "web", dt.datetime(2024, 3, 1, 10, tzinfo=UTC), 11),
        ("NA", "Visit", "app", dt.datetime(2024, 3, 2, 9, tzinfo=UTC), 20),
    ]
    assert log.con.execute(
        "SELECT amount FROM raw WHERE amount IS NOT NULL").fetchall() == [("12.50",)]
    assert (log.files[0].rows, log.files[0].events, log.rejected, log.filtered) == (3, 3, 0, 0)


def test_broken_xes_names_the_file_and_line(read, write):
    path = write("broken.xes", (DATA / "tiny.xes").read_text()[:400])
    with pytest.raises(__import__("cjm").DataError, match=r"broken\.xes:\d+: not well-formed XES"):
        read(path)


def test_several_files_and_a_glob_read_as_one_log(read, write):
    header = "case_id,activity,timestamp\n"
    write("logs/2024-01.csv", header + "a,Visit,2024-01-05T10:00:00Z\n"
                                       "b,Visit,2024-01-06T10:00:00Z\n")
    write("logs/2024-02.csv", header + "a,Buy,2024-02-01T10:00:00Z\nc,,2024-02-02T10:00:00Z\n"
                                       "c,Visit,2024-02-02T10:00:00Z,extra\n")
    write("logs/2024-03.jsonl", '{"case_id": "b", "activity": "Buy", "timestamp": '
                                '"2024-03-01T10:00:00Z"}\n[1]\n')
    write("logs/other.csv", header + "z,Visit,2024-01-01T00:00:00Z\n")
    log = read(["logs/2024-*.csv", "logs/2024-03.jsonl"])
    assert [f.path for f in log.files] == ["logs/2024-01.csv", "logs/2024-02.csv",
                                           "logs/2024-03.jsonl"]
    assert [(f.format, f.rows, f.events, f.rejected, f.filtered) for f in log.files] == [
        ("csv", 2, 2, 0, 0), ("csv", 3, 1, 2, 0), ("jsonl", 2, 1, 1, 0)]
    assert (log.rows, log.events, log.rejected, log.filtered) == (7, 4, 3, 0)
    assert events(log, "journey", "stage", "_file", "_line") == [
        ("a", "Visit", 0, 2), ("a", "Buy", 1, 2), ("b", "Visit", 0, 3), ("b", "Buy", 2, 1)]
    assert [(r["file"], r["line"]) for r in log.rejects()] == [
        ("logs/2024-02.csv", 3), ("logs/2024-02.csv", 4), ("logs/2024-03.jsonl", 2)]


def test_files_with_different_columns_are_united_by_name(read, write):
    one = write("one.csv", "case_id,activity,timestamp,channel\n1,a,2024-01-01,web\n")
    two = write("two.csv", "timestamp,case_id,activity\n2024-01-02,1,b\n")
    log = read([one, two])
    assert events(log, "journey", "stage", "channel") == [("1", "a", "web"), ("1", "b", None)]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("nothing-*.csv", "nothing-*.csv: no file matches this pattern"),
     ("absent.csv", "absent.csv: no such file")],
)
def test_missing_inputs_are_usage_errors(read, pattern, message):
    import cjm

    with pytest.raises(cjm.UsageError) as caught:
        read(pattern)
    assert caught.value.message == message
    assert caught.value.exit_code == 2


def _named_like_a_pattern(write, kind: str, name: str, rows: list[str]) -> Path:
    import duckdb

    text = "case_id,activity,timestamp\n" + "".join(row + "\n" for row in rows)
    if kind == "csv":
        return write(f"{name}.csv", text)
    if kind == "csv.gz":
        return write(f"{name}.csv.gz", gzip.compress(text.encode()))
    plain = write(f"{name}.txt", text)
    path = plain.with_name(f"{name}.parquet")
    duckdb.execute(f"COPY (FROM read_csv('{plain}', all_varchar=true)) TO '{path}'")
    plain.unlink()
    return path


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet"])
def test_a_file_named_like_a_pattern_is_that_file(read, write, kind):
    """shop[1].csv is that file, though shop1.csv lies beside it: DuckDB, which takes the
    names it reads as globs (and would read shop1.csv), is given it under a plain name."""
    named = _named_like_a_pattern(write, kind, "shop[1]", [
        "a,Visit,2024-01-05T10:00:00Z", "a,Buy,2024-01-05T11:00:00Z",
        "b,Visit,2024-01-06T10:00:00Z", "b,,2024-01-06T11:00:00Z"])
    other = _named_like_a_pattern(write, kind, "shop1", ["z,Visit,2024-01-01T00:00:00Z"])
    log = read(named)
    assert (log.journeys, log.events, log.rejected) == (2, 3, 1)
    assert [f.path for f in log.files] == [str(named)]
    header = 0 if kind == "parquet" else 1  # a Parquet row is numbered, a CSV line counted
    assert events(log, "journey", "stage", "_line")[:2] == [("a", "Visit", 1 + header),
                                                          ("a", "Buy", 2 + header)]
    assert [(r["file"], r["line"]) for r in log.rejects()] == [(str(named), 4 + header)]
    # The same name as a glob, where no file has it: it matches shop1 alone.
    other_only = read(str(named).replace("[1]", "[0-9]"))
    assert [f.path for f in other_only.files] == [str(other)] and other_only.events == 1


@pytest.mark.parametrize("name", ["bom.json", "bom.jsonl"])
def test_json_with_a_byte_order_mark(read, write, name):
    record = '{"case_id": "00000042", "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"}'
    text = f"[{record}]\n" if name.endswith(".json") else record + "\n"
    log = read(write(name, b"\xef\xbb\xbf" + text.encode()))
    assert events(log, "journey", "stage", "_line") == [("00000042", "Visit", 1)]


def test_xes_lines_past_65535_are_the_lines_of_the_events(read, write):
    """Rejects name the line of the event's start tag, also past line 65,535 (libxml2 keeps
    element lines in 16 bits, and gave such an event the line after its start tag)."""
    padding = "\n" * 70_000
    path = write("long.xes", (
        '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">'
        f'{padding}<trace><string key="concept:name" value="c1"/>\n'
        '<event>\n<string key="concept:name" value="Visit"/>\n'
        '<date key="time:timestamp" value="2024-03-01T10:00:00Z"/>\n</event>\n'
        '<event>\n<string key="concept:name" value="Buy"/>\n'
        '<date key="time:timestamp" value="not a date"/>\n</event>\n'
        '<event/>\n</trace>\n</log>\n'))
    log = read(path, keep_rows=True)
    assert log.con.execute("SELECT _line FROM raw ORDER BY _line").fetchall() == [
        (70_003,), (70_007,), (70_011,)]
    assert [(r["line"], r["reason"]) for r in log.rejects()] == [
        (70_007, "unparsable timestamp (ISO 8601 expected)"),
        (70_011, "missing stage (column concept:name)")]


@pytest.mark.parametrize("fmt", ["xes", "jsonl"])
def test_reading_xes_or_json_lines_does_not_import_pandas(write, fmt):
    """Like CSV: pyarrow's pa.array() imports pandas (half a second) just to ask whether a
    list is a pandas object, so the batches are built without it."""
    path = DATA / "tiny.xes" if fmt == "xes" else write("tiny.jsonl", (
        '{"case_id": "1", "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"}\n'))
    code = (f"import sys, cjm; cjm.read_log({str(path)!r}).close(); "
            "print('pandas' in sys.modules)")
    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, cwd=root, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def _counted(path):
    from cjm.engine.duckdb.readers.delimited import _LineCount

    count = _LineCount(path)
    count.start()
    return count.result()


def test_the_lines_counted_beside_the_parse(write, tmp_path):
    """The line count runs in a thread while DuckDB parses; its result, or its error, comes
    back where it is read."""
    assert _counted(write("a.csv", "h\n1\n2")) == 3
    assert _counted(write("b.csv", "h\n1\n2\n")) == 3
    with pytest.raises(FileNotFoundError):
        _counted(tmp_path / "missing.csv")


def test_a_file_read_in_place_has_its_lines_counted_in_a_thread(write, read, monkeypatch):
    import threading

    from cjm.engine.duckdb.readers import delimited

    counted_in = []
    count_lines = delimited._count_lines

    def spy(path):
        counted_in.append(threading.current_thread() is threading.main_thread())
        return count_lines(path)

    monkeypatch.setattr(delimited, "_count_lines", spy)
    log = read(write("a.csv", "case_id,stage,timestamp\nc,a,2024-03-01T10:00:00Z\n"))
    assert log.events == 1 and counted_in == [False]
