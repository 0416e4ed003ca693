"""The typed rows every engine answers with: what crosses the seam, and nothing else.

Counts are whole numbers; seconds are floats (None where no value exists, as a median of
nothing); stages, channels and journey ids are text. Rows come back in no particular order
unless a method of cjm.engine.protocol.Engine says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """A stage's events, the journeys that reach it, and those that start or end there."""

    name: str
    events: int
    journeys: int
    starts: int
    ends: int


@dataclass(frozen=True)
class StageTotal:
    """A stage's events and the journeys with one, over the log's events as read."""

    stage: str
    events: int
    journeys: int


@dataclass(frozen=True)
class JourneySizes:
    """Events per journey: the fewest, median, mean and most."""

    least: int
    median: float
    mean: float
    most: int


@dataclass(frozen=True)
class TransitionCount:
    """The events that go from ``source`` straight to ``target``, with their waits."""

    source: str
    target: str
    count: int
    journeys: int
    median_seconds: float
    mean_seconds: float
    p90_seconds: float
    handoffs: int  # of them whose hand-off value (the channel, say) changes


@dataclass(frozen=True)
class PathCount:
    """A path (a journey's stages in order), its journeys and their median duration."""

    stages: tuple[str, ...]
    journeys: int
    median_seconds: float


@dataclass(frozen=True)
class JourneyFigures:
    """The journeys' count, durations and events per journey (None without journeys)."""

    journeys: int
    duration_median: float | None
    duration_p90: float | None
    duration_mean: float | None
    events_median: float | None
    events_mean: float | None
    events_max: int | None


@dataclass(frozen=True)
class Rework:
    stage: str
    journeys: int  # journeys that visit the stage more than once
    extra_visits: int


@dataclass(frozen=True)
class Ending:
    """The journeys that end at ``stage`` with ``status`` ('goal', 'open': may still be
    running, or 'dead_end'), and the most common path among them (ties: the first)."""

    stage: str
    status: str
    journeys: int
    top_path: tuple[str, ...]
    top_path_journeys: int


@dataclass(frozen=True)
class PathEnding:
    """The journeys that take ``stages`` and end with ``status`` (as in Ending)."""

    stages: tuple[str, ...]
    status: str
    journeys: int


@dataclass(frozen=True)
class Handoff:
    source: str  # channel (or other hand-off value) before
    target: str
    count: int
    median_seconds: float
    journeys: int = 0


@dataclass(frozen=True)
class SlowWait:
    """One wait above its service level, in a named journey."""

    source: str
    target: str
    journey: str
    seconds: float


@dataclass(frozen=True)
class FunnelCount:
    """The journeys reaching a funnel step; the median seconds from the step before."""

    journeys: int
    median_seconds: float | None


@dataclass(frozen=True)
class NextStage:
    """Where journeys went next (None: they ended), and how many."""

    stage: str | None
    journeys: int


@dataclass(frozen=True)
class ChannelCount:
    stage: str
    channel: str
    events: int


@dataclass(frozen=True)
class ChannelSequence:
    """Channels in a journey's order, repeats folded, and the journeys taking it."""

    channels: tuple[str, ...]
    journeys: int


@dataclass(frozen=True)
class StageCost:
    stage: str
    events: int
    total: float


@dataclass(frozen=True)
class PathCost:
    stages: tuple[str, ...]
    journeys: int
    total: float
    median: float


@dataclass(frozen=True)
class Costs:
    """What journeys cost: in all (journeys, total, median, mean), by stage and by path."""

    journeys: int
    total: float
    median: float
    mean: float
    by_stage: list[StageCost]
    by_path: list[PathCost]


@dataclass(frozen=True)
class OutcomeSums:
    """Journeys with an outcome, and the sum and sum of squares of their outcomes."""

    journeys: int
    total: float
    squares: float


@dataclass(frozen=True)
class OutcomeItem:
    """The outcomes of the journeys with a stage (kind 'stage') or transition ('transition',
    named 'a → b')."""

    kind: str
    name: str
    sums: OutcomeSums


@dataclass(frozen=True)
class TouchSequence:
    """A distinct sequence of touchpoints (repeats in a row folded), with its journeys that
    convert and those that do not."""

    touches: tuple[str, ...]
    converted: int
    not_converted: int


@dataclass(frozen=True)
class GoalTime:
    """``journeys`` journeys that reached the goal ``seconds`` after their first event (or,
    when ``reached`` is false, were censored then: at their last event, or at the log's end
    while still active)."""

    seconds: float
    reached: bool
    journeys: int
