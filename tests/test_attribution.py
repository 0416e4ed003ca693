"""Attribution checked against established implementations on the same input
(ChannelAttribution: the heuristic models and the transition matrix; its removal effects are
simulated, so the exact ones are checked against marketing_attribution_models), and on
generated logs whose answer is known."""

from __future__ import annotations

import json
import math
import random

import pytest
from typer.testing import CliRunner

import cjm
from cjm.attribution import MODELS, attribute, attribution, fold
from cjm.cli import app
from cjm.errors import UsageError
from tests.journey_logs import write_journeys

CHANNELS = ("display", "email", "search", "social", "web")


def _sequences(seed: int = 5, n: int = 60) -> list[tuple[tuple[str, ...], int, int]]:
    """Distinct touch sequences (repeats in a row folded; repeats apart kept) with counts."""
    rng = random.Random(seed)
    seen = {}
    while len(seen) < n:
        touches = fold(rng.choice(CHANNELS) for _ in range(rng.randint(1, 5)))
        conv = rng.randint(0, 30) if "search" in touches else rng.randint(0, 6)
        seen[touches] = (conv, rng.randint(0, 40))
    return [(t, c, n) for t, (c, n) in seen.items() if c + n]


def _by_name(shares) -> dict:
    return {t.name: t for t in shares.touchpoints}


def test_heuristic_models_match_channelattribution():
    import pandas as pd
    from ChannelAttribution import heuristic_models

    rows = _sequences()
    result = _by_name(attribute(rows, resamples=10))
    data = pd.DataFrame({"path": [" > ".join(t) for t, _, _ in rows],
                         "conv": [c for _, c, _ in rows]})
    reference = heuristic_models(data, "path", "conv", sep=">", flg_pro=False)
    conversions = sum(c for _, c, _ in rows)
    for _, row in reference.iterrows():
        touch = result[row["channel_name"]]
        assert touch.first_touch.value * conversions == pytest.approx(row["first_touch"])
        assert touch.last_touch.value * conversions == pytest.approx(row["last_touch"])
        assert touch.linear.value * conversions == pytest.approx(row["linear_touch"])


def _mam_removal(rows) -> dict[str, float]:
    """marketing_attribution_models' removal effects (exact: it inverts the fundamental
    matrix once per channel removed), from its grouped-journeys format."""
    import pandas as pd
    from mam import MAM

    data = pd.DataFrame(
        [{"path": " > ".join(t), "converted": converted, "journeys": n}
         for t, c, n0 in rows for converted, n in ((True, c), (False, n0)) if n])
    result = MAM(data, "grouped_journey", channels_colname="path",
                 journey_with_conv_colname="converted",
                 occurrences_colname="journeys").run_markov()
    return result.metadata["removal_effect"]["removal_effect"].to_dict()


def test_removal_effects_match_marketing_attribution_models():
    rows = _sequences()
    result = _by_name(attribute(rows, resamples=10))
    removal = _mam_removal(rows)
    assert set(result) == set(removal)
    for name, touch in result.items():
        assert touch.removal_effect == pytest.approx(removal[name], rel=1e-9)
        # A share is a removal effect over their sum (as ChannelAttribution scales them).
        assert touch.markov.value == pytest.approx(removal[name] / sum(removal.values()),
                                                   rel=1e-9)


def test_removal_effects_agree_with_channelattribution_simulation():
    import pandas as pd
    from ChannelAttribution import markov_model

    rows = _sequences()
    result = _by_name(attribute(rows, resamples=10))
    data = pd.DataFrame({"path": [" > ".join(t) for t, _, _ in rows],
                         "conv": [c for _, c, _ in rows], "null": [n for _, _, n in rows]})
    simulated = markov_model(data, "path", "conv", var_null="null", sep=">", out_more=True,
                             verbose=False, flg_pro=False, seed=1, conv_par=0.01,
                             max_step=100)
    # Its removal effects come from a simulation that stops when repeats agree within
    # conv_par (1%); its walks stop after max_step steps (by default the longest path's
    # length, which here biases every removal effect some 10% low).
    for _, row in simulated["removal_effects"].iterrows():
        exact = result[row["channel_name"]].removal_effect
        assert row["removal_effect"] == pytest.approx(exact, rel=0.03)


