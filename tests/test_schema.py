"""Column roles: detected from names, named by flags or a config file, and clear errors."""

from __future__ import annotations

import pytest

import cjm
from cjm.config import find_config

ROW = "1,Visit,2024-03-01T10:00:00Z"


def roles(log) -> dict[str, tuple[str, str]]:
    return {role: (c["column"], c["source"]) for role, c in log.mapping.to_dict().items()}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("case:concept:name,concept:name,time:timestamp",
         ("case:concept:name", "concept:name", "time:timestamp")),
        ("CASE_ID,Activity,TimeStamp", ("CASE_ID", "Activity", "TimeStamp")),
        ("Customer ID,Touchpoint,Event Time", ("Customer ID", "Touchpoint", "Event Time")),
        ("user_id,action,ts", ("user_id", "action", "ts")),
        ("session-id,step,datetime", ("session-id", "step", "datetime")),
        ("journey_id,stage,date", ("journey_id", "stage", "date")),
        ("Case ID,Event,Time", ("Case ID", "Event", "Time")),
    ],
)
def test_required_roles_detected_case_insensitively(read, write, header, expected):
    log = read(write("log.csv", f"{header}\n{ROW}\n"))
    assert roles(log) == {
        "case": (expected[0], "detected"),
        "stage": (expected[1], "detected"),
        "timestamp": (expected[2], "detected"),
    }


def test_optional_roles_detected(read, write):
    header = ("customer_id,touchpoint,timestamp,Channel,DEVICE,department,Segment,outcome,"
              "cost,lifecycle:transition,other")
    log = read(write("log.csv", f"{header}\n{ROW},web,app,sales,vip,won,1.5,complete,x\n"))
    assert roles(log) == {
        "case": ("customer_id", "detected"),
        "stage": ("touchpoint", "detected"),
        "timestamp": ("timestamp", "detected"),
        "channel": ("Channel", "detected"),
        "device": ("DEVICE", "detected"),
        "department": ("department", "detected"),
        "segment": ("Segment", "detected"),
        "outcome": ("outcome", "detected"),
        "cost": ("cost", "detected"),
        "lifecycle": ("lifecycle:transition", "detected"),
    }
    assert log.roles == ("channel", "device", "department", "segment", "outcome", "cost",
                         "lifecycle")


def test_flags_override_detection(read, write):
    path = write("log.csv", "case_id,visitor,activity,page,timestamp,when\n"
                            "1,v1,Visit,home,2024-03-01T10:00:00Z,2024-03-02T10:00:00Z\n")
    log = read(path, columns={"case": "visitor", "stage": "PAGE", "timestamp": "when"})
    assert roles(log) == {
        "case": ("visitor", "flag"), "stage": ("page", "flag"), "timestamp": ("when", "flag")}
    assert log.con.execute("SELECT journey, stage, ts::VARCHAR FROM events").fetchall() == [
        ("v1", "home", "2024-03-02 10:00:00+00")]


def test_a_flagged_column_is_not_detected_for_another_role(read, write):
    # 'channel' named as the stage must not also become the channel.
    log = read(write("log.csv", f"case_id,channel,timestamp\n1,web,{ROW[8:]}\n"),
               columns={"stage": "channel"})
    assert "channel" not in log.mapping.to_dict()


def test_missing_role_lists_the_columns_and_suggests(read, write):
    with pytest.raises(cjm.DataError) as caught:
        read(write("log.csv", f"case_id,activty,timestamp\n{ROW}\n"))
    error = caught.value
    assert error.exit_code == 1
    assert error.message.endswith(
        "no column for the stage (activity) was found. Did you mean --stage 'activty'?")
    assert error.hint == "Pass --stage COLUMN. Columns: case_id, activty, timestamp"


def test_missing_role_without_a_close_name(read, write):
    with pytest.raises(cjm.DataError) as caught:
        read(write("log.csv", f"id,activity,timestamp\n{ROW}\n"))
    assert "no column for the journey id (case) was found" in caught.value.message
    assert caught.value.hint == "Pass --case COLUMN. Columns: id, activity, timestamp"


def test_ambiguous_case_column(read, write):
    with pytest.raises(cjm.DataError) as caught:
        read(write("log.csv", f"case_id,journey_id,activity,timestamp\n1,{ROW}\n"))
    assert caught.value.message.endswith(
        "the journey id (case) column is ambiguous: 'case_id' or 'journey_id'")
    assert caught.value.hint == (
        "Pass --case COLUMN to choose. Columns: case_id, journey_id, activity, timestamp")


def test_a_weaker_candidate_does_not_make_a_role_ambiguous(read, write):
    log = read(write("log.csv", f"customer_id,case_id,activity,timestamp\nc,{ROW}\n"))
    assert roles(log)["case"] == ("case_id", "detected")


