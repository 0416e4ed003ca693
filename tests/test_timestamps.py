"""Each timestamp form, offsets and time zones, day/month order and its ambiguity error."""

from __future__ import annotations

import datetime as dt

import pytest

import cjm

UTC = dt.UTC
NAIVE_NOTE = "timestamps without an offset were read as UTC (pass --timezone to change)"


@pytest.fixture
def stamps(read, write):
    """``stamps(values, **options)``: read one event per value; the log and its instants."""

    def _stamps(values, **options):
        text = "case_id,activity,timestamp\n" + "".join(
            f"c{i},Visit,{value}\n" for i, value in enumerate(values))
        log = read(write("ts.csv", text), **options)
        instants = [ts for (ts,) in log.con.execute("SELECT ts FROM events ORDER BY _line")
                    .fetchall()]
        return log, instants

    return _stamps


def at(*parts: int, micro: int = 0) -> dt.datetime:
    return dt.datetime(*parts, microsecond=micro, tzinfo=UTC)


def test_iso_forms(stamps):
    log, instants = stamps([
        "2024-03-05T10:11:12Z",
        "2024-03-05 10:11:12Z",
        "2024-03-05T10:11:12.123456+02:00",
        "2024-03-05 10:11:12.5-05:30",
        "2024-03-05T10:11:12+0100",
    ])
    assert log.timestamp_format.description == "ISO 8601"
    assert instants == [
        at(2024, 3, 5, 10, 11, 12), at(2024, 3, 5, 10, 11, 12),
        at(2024, 3, 5, 8, 11, 12, micro=123456), at(2024, 3, 5, 15, 41, 12, micro=500000),
        at(2024, 3, 5, 9, 11, 12),
    ]
    assert NAIVE_NOTE not in log.notes  # every value has an offset


def test_mixed_offsets_in_one_file_compare_as_utc_instants(stamps):
    # Summer and winter time in one file, as in the shared receipt log.
    _, instants = stamps(["2011-10-29T23:30:00+02:00", "2011-10-30T00:15:00+01:00",
                            "2011-10-29T22:45:00+00:00"])
    assert instants == [at(2011, 10, 29, 21, 30), at(2011, 10, 29, 23, 15),
                        at(2011, 10, 29, 22, 45)]
    assert sorted(instants) == [instants[0], instants[2], instants[1]]


def test_naive_timestamps_are_read_as_utc_and_said_so(stamps):
    log, instants = stamps(["2024-03-05 10:11:12", "2024-07-05T10:11:12", "2024-07-06"])
    assert instants == [at(2024, 3, 5, 10, 11, 12), at(2024, 7, 5, 10, 11, 12), at(2024, 7, 6)]
    assert log.timezone == "UTC"
    assert NAIVE_NOTE in log.notes


def test_timezone_shifts_naive_timestamps_and_says_so(stamps):
    log, instants = stamps(["2024-03-05 10:11:12", "2024-07-05T10:11:12",
                            "2024-07-05T10:11:12Z"], timezone="Europe/Amsterdam")
    # CET in March (+01:00), CEST in July (+02:00); an explicit offset is never shifted.
    assert instants == [at(2024, 3, 5, 9, 11, 12), at(2024, 7, 5, 8, 11, 12),
                        at(2024, 7, 5, 10, 11, 12)]
    assert "timestamps without an offset were read as Europe/Amsterdam" in log.notes
    assert log.first_timestamp == at(2024, 3, 5, 9, 11, 12)
    assert log.first_timestamp.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(("values", "naive", "first"), [
    (["2024-07-06", "2024-07-08"], True, at(2024, 7, 5, 22)),  # -06 is a day, not an offset
    (["2024-07-06T10:11Z", "2024-07-06 10:11:12.5 +02:00"], False, at(2024, 7, 6, 10, 11)),
    (["2024-07-06T10:11:12-0330", "2024-07-06T10:11:12+02"], False, at(2024, 7, 6, 13, 41, 12)),
    (["20240706T101112Z"], False, at(2024, 7, 6, 10, 11, 12)),  # its Z is UTC too
    # Offsets with seconds, and a fraction with no digits, are offsets too.
    (["2024-07-06T10:11:12+01:30:15", "2024-07-06T10:11:12.Z", "2024-07-06 10:11:12.+02:00"],
     False, at(2024, 7, 6, 8, 40, 57)),
    # A word that is no timestamp is a reject: it says nothing of the time zone.
    (["2024-07-06T10:11Z", "tomorrow", "-epoch", "2024-07-06T10:12Z"], False,
     at(2024, 7, 6, 10, 11)),
    (["2024-07-06T10:11Z", "tomorrow", "2024-07-06 12:12"], True, at(2024, 7, 6, 10, 11)),
    (["2024-07-06 10:11:12 UTC", "2024-07-06 10:11:12 gmt"], False, at(2024, 7, 6, 10, 11, 12)),
])
def test_only_values_without_an_offset_take_the_time_zone(stamps, values, naive, first):
    log, instants = stamps(values, timezone="Europe/Amsterdam")
    note = "timestamps without an offset were read as Europe/Amsterdam"
    assert (note in log.notes) is naive
    assert instants[0] == first