def test_a_touchpoint_without_which_nobody_converts_comes_first(tmp_path):
    # Journeys browse (display, social ads), then half get an Offer by email; only then may
    # they check out and buy (on the web or search). Every road to a purchase runs through
    # the Offer, so removing it (or email) leaves no conversion: a removal effect of 1.
    rng = random.Random(11)
    journeys = {}
    for i in range(400):
        touches = [(rng.choice(["Browse", "Compare"]), rng.choice(["display", "social"]))
                   for _ in range(rng.randint(0 if i % 2 else 1, 3))]
        if i % 2:
            touches.append(("Offer", "email"))
            if rng.random() < 0.5:
                touches.append(("Checkout", rng.choice(["web", "search"])))
            if rng.random() < 0.7:
                touches.append(("Purchase", rng.choice(["web", "search"])))
        journeys[f"j{i:03}"] = touches
    path = write_journeys(tmp_path / "k.csv", journeys)
    with cjm.read_log(path) as log:
        by_channel = attribution(log, by_channel=True, goals=["Purchase"], resamples=200)
        by_stage = attribution(log, goals=["Purchase"], resamples=200)
    for result, key in ((by_channel, "email"), (by_stage, "Offer")):
        first = result.touchpoints[0]
        assert first.name == key
        assert first.removal_effect == pytest.approx(1.0)
        assert all(t.removal_effect < 1 for t in result.touchpoints[1:])
        assert first.markov.low > max(t.markov.high for t in result.touchpoints[1:])