def test_unknown_column_flag_is_a_usage_error_with_a_suggestion(read, write):
    path = write("log.csv", f"case_id,activity,timestamp\n{ROW}\n")
    with pytest.raises(cjm.UsageError) as caught:
        read(path, columns={"case": "caseid"})
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"--case: no column 'caseid' in {path}. Did you mean 'case_id'?")
    assert caught.value.hint == "Columns: case_id, activity, timestamp"


def test_unknown_role_is_a_usage_error(read, write):
    with pytest.raises(cjm.UsageError, match="unknown role 'colour'"):
        read(write("log.csv", f"case_id,activity,timestamp\n{ROW}\n"), columns={"colour": "x"})


def test_cjm_toml_found_from_a_parent_folder(read, write, tmp_path, monkeypatch):
    write("project/cjm.toml", 'case = "kunde"\nstage = "was"\ntimestamp = "wann"\n'
                              'channel = "kanal"\n')
    path = write("project/logs/deep/log.csv", "kunde,was,wann,kanal\n1,a,2024-03-01,web\n")
    monkeypatch.chdir(tmp_path / "project" / "logs" / "deep")
    source = f"config {tmp_path / 'project' / 'cjm.toml'}"
    log = read(path, columns={"channel": "KANAL"})
    assert roles(log) == {
        "case": ("kunde", source), "stage": ("was", source), "timestamp": ("wann", source),
        "channel": ("kanal", "flag"),
    }


def test_pyproject_tool_cjm_table(read, write, tmp_path, monkeypatch):
    write("project/pyproject.toml", '[project]\nname = "x"\n\n[tool.cjm]\ncase = "kunde"\n'
                                    'timezone = "Europe/Amsterdam"\n')
    path = write("project/sub/log.csv", "kunde,activity,timestamp\n1,a,2024-03-01 10:00\n")
    monkeypatch.chdir(tmp_path / "project" / "sub")
    log = read(path)
    assert roles(log)["case"] == ("kunde", f"config {tmp_path / 'project' / 'pyproject.toml'}")
    assert roles(log)["stage"] == ("activity", "detected")
    assert log.timezone == "Europe/Amsterdam"
    assert str(log.first_timestamp) == "2024-03-01 09:00:00+00:00"


def test_pyproject_without_tool_cjm_is_passed_over(write, tmp_path):
    write("a/cjm.toml", 'case = "kunde"\n')
    write("a/b/pyproject.toml", '[project]\nname = "x"\n')
    config = find_config(tmp_path / "a" / "b")
    assert config.path == tmp_path / "a" / "cjm.toml"
    assert config.values == {"case": "kunde"}


def test_the_nearest_config_wins(write, tmp_path):
    write("a/cjm.toml", 'case = "far"\n')
    write("a/b/pyproject.toml", '[tool.cjm]\ncase = "near"\n')
    assert find_config(tmp_path / "a" / "b").get("case") == "near"


def test_no_config_at_all(tmp_path):
    config = find_config(tmp_path)
    assert (config.path, config.values) == (None, {})


def test_unknown_config_setting_is_a_usage_error(read, write):
    write("cjm.toml", 'stge = "was"\n')
    with pytest.raises(cjm.UsageError, match=r"unknown setting 'stge'\. Did you mean 'stage'\?"):
        read(write("log.csv", f"case_id,activity,timestamp\n{ROW}\n"))


def test_config_column_that_does_not_exist(read, write):
    write("cjm.toml", 'case = "kundex"\n')
    path = write("log.csv", f"kunde,activity,timestamp\n{ROW}\n")
    with pytest.raises(cjm.UsageError) as caught:
        read(path)
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        f"'case' in config {path.parent / 'cjm.toml'}: no column 'kundex' in {path}. "
        "Did you mean 'kunde'?")


def test_config_reading_settings(read, write):
    write("cjm.toml", 'journey_gap = "1h"\ndrop_duplicates = true\ndayfirst = true\n')
    path = write("log.csv", "case_id,activity,timestamp\n"
                            "1,a,03/04/2024 10:00\n1,a,03/04/2024 10:00\n1,b,03/04/2024 12:00\n")
    log = read(path)
    assert log.timestamp_format.description == "day/month/year"
    assert log.journey_gap_seconds == 3600
    assert log.con.execute("SELECT journey, ts::VARCHAR FROM events ORDER BY _line").fetchall() == [
        ("1#1", "2024-04-03 10:00:00+00"), ("1#2", "2024-04-03 12:00:00+00")]
    assert (log.files[0].rows, log.events, log.filtered) == (3, 2, 1)


def test_config_lifecycle_all_keeps_every_event(read, write):
    # 'lifecycle' is the reading mode here, as --lifecycle is on the command line.
    write("cjm.toml", 'lifecycle = "all"\n')
    path = write("log.csv", "case_id,activity,timestamp,lifecycle\n"
                            "1,a,2024-03-01T10:00:00Z,start\n1,a,2024-03-01T11:00:00Z,complete\n")
    log = read(path)
    assert (log.events, log.filtered) == (2, 0)
    assert log.mapping.to_dict()["lifecycle"] == {"column": "lifecycle", "source": "detected"}