def test_a_given_format_ending_in_z_reads_utc(stamps):
    log, instants = stamps(["2024-07-06 10:11:12Z"], timezone="Europe/Amsterdam",
                           timestamp_format="%Y-%m-%d %H:%M:%SZ")
    assert instants == [at(2024, 7, 6, 10, 11, 12)]
    assert not any("without an offset" in n for n in log.notes)


def test_unknown_timezone_is_a_usage_error(stamps):
    with pytest.raises(cjm.UsageError, match="--timezone: unknown time zone 'Mars/Olympus'"):
        stamps(["2024-03-05"], timezone="Mars/Olympus")


def test_day_first_detected_from_a_day_above_12(stamps):
    log, instants = stamps(["05/03/2024 10:00", "13/03/2024 10:00", "01/02/2024"])
    assert log.timestamp_format.description == "day/month/year"
    assert instants == [at(2024, 3, 5, 10), at(2024, 3, 13, 10), at(2024, 2, 1)]


def test_month_first_detected_from_a_day_above_12(stamps):
    log, instants = stamps(["03/05/2024 10:00", "03/13/2024 10:00:30", "02/01/2024"])
    assert log.timestamp_format.description == "month/day/year"
    assert instants == [at(2024, 3, 5, 10), at(2024, 3, 13, 10, 0, 30), at(2024, 2, 1)]


def test_day_first_with_dots(stamps):
    log, instants = stamps(["05.03.2024 10:00:00", "13.03.2024"])
    assert log.timestamp_format.description == "day/month/year"
    assert instants == [at(2024, 3, 5, 10), at(2024, 3, 13)]


def test_ambiguous_day_month_is_an_error_asking_for_a_flag(stamps):
    with pytest.raises(cjm.DataError) as caught:
        stamps(["03/04/2024", "05/06/2024 10:00"])
    assert "--dayfirst" in str(caught.value)
    assert "--monthfirst" in str(caught.value)
    assert caught.value.exit_code == 1


def test_contradicting_day_month_orders_are_an_error(stamps):
    with pytest.raises(cjm.DataError, match="--dayfirst or --monthfirst"):
        stamps(["13/04/2024", "04/13/2024"])


@pytest.mark.parametrize(
    ("dayfirst", "description", "expected"),
    [(True, "day/month/year", [at(2024, 4, 3), at(2024, 6, 5)]),
     (False, "month/day/year", [at(2024, 3, 4), at(2024, 5, 6)])],
)
def test_dayfirst_option_settles_the_order(stamps, dayfirst, description, expected):
    log, instants = stamps(["03/04/2024", "05/06/2024"], dayfirst=dayfirst)
    assert log.timestamp_format.description == description
    assert instants == expected


def test_dayfirst_option_overrides_the_data(stamps):
    # Told month first, a day-first date that cannot be month first is a reject, not a guess.
    log, instants = stamps(["03/04/2024", "13/04/2024"], dayfirst=False)
    assert instants == [at(2024, 3, 4)]
    assert [(r["line"], r["reason"]) for r in log.rejects()] == [
        (3, "unparsable timestamp (month/day/year expected)")]