def test_the_same_bytes_for_any_order_and_merging(tmp_path):
    rows = _sequences()
    once = attribute(rows, resamples=50)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    # The same journeys, split into several rows, some with repeats in a row.
    split = [(t, c - c // 2, n - n // 2) for t, c, n in shuffled]
    split += [((t[0], *t), c // 2, n // 2) for t, c, n in shuffled]
    assert attribute(shuffled, resamples=50) == once == attribute(split, resamples=50)
    assert attribute(rows, resamples=50, seed=2) != once


def test_the_interval_is_a_bootstrap_over_journeys():
    # Of the resampled conversions, each starts at web with chance 400 / 500: given their
    # number C, the first-touch share of web is a binomial share, of spread sqrt(pq / C).
    rows = [(("web",), 300, 700), (("email",), 100, 900), (("web", "email"), 100, 100)]
    result = _by_name(attribute(rows))
    web = result["web"].first_touch
    assert web.value == pytest.approx(0.8)
    assert web.high - web.low == pytest.approx(2 * 1.96 * math.sqrt(0.8 * 0.2 / 500), rel=0.1)
    for touch in result.values():
        for model in MODELS:
            s = getattr(touch, model)
            assert s.low <= s.value <= s.high


def test_journeys_without_a_touch_are_left_out_and_counted():
    result = attribute([((), 5, 3), (("web",), 4, 6)], resamples=20)
    assert (result.journeys, result.conversions) == (10, 4)
    assert (result.without_touches, result.conversions_without_touches) == (8, 5)
    with pytest.raises(UsageError, match="no journey with a touch converts"):
        attribute([(("web",), 0, 6)])


def _shop(tmp_path):
    journeys = {}
    for i in range(120):
        web = [("Visit", "web"), ("Visit", "web"), ("Cart", "web" if i % 3 else "app")]
        if i % 2:
            journeys[f"b{i:03}"] = [*web, ("Purchase", "store" if i % 5 == 0 else "web"),
                                    ("Review", "email")]
        else:
            journeys[f"n{i:03}"] = [*web[: 1 + i % 3], ("Chat", "chat")]
    return write_journeys(tmp_path / "shop.csv", journeys,
                          {j: {"converted": "yes" if j[0] == "b" else "no"} for j in journeys})


def test_the_engine_cuts_before_the_goal_and_folds_repeats(tmp_path):
    with cjm.read_log(_shop(tmp_path)) as log:
        engine = log.engine("_t")
        engine.prepare(None, None)
        stages = engine.touch_sequences(["Purchase"], by_channel=False)
        engine.prepare("channel", None)
        channels = engine.touch_sequences(["Purchase"], by_channel=True)
        engine.prepare(None, "outcome")
        whole = engine.touch_sequences([], by_channel=False)
    # Visit twice in a row is one touch; Purchase and what follows it are not touches.
    assert {(r.touches, r.converted, r.not_converted) for r in stages} == {
        (("Visit", "Cart"), 60, 0), (("Visit", "Chat"), 0, 40),
        (("Visit", "Cart", "Chat"), 0, 20)}
    # With channels the goal event's own channel is a touch (where the customer converted).
    assert {(r.touches, r.converted) for r in channels if r.converted} == {
        (("web",), 32), (("web", "app", "web"), 16), (("web", "store"), 8),
        (("web", "app", "store"), 4)}
    # From the outcome column, the journey is whole.
    assert [r.touches for r in whole if r.converted] == [("Visit", "Cart", "Purchase", "Review")]


def test_goals_are_resolved_as_discover_resolves_them(tmp_path):
    with cjm.read_log(_shop(tmp_path)) as log:
        outcome = attribution(log, resamples=100)
        named = attribution(log, goals=["Purchase"], resamples=100)
        with pytest.raises(UsageError, match="Did you mean 'Purchase'"):
            attribution(log, goals=["Purchse"])
    assert (outcome.goals_source, outcome.outcome_column, outcome.goals) == \
        ("outcome", "converted", ())
    assert "Review" in {t.name for t in outcome.touchpoints}
    assert (named.goals_source, named.goals) == ("flag", ("Purchase",))
    assert "Review" not in {t.name for t in named.touchpoints}
    assert named.shares.conversions == outcome.shares.conversions == 60
    ending = {f"j{i}": ["Visit", "Cart", "Buy"] if i % 2 else ["Visit"] for i in range(40)}
    with cjm.read_log(write_journeys(tmp_path / "e.csv", ending)) as log:
        inferred = attribution(log, resamples=100)
    assert (inferred.goals, inferred.goals_source) == (("Buy",), "inferred")
    assert inferred.shares.conversions == 20
    spread = {f"j{i}": ["Visit", *(["A", "B"] if i % 2 else ["B", "A"])] for i in range(100)}
    with cjm.read_log(write_journeys(tmp_path / "s.csv", spread)) as log, \
            pytest.raises(UsageError, match="no goal stage given") as caught:
        attribution(log)
    assert "--goal STAGE" in (caught.value.hint or "")


def test_min_journeys_leaves_out_rare_touchpoints(tmp_path):
    path = _shop(tmp_path)
    with cjm.read_log(path) as log:
        every = attribution(log, by_channel=True, goals=["Purchase"], resamples=100)
    with cjm.read_log(path, min_journeys=20) as log:
        kept = attribution(log, by_channel=True, goals=["Purchase"], resamples=100)
    seen = {t.name: t.journeys for t in every.touchpoints}
    assert min(seen.values()) < 20
    assert [t.name for t in kept.touchpoints] == [t.name for t in every.touchpoints
                                                  if t.journeys >= 20]
    assert (kept.hidden, every.hidden) == (sum(n < 20 for n in seen.values()), 0)
    assert kept.shares == every.shares
    assert kept.touchpoints[0] == every.touchpoints[0]  # the shares are of every journey


def test_cli_json_text_and_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _shop(tmp_path)
    env = {"NO_COLOR": "1", "COLUMNS": "100"}
    args = ["attribution", "shop.csv", "--goal", "Purchase", "--by-channel", "--resamples", "200"]
    first = CliRunner().invoke(app, [*args, "--json", "-"], env=env)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, [*args, "--json", "-"], env=env)
    assert first.stdout == again.stdout
    data = json.loads(first.stdout)
    assert data["schema"] == "cjm.attribution/1"
    assert data["bootstrap"] == {"resamples": 200, "seed": 20240101, "confidence": 0.95}
    assert data["goals"] == {"stages": ["Purchase"], "source": "flag", "outcome_column": None}
    shares = [t["markov"]["share"] for t in data["touchpoints"]]
    assert shares == sorted(shares, reverse=True)
    assert sum(shares) == pytest.approx(1, abs=1e-5)
    text = CliRunner().invoke(app, [*args, "--min-journeys", "20"], env=env)
    assert text.exit_code == 0, text.output
    assert "left out (--min-journeys 20)" in text.stdout
    assert "Association, not cause" in text.stdout
    hidden = CliRunner().invoke(app, [*args, "--pseudonymize", "--salt", "a-secret-key-1",
                                      "--json", "-"], env=env)
    assert json.loads(hidden.stdout)["touchpoints"] == data["touchpoints"]
    no_channel = write_journeys(tmp_path / "plain.csv", {"a": ["Visit", "Buy"]})
    bad = CliRunner().invoke(app, ["attribution", str(no_channel), "--by-channel"], env=env)
    assert bad.exit_code == 2
    assert "--channel COLUMN" in bad.output


def test_shuffled_rows_give_the_same_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = _shop(tmp_path).read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    random.Random(8).shuffle(body)
    (tmp_path / "shuffled.csv").write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    outputs = []
    for name in ("shop.csv", "shuffled.csv"):
        result = CliRunner().invoke(app, ["attribution", name, "--goal", "Purchase",
                                          "--resamples", "200", "--json", "-"],
                                    env={"NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        del data["reading"]  # names the file
        outputs.append(data)
    assert outputs[0] == outputs[1]


def test_events_without_a_channel_are_no_touch(tmp_path):
    journeys = {"a": [("Visit", "web"), ("Read", ""), ("Visit", "web"), ("Buy", "store")],
                "b": [("Visit", ""), ("Buy", "")], "c": [("Visit", "web"), ("Leave", "")]}
    with cjm.read_log(write_journeys(tmp_path / "c.csv", journeys)) as log:
        engine = log.engine("_t")
        engine.prepare("channel", None)
        rows = engine.touch_sequences(["Buy"], by_channel=True)
        result = attribution(log, by_channel=True, goals=["Buy"], resamples=100)
    assert [(r.touches, r.converted, r.not_converted) for r in rows] == [
        ((), 1, 0), (("web",), 0, 1), (("web", "store"), 1, 0)]
    assert (result.shares.without_touches, result.shares.conversions_without_touches) == (1, 1)
    assert result.shares.journeys == 2
