"""Funnels: how many journeys pass through a chosen sequence of stages, and where the others go.

A journey reaches step k when it has visited steps 1..k (in that order with ``order="strict"``,
in any order with ``order="any"``), all within ``within`` seconds of its first step. The
drop-off at step k is the journeys that reached step k-1 but not step k; where they went
instead is the stage right after their step k-1 (or the end of the journey).
"""

from __future__ import annotations

from dataclasses import dataclass

from cjm.engine.protocol import Log
from cjm.errors import UsageError, did_you_mean
from cjm.privacy import rare_stages

ORDERS = ("strict", "any")
END = "(journey ended)"


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    journeys: int
    step_conversion: float  # of the journeys that reached the step before
    overall_conversion: float  # of the journeys that reached the first step
    median_seconds: float | None  # from the step before (None for the first step)
    dropped: int  # journeys that reached the step before but not this one
    went_instead: tuple[tuple[str, int], ...]  # where the dropped journeys went next


@dataclass(frozen=True)
class Funnel:
    steps: list[FunnelStep]
    order: str
    within_seconds: float | None
    journeys: int  # all journeys of the log

    @property
    def conversion(self) -> float:
        return self.steps[-1].overall_conversion if self.steps else 0.0


def _check_steps(log: Log, steps: list[str]) -> None:
    if len(steps) < 2:
        raise UsageError("--steps: a funnel needs at least two stages, e.g. "
                         "--steps 'View Product,Add to Cart,Purchase'")
    if len(set(steps)) != len(steps):
        raise UsageError("--steps: each stage may appear once in a funnel")
    names = log.stage_names(whole=True)  # a segment may lack a stage the funnel names
    for step in steps:
        if step not in names:
            raise UsageError(f"--steps: no stage {step!r} in the log.{did_you_mean(step, names)}",
                             "Stages: " + ", ".join(names[:30]))


def funnel(log: Log, steps: list[str], *, within: float | None = None,
           order: str = "strict", top_next: int = 3) -> Funnel:
    """The funnel of ``steps`` in ``log``; ``within`` is a window in seconds from step 1."""
    if order not in ORDERS:
        raise UsageError(f"--order: {order!r} is not one of strict, any")
    _check_steps(log, steps)

    engine = log.engine("_funnel")
    engine.prepare(None, None)
    rows = engine.funnel(steps, order == "strict", within)
    first = rows[0].journeys
    rare = rare_stages(log)
    result, previous = [], None
    for k, row in enumerate(rows):
        reached, median = row.journeys, row.median_seconds
        dropped = (previous - reached) if previous is not None else 0
        went = [(n.stage, n.journeys) for n in (engine.funnel_next(k) if k and dropped else [])
                if n.journeys >= log.min_journeys and n.stage not in rare]
        result.append(FunnelStep(
            steps[k], reached,
            reached / previous if previous else 1.0 if k == 0 else 0.0,
            reached / first if first else 0.0,
            None if k == 0 else median, dropped,
            tuple((END if stage is None else stage, n) for stage, n in went[:top_next])))
        previous = reached
    return Funnel(result, order, within, log.journeys)
