"""Funnels: how many journeys pass through a chosen sequence of stages, and where the others go.

A step is a stage, or several stages any of which counts (``courier|pickup`` on the command
line). A journey reaches step k when it has visited steps 1..k (in that order with
``order="strict"``, in any order with ``order="any"``), all within ``within`` seconds of its
first step. The
drop-off at step k is the journeys that reached step k-1 but not step k; where they went
instead is the stage right after their step k-1 (or the end of the journey).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cjm.engine.protocol import Log
from cjm.errors import UsageError, did_you_mean
from cjm.privacy import rare_stages

ORDERS = ("strict", "any")
END = "(journey ended)"


@dataclass(frozen=True)
class FunnelStep:
    stage: str  # its stages joined by "|"
    journeys: int
    step_conversion: float  # of the journeys that reached the step before
    overall_conversion: float  # of the journeys that reached the first step
    median_seconds: float | None  # from the step before (None for the first step)
    dropped: int  # journeys that reached the step before but not this one
    went_instead: tuple[tuple[str, int], ...]  # where the dropped journeys went next
    stages: tuple[str, ...] = ()  # the stages any of which makes the step

    def __post_init__(self) -> None:
        if not self.stages:
            object.__setattr__(self, "stages", (self.stage,))


@dataclass(frozen=True)
class Funnel:
    steps: list[FunnelStep]
    order: str
    within_seconds: float | None
    journeys: int  # all journeys of the log

    @property
    def conversion(self) -> float:
        return self.steps[-1].overall_conversion if self.steps else 0.0


def parse_steps(text: str) -> list[tuple[str, ...]]:
    """Funnel steps as written on the command line: steps separated by commas, the stages
    of a step by "|" (``cart,courier|pickup,payment_done``)."""
    steps = []
    for step in text.split(","):
        stages = tuple(s.strip() for s in step.split("|") if s.strip())
        if stages:
            steps.append(stages)
    return steps


def _steps(log: Log, steps: Sequence[str | Sequence[str]]) -> list[tuple[str, ...]]:
    """The steps as tuples of stages, each stage known and in one step only."""
    chosen = [(step,) if isinstance(step, str) else tuple(step) for step in steps]
    if len(chosen) < 2 or not all(chosen):
        raise UsageError("--steps: a funnel needs at least two stages, e.g. "
                         "--steps 'View Product,Add to Cart,Purchase'")
    every = [stage for step in chosen for stage in step]
    if len(set(every)) != len(every):
        raise UsageError("--steps: each stage may appear once in a funnel")
    names = log.stage_names(whole=True)  # a segment may lack a stage the funnel names
    for stage in every:
        if stage not in names:
            raise UsageError(f"--steps: no stage {stage!r} in the log."
                             f"{did_you_mean(stage, names)}",
                             "Stages: " + ", ".join(names[:30]))
    return chosen


def funnel(log: Log, steps: Sequence[str | Sequence[str]], *, within: float | None = None,
           order: str = "strict", top_next: int = 3) -> Funnel:
    """The funnel of ``steps`` in ``log``: each a stage, or a sequence of stages any of which
    makes the step; ``within`` is a window in seconds from step 1."""
    if order not in ORDERS:
        raise UsageError(f"--order: {order!r} is not one of strict, any")
    steps = _steps(log, steps)

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
            "|".join(steps[k]), reached,
            reached / previous if previous else 1.0 if k == 0 else 0.0,
            reached / first if first else 0.0,
            None if k == 0 else median, dropped,
            tuple((END if stage is None else stage, n) for stage, n in went[:top_next]),
            steps[k]))
        previous = reached
    return Funnel(result, order, within, log.journeys)
