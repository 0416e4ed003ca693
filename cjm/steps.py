"""The step matrix: where journeys are at their 1st, 2nd, … Nth event.

For each step k and each stage, the share of all journeys whose k-th event is at that
stage; the journeys with fewer than k events have ended by then, and are counted by how
they ended (a goal reached, a dead-end, or still active), so that every step adds up to
100%. With two groups (``--by ROLE --values A,B``), the difference B - A of each share.
It describes where journeys are, not why: association, not cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cjm.engine.protocol import Log
from cjm.errors import UsageError

STEPS = 10  # steps shown by default
ENDED = ("goal", "dead_end", "open")  # how a journey that has ended by a step ended


@dataclass(frozen=True)
class StepRow:
    """A stage (or, for the ended rows, 'goal', 'dead_end' or 'open') and, per step, its
    journeys and their share of all journeys (None: withheld under --min-journeys)."""

    name: str
    journeys: tuple[int, ...]
    shares: tuple[float | None, ...]


@dataclass(frozen=True)
class StepMatrix:
    steps: int
    journeys: int
    stages: list[StepRow]  # ordered by the step at which each is most common
    ended: list[StepRow]  # goal, dead_end, open: journeys that ended before the step
    goals: tuple[str, ...]
    goals_source: str
    outcome_column: str | None  # success, when goals come from the outcome column
    label: str | None
    withheld: int  # stages left out: fewer than --min-journeys journeys at any step


def step_matrix(log: Log, *, steps: int = STEPS, goals: Sequence[str] | None = None,
                use_outcome: bool | None = None, infer_goals: bool = True,
                still_active: float | None = None) -> StepMatrix:
    """The step matrix of ``log`` for steps 1 … ``steps``; goals and the still-active span
    are decided as cjm.discover decides them (``goals``, else the config's, else the outcome
    column or inferred), with its arguments of the same names."""
    from cjm.journeys import discover

    if steps < 1:
        raise UsageError(f"--steps must be 1 or more, not {steps}")
    jm = discover(log, goals=goals or None, use_outcome=use_outcome, infer_goals=infer_goals,
                  still_active=still_active)
    engine = log.engine("_steps")
    engine.prepare(None, "outcome" if jm.goals.source == "outcome" else None)
    endings = engine.path_endings(jm.goals.stages, jm.goals.source == "outcome",
                                  jm.still_active_seconds)
    at: dict[str, list[int]] = {}
    ended = {status: [0] * steps for status in ENDED}
    for ending in endings:
        for k in range(steps):
            if k < len(ending.stages):
                at.setdefault(ending.stages[k], [0] * steps)[k] += ending.journeys
            else:
                ended[ending.status][k] += ending.journeys
    total = jm.journeys
    least = log.min_journeys

    def row(name: str, counts: list[int]) -> StepRow:
        return StepRow(name, tuple(counts), tuple(
            (n / total if total else 0.0) if n == 0 or n >= least else None for n in counts))

    kept = {name: counts for name, counts in at.items() if max(counts) >= least}
    order = sorted(kept, key=lambda s: (max(range(steps), key=lambda k: (kept[s][k], -k)),
                                        -max(kept[s]), s))
    return StepMatrix(steps, total, [row(s, kept[s]) for s in order],
                      [row(status, ended[status]) for status in ENDED], jm.goals.stages,
                      jm.goals.source, jm.goals.outcome_column, log.label,
                      len(at) - len(kept))


@dataclass(frozen=True)
class StepDifference:
    """Two step matrices and, per stage (and ended row), the share in B less that in A."""

    a: StepMatrix
    b: StepMatrix
    stages: list[StepRow]  # shares: B - A (None where either is withheld)
    ended: list[StepRow]


def difference(a: StepMatrix, b: StepMatrix) -> StepDifference:
    """B - A, over the stages either shows, in A's order, then B's own."""
    def rows(left: list[StepRow], right: list[StepRow]) -> list[StepRow]:
        by_a, by_b = {r.name: r for r in left}, {r.name: r for r in right}
        names = [r.name for r in left] + [r.name for r in right if r.name not in by_a]
        empty = StepRow("", (0,) * a.steps, (0.0,) * a.steps)
        out = []
        for name in names:
            ra, rb = by_a.get(name, empty), by_b.get(name, empty)
            out.append(StepRow(name, tuple(y - x for x, y in zip(ra.journeys, rb.journeys,
                                                               strict=True)),
                               tuple(None if x is None or y is None else y - x
                                     for x, y in zip(ra.shares, rb.shares, strict=True))))
        return out

    return StepDifference(a, b, rows(a.stages, b.stages), rows(a.ended, b.ended))
