"""The engine contract (cjm.engine.protocol.Engine), written once and run against every
engine: DuckDB, DuckDB bucket by bucket, and Spark.

Each figure is checked against an oracle computed here in plain Python from the rows of the
CSV, with the shared definitions of cjm.engine.semantics. A new engine passes by adding one
entry to ENGINES.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from journey_logs import write_shuffled

from cjm.config import Config
from cjm.engine.rows import (
    ChannelCount,
    ChannelSequence,
    Ending,
    GoalTime,
    Handoff,
    PathCount,
    Rework,
    SlowWait,
    Stage,
    TouchSequence,
    TransitionCount,
)
from cjm.engine.semantics import (
    TRUTHY,
    epoch_seconds,
    open_from,
    quantile_cont,
    quantile_position,
)

STAGES = ("browse", "cart", "chat", "help", "pay", "purchase", "search", "view")
CHANNELS = ("web", "chat", "email", "phone")
GOALS = ("purchase",)
STILL_ACTIVE = 6 * 3600.0
START = datetime(2024, 3, 1, tzinfo=UTC)


def _write_log(path: Path) -> list[dict]:
    """Random journeys with loops, ties (same second), channels, outcomes and costs."""
    rng = random.Random(2024)
    rows = []
    for j in range(300):
        t = START + timedelta(seconds=rng.randint(0, 5 * 86400))
        for _ in range(rng.choice([1, 2, 3, 4, 6, 9])):
            t += timedelta(seconds=rng.choice([0, 0, 1, 30, 600, 7200, 90000]))
            rows.append({"journey_id": f"j{j:03d}", "stage": rng.choice(STAGES),
                         "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "channel": rng.choice((*CHANNELS, "")),
                         "outcome": rng.choice(["yes", "no", ""]),
                         "cost": rng.choice(["1.5", "3", "", "0.25"])})
    return write_shuffled(path, rows, rng)


class Oracle:
    """The figures of the log, from its rows, in plain Python."""

    def __init__(self, rows: list[dict]) -> None:
        by_journey: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            micros = int(datetime.strptime(row["timestamp"], "%Y-%m-%dT%H:%M:%S%z")
                         .timestamp()) * 1_000_000
            by_journey[row["journey_id"]].append({**row, "t": epoch_seconds(micros)})
        self.journeys = {j: sorted(events, key=lambda e: (e["t"], e["line"]))
                         for j, events in sorted(by_journey.items())}
        self.paths = {j: tuple(e["stage"] for e in es) for j, es in self.journeys.items()}
        self.end = max(e["t"] for es in self.journeys.values() for e in es)

    def moves(self) -> Iterator[tuple[str, dict, dict]]:
        for j, events in self.journeys.items():
            for a, b in itertools.pairwise(events):
                yield j, a, b

    def stages(self) -> list[Stage]:
        events, journeys, starts, ends = Counter(), Counter(), Counter(), Counter()
        for path in self.paths.values():
            events.update(path)
            journeys.update(set(path))
            starts[path[0]] += 1
            ends[path[-1]] += 1
        return [Stage(s, events[s], journeys[s], starts[s], ends[s]) for s in events]

    def transitions(self) -> list[TransitionCount]:
        waits, journeys, handoffs = defaultdict(list), defaultdict(set), Counter()
        for j, a, b in self.moves():
            key = (a["stage"], b["stage"])
            waits[key].append(b["t"] - a["t"])
            journeys[key].add(j)
            if a["channel"] and b["channel"] and a["channel"] != b["channel"]:
                handoffs[key] += 1
        return [TransitionCount(a, b, len(w), len(journeys[(a, b)]), quantile(w, 0.5),
                     statistics.fmean(w), quantile(w, 0.9), handoffs[(a, b)])
                for (a, b), w in waits.items()]

    def durations(self) -> dict[str, float]:
        return {j: es[-1]["t"] - es[0]["t"] for j, es in self.journeys.items()}

    def path_counts(self) -> list[PathCount]:
        durations, groups = self.durations(), defaultdict(list)
        for j, path in self.paths.items():
            groups[path].append(durations[j])
        return sorted((PathCount(p, len(d), quantile(d, 0.5)) for p, d in groups.items()),
                      key=lambda p: (-p.journeys, p.stages))

    def rework(self) -> list[Rework]:
        again, extra = Counter(), Counter()
        for path in self.paths.values():
            for stage, n in Counter(path).items():
                if n > 1:
                    again[stage] += 1
                    extra[stage] += n - 1
        return [Rework(s, again[s], extra[s]) for s in again]

    def status(self, journey: str) -> str:
        """How a journey ends: a goal reached, still active, or a dead-end."""
        if set(self.paths[journey]) & set(GOALS):
            return "goal"
        last = self.journeys[journey][-1]["t"]
        return "open" if last >= open_from(self.end, STILL_ACTIVE) else "dead_end"

    def endings(self) -> list[Ending]:
        groups: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for j, path in self.paths.items():
            groups[(path[-1], self.status(j))][path] += 1
        result = []
        for (stage, status), paths in groups.items():
            top, n = min(paths.items(), key=lambda item: (-item[1], item[0]))
            result.append(Ending(stage, status, sum(paths.values()), top, n))
        return result

    def handoffs(self) -> list[Handoff]:
        waits, journeys = defaultdict(list), defaultdict(set)
        for j, a, b in self.moves():
            if a["channel"] and b["channel"] and a["channel"] != b["channel"]:
                waits[(a["channel"], b["channel"])].append(b["t"] - a["t"])
                journeys[(a["channel"], b["channel"])].add(j)
        return [Handoff(a, b, len(w), quantile(w, 0.5), len(journeys[(a, b)]))
                for (a, b), w in waits.items()]

    def channel_sequences(self) -> list[ChannelSequence]:
        sequences = Counter()
        for events in self.journeys.values():
            channels = [e["channel"] for e in events if e["channel"]]
            folded = tuple(c for k, c in enumerate(channels) if k == 0 or channels[k - 1] != c)
            if folded:
                sequences[folded] += 1
        return sorted((ChannelSequence(s, n) for s, n in sequences.items()),
                      key=lambda c: (-c.journeys, c.channels))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rn = quantile_position(len(ordered), q)
    return quantile_cont(ordered[int(rn // 1)], ordered[-int(-rn // 1)], len(ordered), q)


def _duckdb(path: Path, buckets: int) -> Iterator:
    import cjm

    with cjm.read_log(path, config=Config()) as log:
        yield log.engine(buckets=buckets, still_active=STILL_ACTIVE)


def _spark(path: Path, buckets: int) -> Iterator:
    pytest.importorskip("pyspark", reason="Spark's engine needs the spark extra")
    from cjm.engine.spark.read import read_spark_log
    from tests.conftest import local_spark

    session = local_spark("cjm-contract")
    log = read_spark_log(path, spark=session, config=Config())
    try:
        yield log.engine()
    finally:
        log.close()
        session.stop()


# Each engine, and what it answers: "discover" (what discover() and build_map() read) and
# "analyses" (funnels, channels, costs, journeys by id: what the other commands read). The
# bucketed engine serves discover alone by design. Costs and numeric outcomes, exact to the
# bit, have a contract of their own: tests/test_engine_sums.py.
DISCOVER = ("prepare", "stages", "transitions", "paths", "journey_figures", "rework",
            "endings", "handoff_matrix", "outcome_values")
ANALYSES = ("path_examples", "journey_paths", "path_endings", "slow_transitions", "funnel",
            "funnel_next", "channel_mix", "channel_sequences", "journeys_moving", "costs",
            "outcome_sums", "touch_sequences", "goal_times")
ENGINES: dict[str, tuple[Callable[[Path, int], Iterator], tuple[str, ...]]] = {
    "duckdb": (lambda path, _: _duckdb(path, 1), DISCOVER + ANALYSES),
    "duckdb-buckets": (lambda path, _: _duckdb(path, 3), DISCOVER),
    "spark": (_spark, DISCOVER + ANALYSES),
}


@pytest.fixture(scope="module")
def log_file(tmp_path_factory) -> tuple[Path, Oracle]:
    path = tmp_path_factory.mktemp("contract") / "journeys.csv"
    return path, Oracle(_write_log(path))


def _open(name: str, log_file):
    path, _ = log_file
    opened = ENGINES[name][0](path, 1)
    engine = next(opened)
    assert {m for m in DISCOVER + ANALYSES if hasattr(engine, m)} == set(ENGINES[name][1])
    return engine, opened


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request, log_file):
    engine, opened = _open(request.param, log_file)
    yield engine
    opened.close()


def answering(*methods: str):
    """Run a test against every engine that answers ``methods``."""
    names = [n for n in sorted(ENGINES) if all(m in ENGINES[n][1] for m in methods)]
    return pytest.mark.parametrize("engine", names, indirect=True)


def _same(got: list, expected: list, key=None) -> None:
    key = key or repr
    assert sorted(got, key=key) == sorted(expected, key=key)


def _close_means(moves: list[TransitionCount]) -> list[TransitionCount]:
    """Means summed in another order may differ in their last bits: round them."""
    return [TransitionCount(m.source, m.target, m.count, m.journeys, m.median_seconds,
                 round(m.mean_seconds, 6), m.p90_seconds, m.handoffs) for m in moves]


def test_the_discover_figures(engine, log_file) -> None:
    """What discover() and build_map() read, every engine alike."""
    _, oracle = log_file
    engine.prepare("channel", None)
    _same(engine.stages(), oracle.stages())
    _same(_close_means(engine.transitions()), _close_means(oracle.transitions()))
    assert engine.paths() == oracle.path_counts()  # in the Protocol's order
    figures = engine.journey_figures()
    durations = list(oracle.durations().values())
    sizes = [len(p) for p in oracle.paths.values()]
    assert (figures.journeys, figures.duration_median, figures.duration_p90,
            figures.events_median, figures.events_max) == (
        len(durations), quantile(durations, 0.5), quantile(durations, 0.9),
        quantile([float(s) for s in sizes], 0.5), max(sizes))
    assert figures.duration_mean == pytest.approx(statistics.fmean(durations), rel=1e-12)
    assert figures.events_mean == pytest.approx(statistics.fmean(sizes), rel=1e-12)
    _same(engine.rework(), oracle.rework())
    _same(engine.endings(GOALS, False, STILL_ACTIVE), oracle.endings())
    _same(engine.handoff_matrix(), oracle.handoffs())
    assert engine.outcome_values("outcome") == ["no", "yes"]


def test_success_by_outcome(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare(None, "outcome")
    won = {j for j, es in oracle.journeys.items() if any(e["outcome"] in TRUTHY for e in es)}
    endings = engine.endings((), True, None)
    assert sum(e.journeys for e in endings if e.status == "goal") == len(won)
    assert sum(e.journeys for e in endings) == len(oracle.journeys)


def test_only_some_stages(engine, log_file) -> None:
    """prepare(stages=…) keeps the events of those stages alone, as build_map() asks."""
    _, oracle = log_file
    kept = ("cart", "pay", "purchase")
    engine.prepare(None, None, stages=kept)
    counts = Counter(s for p in oracle.paths.values() for s in p if s in kept)
    assert {s.name: s.events for s in engine.stages()} == dict(counts)


@answering("channel_mix", "channel_sequences", "journeys_moving")
def test_channels(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare("channel", None)
    mix = Counter((e["stage"], e["channel"]) for es in oracle.journeys.values() for e in es
                  if e["channel"])
    _same(engine.channel_mix(), [ChannelCount(s, c, n) for (s, c), n in mix.items()])
    assert engine.channel_sequences() == oracle.channel_sequences()
    pairs = [("web", "phone"), ("chat", "email")]
    moving = {j for j, a, b in oracle.moves() if (a["channel"], b["channel"]) in pairs}
    assert engine.journeys_moving(pairs) == len(moving)


@answering("costs")
def test_costs(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare("channel", None)
    prices = {"web": 0.1, "chat": 2.0, "email": 1.0, "phone": 6.5}
    totals = {j: sum(prices.get(e["channel"], 0) for e in es)
              for j, es in oracle.journeys.items()}
    costs = engine.costs(prices)
    assert costs.journeys == len(totals)
    assert costs.total == pytest.approx(sum(totals.values()), rel=1e-12)
    assert costs.median == pytest.approx(statistics.median(totals.values()), rel=1e-12)
    by_column = engine.costs(None)
    assert by_column.total == pytest.approx(
        sum(float(e["cost"] or 0) for es in oracle.journeys.values() for e in es), rel=1e-12)


@answering("journey_paths", "path_examples", "slow_transitions")
def test_journeys_by_id(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare(None, None)
    assert list(engine.journey_paths()) == list(oracle.paths.items())
    some = ["j007", "j100", "j299"]
    assert dict(engine.journey_paths(some)) == {j: oracle.paths[j] for j in some}
    examples = engine.path_examples(2)
    by_path = defaultdict(list)
    for j, path in oracle.paths.items():
        by_path[path].append(j)
    assert examples == {p: ids[:2] for p, ids in by_path.items()}
    limit = {("view", "cart"): 600.0}
    slow = [SlowWait(a["stage"], b["stage"], j, b["t"] - a["t"]) for j, a, b in oracle.moves()
            if (a["stage"], b["stage"]) in limit and b["t"] - a["t"] > 600]
    assert engine.slow_transitions(limit) == slow


@answering("funnel", "funnel_next")
def test_funnels(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare(None, None)
    steps = [("view",), ("cart", "chat"), ("purchase",)]
    matches: list[dict[str, tuple[int, float]]] = [{} for _ in steps]
    for j, events in oracle.journeys.items():
        at = -1
        for k, step in enumerate(steps):
            found = next((i for i, e in enumerate(events) if i > at and e["stage"] in step),
                         None)
            if found is None:
                break
            matches[k][j] = (found, events[found]["t"])
            at = found
    counts = engine.funnel(steps, True, None)
    assert [c.journeys for c in counts] == [len(m) for m in matches]
    for k in (1, 2):
        waits = [matches[k][j][1] - matches[k - 1][j][1] for j in matches[k]]
        assert counts[k].median_seconds == quantile(waits, 0.5)
        went = Counter(
            (oracle.paths[j][i + 1] if i + 1 < len(oracle.paths[j]) else None)
            for j, (i, _) in matches[k - 1].items() if j not in matches[k])
        assert {(n.stage, n.journeys) for n in engine.funnel_next(k)} == set(went.items())


@answering("outcome_sums")
def test_outcome_sums(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare(None, None)
    outcome = {}
    for j, events in oracle.journeys.items():
        values = [e["outcome"] for e in events if e["outcome"]]
        if values:
            outcome[j] = 1.0 if any(v in TRUTHY for v in values) else 0.0
    overall, items = engine.outcome_sums("rate")
    assert (overall.journeys, overall.total) == (len(outcome), sum(outcome.values()))
    stage_items = {i.name: i.sums for i in items if i.kind == "stage"}
    for stage in STAGES:
        having = [outcome[j] for j, p in oracle.paths.items() if stage in p and j in outcome]
        assert (stage_items[stage].journeys, stage_items[stage].total) == (
            len(having), sum(having))


@answering("touch_sequences")
def test_touch_sequences(engine, log_file) -> None:
    """Attribution's input: touches before the first goal event (by channel, up to and
    including it; events without a channel are no touch), repeats in a row folded."""
    _, oracle = log_file
    for by_channel, outcome in ((False, None), (True, None), (False, "outcome")):
        engine.prepare("channel" if by_channel else None, outcome)
        goals = () if outcome else GOALS
        counts: Counter = Counter()
        for events in oracle.journeys.values():
            cut = next((k for k, e in enumerate(events) if e["stage"] in goals), None)
            kept = events if cut is None else events[:cut + by_channel]
            touches = [t for e in kept if (t := e["channel"] if by_channel else e["stage"])]
            converted = (any(e["outcome"] in TRUTHY for e in events) if outcome
                         else cut is not None)
            key = tuple(t for k, t in enumerate(touches) if t not in touches[k - 1:k])
            counts[key, converted] += 1
        expected = {TouchSequence(t, counts[t, True], counts[t, False]) for t, _ in counts}
        assert set(engine.touch_sequences(goals, by_channel)) == expected


@answering("path_endings")
def test_path_endings(engine, log_file) -> None:
    _, oracle = log_file
    engine.prepare("channel", None)
    expected = Counter((path, oracle.status(j)) for j, path in oracle.paths.items())
    got = engine.path_endings(GOALS, False, STILL_ACTIVE)
    assert {(p.stages, p.status): p.journeys for p in got} == dict(expected)


@answering("path_endings")
def test_path_endings_before_goal(engine, log_file) -> None:
    """Personas' profiles: each path cut before its journey's first goal event."""
    _, oracle = log_file
    engine.prepare(None, None)
    expected: Counter = Counter()
    for j, path in oracle.paths.items():
        cut = next((k for k, s in enumerate(path) if s in GOALS), len(path))
        expected[path[:cut], oracle.status(j)] += 1
    got = engine.path_endings(GOALS, False, STILL_ACTIVE, before_goal=True)
    assert {(p.stages, p.status): p.journeys for p in got} == dict(expected)
    assert () in {p.stages for p in got}  # journeys whose first event is a goal


@answering("goal_times")
def test_goal_times(engine, log_file) -> None:
    """The time-to-goal input: first event to first goal event (or truthy outcome); never:
    censored at the last event, or at the log's end when still active."""
    _, oracle = log_file
    threshold = open_from(oracle.end, STILL_ACTIVE)
    for outcome, still in ((None, None), (None, STILL_ACTIVE), ("outcome", STILL_ACTIVE)):
        engine.prepare(None, outcome)
        goals = () if outcome else GOALS
        counts: Counter = Counter()
        for events in oracle.journeys.values():
            reaching = [e["t"] for e in events if (e["outcome"] in TRUTHY if outcome
                                                   else e["stage"] in goals)]
            last = events[-1]["t"]
            end = oracle.end if still and last >= threshold else last
            counts[(min(reaching) if reaching else end) - events[0]["t"], bool(reaching)] += 1
        expected = [GoalTime(t, reached, n) for (t, reached), n in sorted(counts.items())]
        assert engine.goal_times(goals, still, use_outcome=outcome is not None) == expected
