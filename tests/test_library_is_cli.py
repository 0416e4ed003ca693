"""The library is the CLI: each command's JSON equals that of the documented Python calls,
and what the CLI withholds (--min-journeys), applies (--pseudonymize) or reads (cjm.toml,
the CJM_* variables), the library withholds, applies and reads by default too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cjm
from cjm.compare import compare, compare_map
from cjm.conformance import check, check_map
from cjm.design import load_design
from cjm.funnel import funnel
from cjm.render.json_out import (
    attribution_json,
    channels_json,
    check_json,
    compare_json,
    funnel_json,
    funnels_json,
    moments_json,
    personas_json,
    slices_json,
    timing_json,
)
from cjm.segments import by_segment, discover_part
from tests.conftest import run_cli

ROOT = Path(__file__).parents[1]
EXAMPLE = str(ROOT / "examples" / "shop.csv")
DESIGN = str(ROOT / "examples" / "designed-journey.yaml")
SALT = "a-secret-key-1"
STEPS = ["View Product", "Add to Cart", "Checkout", "Purchase"]
PRIVACY = {
    "plain": ([], {}),
    "min-journeys": (["--min-journeys", "50"], {"min_journeys": 50}),
    "pseudonymize": (["--pseudonymize", "--salt", SALT], {"pseudonymize": True, "salt": SALT}),
}


def _cli_json(*args: str) -> dict:
    result = run_cli(*args, "--json", "-")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _discover(log):
    jm = cjm.discover(log)
    return cjm.journey_json(jm, cjm.build_map(jm, log=log))


def _discover_by(log, by: str = "segment", **options):
    jm = cjm.discover(log, **options)
    return slices_json(jm, [(part.label, discover_part(part, jm), None)
                            for part in by_segment(log, by)])


def _funnel(log):
    return funnel_json(funnel(log, STEPS, within=7 * 86400), log)


def _funnel_by(log):
    return funnels_json("segment", [(part, funnel(part, STEPS))
                                    for part in by_segment(log, "segment", top=2)])


def _compare(log):
    vip, new = by_segment(log, "segment", values=["vip", "new"])
    a = cjm.discover(vip)
    b = cjm.discover(new, goals=a.goals.stages, use_outcome=a.goals.source == "outcome",
                     infer_goals=False)
    result = compare(a, b, vip.label, new.label)
    return compare_json(result, compare_map(result))


def _check(log):
    design = load_design(DESIGN)
    result = check(cjm.discover(log, goals=sorted(design.goals), use_outcome=False,
                                infer_goals=False), design, log=log)
    return check_json(result, check_map(result, log=log))


def _channels(log):
    from cjm.channels import channel_report

    return channels_json(channel_report(log, {"web": 0.1, "chat": 2, "email": 3, "phone": 6}),
                         log)


def _moments(log, goals: tuple[str, ...] = ()):
    from cjm.moments import moments

    return moments_json(moments(log, goals=goals, before_goal=bool(goals)), log)


def _attribution(log, **options):
    from cjm.attribution import attribution

    return attribution_json(attribution(log, **options), log)


def _timing(log, by: str | None = None):
    from cjm.timing import timing

    return timing_json(timing(log, goals=["Purchase"], by=by), log)


def _personas(log, **options):
    pytest.importorskip("sklearn", reason="cjm personas needs the personas extra")
    from cjm.personas import personas

    return personas_json(personas(log, k=3, **options), log)


COMMANDS = {
    "inspect": (["inspect"], lambda log: cjm.describe(log).to_dict()),
    "discover": (["discover"], _discover),
    "discover --by": (["discover", "--by", "segment"], _discover_by),
    # discover reads into the events only the roles it uses (read_log's hold): here others.
    "discover --handoff-column": (["discover", "--handoff-column", "device", "--by", "device"],
                                  lambda log: _discover_by(log, "device",
                                                           handoff_column="device")),
    "funnel": (["funnel", "--steps", ",".join(STEPS), "--within", "7d"], _funnel),
    "funnel --by": (["funnel", "--steps", ",".join(STEPS), "--by", "segment",
                     "--top-values", "2"], _funnel_by),
    "compare": (["compare", "--by", "segment", "--values", "vip,new"], _compare),
    "check": (["check", "--design", DESIGN], _check),
    "channels": (["channels", "--channel-cost", "web=0.1,chat=2,email=3,phone=6"], _channels),
    "moments": (["moments"], _moments),
    "moments --before-goal": (["moments", "--before-goal", "--goal", "Purchase"],
                              lambda log: _moments(log, ("Purchase",))),
    "attribution": (["attribution"], _attribution),
    "attribution --by-channel": (["attribution", "--by-channel", "--goal", "Purchase"],
                                 lambda log: _attribution(log, by_channel=True,
                                                          goals=["Purchase"])),
    "timing": (["timing", "--goal", "Purchase"], _timing),
    "timing --by": (["timing", "--goal", "Purchase", "--by", "segment"],
                    lambda log: _timing(log, "segment")),
    "personas": (["personas", "--k", "3"], _personas),
    "personas --before-goal": (["personas", "--k", "3", "--before-goal", "--goal", "Purchase"],
                               lambda log: _personas(log, before_goal=True,
                                                     goals=["Purchase"])),
}


@pytest.mark.parametrize("privacy", PRIVACY)
@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_gives_the_json_of_the_documented_python_calls(command, privacy):
    args, compute = COMMANDS[command]
    flags, options = PRIVACY[privacy]
    expected = _cli_json(args[0], EXAMPLE, *args[1:], *flags)
    with cjm.read_log(EXAMPLE, **options) as log:
        assert json.loads(json.dumps(compute(log))) == expected


@pytest.mark.parametrize("privacy", PRIVACY)
def test_model_gives_the_model_of_the_documented_python_calls(tmp_path, privacy):
    from cjm.model import discover_model, write_model

    flags, options = PRIVACY[privacy]
    result = run_cli("model", EXAMPLE, "-o", "cli.ptml", *flags)
    assert result.exit_code == 0, result.output
    with cjm.read_log(EXAMPLE, **options) as log:
        jm = cjm.discover(log, use_outcome=False)
    write_model(discover_model([(p.stages, p.journeys) for p in jm.paths]),
                tmp_path / "api.ptml")
    # The same process tree (PTML files name their nodes by random ids).
    from pm4py import read_ptml

    assert str(read_ptml(str(tmp_path / "api.ptml"))) == str(read_ptml(str(tmp_path /
                                                                           "cli.ptml")))


def test_min_journeys_is_applied_by_the_library():
    with cjm.read_log(EXAMPLE, min_journeys=50) as log:
        jm = cjm.discover(log)
        data = cjm.journey_json(jm)
        assert data["paths"] and all(p["journeys"] >= 50 for p in data["paths"])
        assert all(t.journeys >= 50 for t in jm.transitions)
        assert any("--min-journeys 50" in note for note in jm.notes)
        # applied once, however often it is asked for
        from cjm.privacy import suppress

        assert suppress(jm) is jm


def test_pseudonymize_takes_its_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("CJM_SALT", SALT)
    with cjm.read_log(EXAMPLE, pseudonymize=True) as log, \
            cjm.read_log(EXAMPLE, pseudonymize=True, salt=SALT) as keyed:
        ids = [row[0] for row in log.con.execute("SELECT DISTINCT journey FROM events "
                                                 "ORDER BY 1 LIMIT 3").fetchall()]
        assert all(i.startswith("p-") for i in ids)
        assert ids == [row[0] for row in keyed.con.execute(
            "SELECT DISTINCT journey FROM events ORDER BY 1 LIMIT 3").fetchall()]
    monkeypatch.delenv("CJM_SALT")
    with pytest.raises(cjm.UsageError, match="needs a key"):
        cjm.read_log(EXAMPLE, pseudonymize=True)


def _memory(log) -> int:
    from cjm.units import parse_size

    return parse_size(log.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_memory_and_temp_folder_come_from_the_environment_then_the_config(
        tmp_path, monkeypatch):
    monkeypatch.delenv("CJM_MEMORY_LIMIT", raising=False)
    with cjm.read_log(EXAMPLE) as log:  # no budget: the engine's default cap
        assert log.memory_limit is None
    (tmp_path / "cjm.toml").write_text('memory_limit = "300MB"\ntemp_dir = "from-config"\n')
    (tmp_path / "from-config").mkdir()
    (tmp_path / "from-env").mkdir()
    with cjm.read_log(EXAMPLE) as log:  # the config file
        assert log.memory_limit == 300_000_000 and log._workdir.parent.name == "from-config"
        assert _memory(log) < 300_000_000  # the budget is the whole process's
    monkeypatch.setenv("CJM_MEMORY_LIMIT", "200MB")
    monkeypatch.setenv("CJM_TEMP_DIR", str(tmp_path / "from-env"))
    with cjm.read_log(EXAMPLE) as log:  # the environment wins over the config
        assert log.memory_limit == 200_000_000 and log._workdir.parent.name == "from-env"
    with cjm.read_log(EXAMPLE, memory_limit="400MB", temp_dir=tmp_path) as log:  # arguments win
        assert log.memory_limit == 400_000_000 and log._workdir.parent == tmp_path
        assert _memory(log) < 400_000_000


def test_discover_settings_of_the_config_are_used_by_the_library(tmp_path):
    (tmp_path / "cjm.toml").write_text(
        'goals = ["Purchase"]\nstill_active = "14d"\nhandoff_column = "device"\n'
        'channel_cost = {web = 0.1, chat = 2, email = 3, phone = 6}\n')
    expected = _cli_json("discover", EXAMPLE)
    with cjm.read_log(EXAMPLE) as log:
        jm = cjm.discover(log)
        assert (jm.goals.stages, jm.goals.source) == (("Purchase",), "flag")
        assert (jm.still_active_seconds, jm.handoff_role) == (14 * 86400, "device")
        assert json.loads(json.dumps(cjm.journey_json(jm, cjm.build_map(jm, log=log)))) == expected
        from cjm.channels import channel_report
        from cjm.moments import moments

        assert channel_report(log).costs == {"web": 0.1, "chat": 2, "email": 3, "phone": 6}
        assert moments(log, before_goal=True).goals == ("Purchase",)
        # an argument wins over the file
        assert cjm.discover(log, goals=["Checkout"]).goals.stages == ("Checkout",)


def test_the_engine_is_resolved_by_the_library(monkeypatch):
    from cjm.config import chosen_engine

    assert chosen_engine() == "duckdb"
    monkeypatch.setenv("CJM_ENGINE", "Spark")
    assert (chosen_engine(), chosen_engine("duckdb")) == ("spark", "duckdb")  # the flag wins
    monkeypatch.setenv("CJM_ENGINE", "flink")
    with pytest.raises(cjm.UsageError, match="CJM_ENGINE: 'flink' is not one of duckdb, spark"):
        chosen_engine()


def test_the_edge_budget_of_the_config_is_used_by_the_library(tmp_path):
    (tmp_path / "cjm.toml").write_text("max_edges = 6\n")
    for command, compute in (("discover", _discover), ("compare", _compare),
                             ("check", _check)):
        args, _ = COMMANDS[command]
        expected = _cli_json(args[0], EXAMPLE, *args[1:])
        with cjm.read_log(EXAMPLE) as log:
            data = json.loads(json.dumps(compute(log)))
        assert data == expected, command


def test_a_part_is_discovered_as_the_whole_was(tmp_path):
    (tmp_path / "cjm.toml").write_text('still_active = "3d"\nhandoff_column = "device"\n')
    with cjm.read_log(EXAMPLE) as log:
        jm = cjm.discover(log, goals=["Checkout"], gap_min_count=3)
        for part in by_segment(log, "segment"):
            result = discover_part(part, jm)
            assert (result.goals.stages, result.goals.source) == (("Checkout",), "flag")
            assert (result.handoff_role, result.still_active_seconds, result.gap_min_count) \
                == ("device", 3 * 86400, 3)
