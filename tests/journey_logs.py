"""Small hand-made journey logs for the discover tests, written as CSV."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

BASE = datetime(2024, 1, 1, 9, 0, 0)


def write_journeys(path: Path, journeys: dict[str, list], extra: dict[str, dict] | None = None,
                   step: timedelta = timedelta(minutes=10)) -> Path:
    """Write ``{journey id: [stage, …]}`` as a CSV, one event every ``step`` per journey.

    A stage may be a tuple (stage, channel). ``extra`` adds columns per journey (e.g. an
    outcome). Journeys start one day apart, in the order given.
    """
    extra = extra or {}
    columns = sorted({k for values in extra.values() for k in values})
    with_channel = any(isinstance(s, tuple) for stages in journeys.values() for s in stages)
    header = ["case_id", "stage", "timestamp"] + (["channel"] if with_channel else []) + columns
    lines = [",".join(header)]
    for n, (case, stages) in enumerate(journeys.items()):
        for i, item in enumerate(stages):
            stage, channel = item if isinstance(item, tuple) else (item, "")
            ts = BASE + timedelta(days=n) + i * step
            row = [case, stage, ts.strftime("%Y-%m-%dT%H:%M:%SZ")]
            if with_channel:
                row.append(channel)
            row += [str(extra.get(case, {}).get(c, "")) for c in columns]
            lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dense_journeys(pages: int, visitors: int, events: int = 10, seed: int = 1,
                   goal: str | None = None) -> dict[str, list[str]]:
    """A web clickstream where most pages link to most others: ``visitors`` journeys of
    ``events`` pages each, every page chosen at random among ``pages`` (seeded, so the same
    journeys every time). With ``goal``, every third journey ends on that page."""
    import random

    rng = random.Random(seed)
    names = [f"page{i:03d}" for i in range(pages)]
    journeys = {}
    for n in range(visitors):
        stages = [rng.choice(names) for _ in range(events)]
        if goal and n % 3 == 0:
            stages[-1] = goal
        journeys[f"v{n:05d}"] = stages
    return journeys


def write_dense(path: Path, pages: int, visitors: int = 1000, **kwargs) -> Path:
    """``dense_journeys`` written as a CSV log, one event a minute."""
    return write_journeys(path, dense_journeys(pages, visitors, **kwargs),
                          step=timedelta(minutes=1))


LONG_STAGES = ("catalogue (journey start)", "product1", "product2",
               "Insert Date Appeal to Prefecture", "Receive Result Appeal from Prefecture",
               "Send Appeal to Judge and Notify the Offender",
               "Payment of the Outstanding Fine Amount")
LONG_SEGMENTS = ("private customers in the north", "vip")


def long_names_log(path: Path, journeys: int = 400) -> Path:
    """A deterministic log whose stage names are long, or differ only in their last character
    (product1, product2), over four months; with channel, segment, outcome and a price column.

    Odd months convert more often than even ones, so that comparing months finds changes.
    """
    import random

    rng = random.Random(7)
    lines = ["case_id,stage,timestamp,channel,segment,converted,price"]
    for j in range(journeys):
        when = BASE + timedelta(hours=7 * j)
        first, payment = LONG_STAGES[0], LONG_STAGES[-1]
        stages = [first, *rng.sample(LONG_STAGES[1:3], rng.randint(1, 2))]
        if rng.random() < 0.6:
            stages.append(LONG_STAGES[3])
            if rng.random() < 0.7:
                stages.append(LONG_STAGES[4])
        if rng.random() < 0.5:
            stages.append(LONG_STAGES[5])
        converted = rng.random() < 0.55 + 0.2 * (when.month % 2)
        stages += [payment] if converted else []
        segment = rng.choice(LONG_SEGMENTS)
        for stage in stages:
            when += timedelta(minutes=rng.randint(1, 3000))
            lines.append(",".join([
                f"j{j:04d}", stage, when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                rng.choice(["web", "phone", "email"]), segment, "yes" if converted else "no",
                str(rng.randint(1, 9))]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reachable(edges, root, forward=True) -> set:
    """The stages that a map's ``edges`` reach from ``root`` (or that reach it)."""
    seen, todo = {root}, [root]
    while todo:
        node = todo.pop()
        for e in edges:
            a, b = (e.source, e.target) if forward else (e.target, e.source)
            if a == node and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def write_shuffled(path: Path, rows: list[dict], rng: random.Random) -> list[dict]:
    """Write ``rows`` as a CSV in an order that is not time order (ties then go by line),
    and give each row its ``line`` in the file."""
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for line, row in enumerate(rows, start=2):
        row["line"] = line
    return rows
