"""The engine contract for costs and numeric outcomes (Engine.costs, Engine.outcome_sums),
run against every engine that answers them: exact decimal sums (cjm.engine.semantics), the
same to the bit whatever order an engine adds in.

The log's values are chosen so that doubles added in another order give other sums (0.1
next to 1e11 and -1e11); the oracle adds them here in plain Python, with the shared
definitions, and every engine must equal it exactly.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from journey_logs import write_shuffled

from cjm.engine.rows import OutcomeSums
from cjm.engine.semantics import (
    decimal_value,
    exact_float,
    exact_mean,
    exact_median,
    exact_outcomes,
)
from tests.test_engine_contract import _duckdb, _spark

COSTS = ("0.1", "1e11", "-1e11", "0.3", "", "abc", "2.5e-3", " 7 ", "0.1234567894",
         "0.0000000005", "-0", "1E2", "99999999999.999999999", "inf")
OUTCOMES = ("0.1", "1e11", "-1e11", "", "n/a", "12.75", "-3", "0.30000000000000004", "1.5E-9")
CHANNELS = ("web", "chat", "email", "phone", "")
STAGES = ("visit", "help", "buy", "call")
PRICES = {"web": 0.1, "chat": 2.0, "email": 1e-10, "phone": 6.5}
START = datetime(2024, 5, 1, tzinfo=UTC)
ENGINES = {"duckdb": lambda path: _duckdb(path, 1), "spark": lambda path: _spark(path, 1)}


def _write_log(path: Path) -> list[dict]:
    """Journeys whose costs and outcomes are such values, some at the same second."""
    rng = random.Random(14)
    rows = []
    for j in range(240):
        t = START + timedelta(seconds=rng.randint(0, 86400))
        for _ in range(rng.choice([1, 2, 3, 5, 8])):
            t += timedelta(seconds=rng.choice([0, 0, 5, 600]))
            rows.append({"journey_id": f"j{j:03d}", "stage": rng.choice(STAGES),
                         "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "channel": rng.choice(CHANNELS), "cost": rng.choice(COSTS),
                         "outcome": rng.choice(OUTCOMES)})
    return write_shuffled(path, rows, rng)


class Oracle:
    def __init__(self, rows: list[dict]) -> None:
        journeys = defaultdict(list)
        for row in rows:
            journeys[row["journey_id"]].append(row)
        self.journeys = {j: sorted(es, key=lambda e: (e["timestamp"], e["line"]))
                         for j, es in journeys.items()}
        self.paths = {j: tuple(e["stage"] for e in es) for j, es in self.journeys.items()}

    def costs(self, prices: dict[str, float] | None):
        def cost(event) -> Decimal:
            if prices is not None:
                price = prices.get(event["channel"])
                return decimal_value(repr(price)) if price is not None else Decimal(0)
            return decimal_value(event["cost"]) or Decimal(0)

        totals = {j: sum((cost(e) for e in es), Decimal(0)) for j, es in self.journeys.items()}
        by_stage, by_path = defaultdict(list), defaultdict(list)
        for events in self.journeys.values():
            for e in events:
                by_stage[e["stage"]].append(cost(e))
        for j, path in self.paths.items():
            by_path[path].append(totals[j])
        total = sum(totals.values(), Decimal(0))
        return (len(totals), exact_float(total), median(list(totals.values())),
                exact_mean(total, len(totals)),
                {s: (len(c), exact_float(sum(c, Decimal(0)))) for s, c in by_stage.items()},
                {p: (len(t), exact_float(sum(t, Decimal(0))), median(t))
                 for p, t in by_path.items()})

    def outcomes(self) -> dict[str, Decimal]:
        """Each journey's last numeric outcome, in journey order."""
        last = {}
        for j, events in self.journeys.items():
            values = [v for e in events if (v := decimal_value(e["outcome"])) is not None]
            if values:
                last[j] = values[-1]
        return last


def median(values: list[Decimal]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return exact_median(ordered[(n - 1) // 2], ordered[n // 2], n)


def sums(values: list[Decimal]) -> OutcomeSums:
    return OutcomeSums(len(values), exact_float(sum(values, Decimal(0))),
                       float(sum((Fraction(v) ** 2 for v in values), Fraction(0))))


@pytest.fixture(scope="module")
def log_file(tmp_path_factory) -> tuple[Path, Oracle, list[dict]]:
    path = tmp_path_factory.mktemp("sums") / "journeys.csv"
    rows = _write_log(path)
    return path, Oracle(rows), rows


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request, log_file):
    opened = ENGINES[request.param](log_file[0])
    yield next(opened)
    opened.close()


def test_the_log_needs_exact_sums(log_file) -> None:
    """Its costs added as doubles in file order and in reverse differ: an engine that added
    doubles would give either, depending on how it splits the work."""
    _, _, rows = log_file
    values = [float(v) for r in rows if (v := decimal_value(r["cost"])) is not None]
    assert sum(values) != sum(reversed(values))


@pytest.mark.parametrize("prices", [None, PRICES], ids=["cost column", "prices"])
def test_costs(engine, log_file, prices) -> None:
    _, oracle, _ = log_file
    engine.prepare("channel", None)
    n, total, middle, mean, by_stage, by_path = oracle.costs(prices)
    costs = engine.costs(prices)
    assert (costs.journeys, costs.total, costs.median, costs.mean) == (n, total, middle, mean)
    assert {c.stage: (c.events, c.total) for c in costs.by_stage} == by_stage
    assert {c.stages: (c.journeys, c.total, c.median) for c in costs.by_path} == by_path


@pytest.mark.parametrize("before", [(), ("buy",)])
def test_numeric_outcomes(engine, log_file, before) -> None:
    """Each journey's last numeric outcome (at one second, the later line's), overall and by
    stage and transition, with ``before``: what journeys did before their first goal."""
    _, oracle, _ = log_file
    engine.prepare(None, None)
    last = oracle.outcomes()
    overall, items = engine.outcome_sums("mean", before)
    assert overall == sums(list(last.values()))
    expected: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for j, path in oracle.paths.items():
        cut = next((k for k, s in enumerate(path) if s in before), len(path))
        kept = path[:cut]
        names = {("stage", s) for s in kept} | {
            ("transition", f"{a} → {b}") for a, b in itertools.pairwise(kept)}
        if j in last:
            for name in names:
                expected[name].append(last[j])
    assert {(i.kind, i.name): i.sums for i in items} == {
        name: sums(values) for name, values in expected.items()}


def test_yes_no_outcomes_are_the_same_sums(engine, log_file) -> None:
    """A yes/no outcome is 1 or 0: its sums are the count of yeses, as ever."""
    _, oracle, _ = log_file
    engine.prepare(None, None)
    overall, _ = engine.outcome_sums("rate")
    # No value of the column is a yes: every journey with a value counts, as a no.
    known = [j for j, es in oracle.journeys.items() if any(e["outcome"].strip() for e in es)]
    assert overall == exact_outcomes(len(known), Decimal(0), 0, 0, 0)