@pytest.mark.parametrize(
    ("values", "unit"),
    [(["1700000000", "1700003600.5"], "seconds"),
     (["1700000000000", "1700003600500"], "milliseconds"),
     (["1700000000000000", "1700003600500000"], "microseconds"),
     (["1700000000000000000", "1700003600500000000"], "nanoseconds")],
)
def test_epoch_numbers_recognised_by_magnitude(stamps, values, unit):
    log, instants = stamps(values)
    assert log.timestamp_format.description == f"epoch {unit}"
    assert instants == [at(2023, 11, 14, 22, 13, 20), at(2023, 11, 14, 23, 13, 20, micro=500000)]
    assert NAIVE_NOTE not in log.notes


def test_timestamp_format_option(stamps):
    log, instants = stamps(["05-Mar-2024 10h11", "13-Mar-2024 09h00", "garbage"],
                           timestamp_format="%d-%b-%Y %Hh%M")
    assert log.timestamp_format.description == "format %d-%b-%Y %Hh%M"
    assert instants == [at(2024, 3, 5, 10, 11), at(2024, 3, 13, 9)]
    assert [(r["line"], r["reason"]) for r in log.rejects()] == [
        (4, "unparsable timestamp (format %d-%b-%Y %Hh%M expected)")]


def test_timestamp_format_without_a_directive_is_a_usage_error(stamps):
    with pytest.raises(cjm.UsageError, match="has no % directive"):
        stamps(["2024-03-05"], timestamp_format="YYYY-MM-DD")


def test_unrecognisable_timestamps_ask_for_a_format(stamps):
    with pytest.raises(cjm.DataError, match="cannot recognise the timestamps") as caught:
        stamps(["soon", "later"])
    assert "--timestamp-format" in str(caught.value)


def test_words_duckdb_casts_to_timestamps_are_rejects(stamps):
    # DuckDB casts these words to instants (1970, or infinity); in a log they are no time.
    words = ["epoch", "-epoch", "infinity", "-infinity", "+infinity"]
    log, instants = stamps([f"2024-03-05T1{h}:00:00Z" for h in range(6)] + words)
    assert instants == [at(2024, 3, 5, 10 + h) for h in range(6)]
    assert [(r["line"], r["reason"]) for r in log.rejects()] == [
        (line, "unparsable timestamp (ISO 8601 expected)") for line in range(8, 13)]


def test_slash_separated_iso_like_timestamps(stamps):
    # The shared sepsis log writes 2014/10/22 11:15:41.000.
    _, instants = stamps(["2014/10/22 11:15:41.000", "2014/10/23 00:00:00.250"])
    assert instants == [at(2014, 10, 22, 11, 15, 41), at(2014, 10, 23, micro=250000)]


def test_epoch_units_mixed_in_one_column(stamps):
    # Seconds and milliseconds side by side: each value is read by its own size.
    log, instants = stamps(["1700000000", "1700003600500"])
    assert log.timestamp_format.description in ("epoch seconds", "epoch milliseconds")
    assert instants == [at(2023, 11, 14, 22, 13, 20), at(2023, 11, 14, 23, 13, 20, micro=500000)]


def test_braces_in_a_timestamp_format_are_literal(stamps):
    log, instants = stamps(["2024-03-05{c}"], timestamp_format="%Y-%m-%d{c}")
    assert instants == [at(2024, 3, 5)] and log.rejected == 0


def test_the_sample_is_the_first_values_in_file_order(read, write, monkeypatch):
    """A log read in parts (here JSON Lines, 1,000 records a part) is sampled in its own
    order: its first 20,000 timestamps carry an offset, the 10,000 after them do not, so
    the format is decided without the note, and the later ones still take the time zone."""
    from cjm.engine.duckdb.readers import records

    monkeypatch.setattr(records, "BATCH_ROWS", 1_000)
    rows = [f'{{"case_id": "c{i}", "activity": "Visit", "timestamp": "2024-07-06T10:11:12'
            f'{"Z" if i < 20_000 else ""}"}}\n' for i in range(30_000)]
    log = read(write("log.jsonl", "".join(rows)), timezone="Europe/Amsterdam")
    assert not any("without an offset" in note for note in log.notes)
    first, last = log.con.execute(
        "SELECT min(ts), max(ts) FROM events").fetchall()[0]
    assert (first, last) == (at(2024, 7, 6, 8, 11, 12), at(2024, 7, 6, 10, 11, 12))
