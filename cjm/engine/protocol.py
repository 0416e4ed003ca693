"""The engine seam: what a log held by any engine answers, in typed rows.

An engine is one package (cjm.engine.duckdb, cjm.engine.spark) implementing
:class:`Engine` for the aggregates and :class:`Log` for the read log. No SQL, table name or
engine type crosses this seam: analyses (cjm.journeys, cjm.funnel, cjm.compare, …) call
these methods only, with stage names, role names and plain numbers. The contract tests
(tests/test_engine_contract.py) run the same cases against every engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cjm.engine.rows import (
    ChannelCount,
    ChannelSequence,
    Costs,
    Ending,
    FunnelCount,
    GoalTime,
    Handoff,
    JourneyFigures,
    JourneySizes,
    NextStage,
    OutcomeItem,
    OutcomeSums,
    PathCount,
    PathEnding,
    Rework,
    SlowWait,
    Stage,
    StageTotal,
    TouchSequence,
    TransitionCount,
)


class Engine(Protocol):
    """Aggregates over a log's journeys, each ordered by timestamp, then file, then line.

    ``prepare`` orders the journeys; every other method reads that ordering, so call it
    first (and again to change its hand-off role, outcome or stages).
    """

    log_end: float | None  # epoch seconds of the whole log's last event ("still active")

    def prepare(self, handoff: str | None, outcome: str | None,
                stages: Sequence[str] | None = None) -> None:
        """Order the journeys; ``handoff`` and ``outcome`` are roles (such as 'channel');
        with ``stages``, only the events of those stages count."""

    def stages(self) -> list[Stage]: ...

    def transitions(self) -> list[TransitionCount]: ...

    def paths(self) -> list[PathCount]:
        """Every distinct path, most journeys first, then in path order."""

    def journey_figures(self) -> JourneyFigures: ...

    def rework(self) -> list[Rework]:
        """Stages that journeys visit more than once; after stages()."""

    def endings(self, goals: Sequence[str], use_outcome: bool,
                still_active_seconds: float | None) -> list[Ending]:
        """How journeys end: reaching a goal stage (or, with ``use_outcome``, a truthy
        outcome) at any point makes a journey 'goal'; else a last event within
        ``still_active_seconds`` of the log's end makes it 'open'; else 'dead_end'."""

    def handoff_matrix(self) -> list[Handoff]: ...

    def path_endings(self, goals: Sequence[str], use_outcome: bool,
                     still_active_seconds: float | None,
                     before_goal: bool = False) -> list[PathEnding]:
        """Each distinct path with each way it ends (as endings() decides), and the
        journeys; with ``before_goal``, a path is its journey's stages before its first event
        at one of ``goals`` (all of them when it never gets there)."""

    def outcome_values(self, role: str, limit: int = 50) -> list[str]:
        """Distinct values of a role's column, trimmed and lower-cased, in order."""

    def path_examples(self, n: int = 3) -> dict[tuple[str, ...], list[str]]:
        """The first ``n`` journey ids (in id order) of every distinct path."""

    def journey_paths(self, journeys: Sequence[str] | None = None
                      ) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(journey id, path) of ``journeys`` (all for None), in journey id order."""

    def slow_transitions(self, limits: Mapping[tuple[str, str], float]) -> list[SlowWait]:
        """Each wait above its limit (seconds, by (from, to)), in journey order."""

    def funnel(self, steps: Sequence[Sequence[str]], strict: bool,
               within: float | None) -> list[FunnelCount]:
        """Per step (the stages any of which makes it), the journeys reaching it: its
        earliest qualifying event, after the previous step's (``strict``) or anywhere,
        within ``within`` seconds of step 1."""

    def funnel_next(self, step: int) -> list[NextStage]:
        """Where journeys that reached step ``step - 1`` but not ``step`` went next."""

    def channel_mix(self) -> list[ChannelCount]:
        """Events per stage and hand-off value; after prepare('channel', …)."""

    def channel_sequences(self) -> list[ChannelSequence]:
        """Hand-off values in journey order, repeats folded; most journeys first."""

    def journeys_moving(self, pairs: Sequence[tuple[str, str]]) -> int:
        """The journeys with at least one transition from one hand-off value to the next of
        any of ``pairs``."""

    def costs(self, prices: Mapping[str, float] | None) -> Costs:
        """Costs of the events: the price of their channel, or (``prices`` None) the cost
        role's column; missing costs count 0. Exact decimal sums, the same in any order
        (cjm.engine.semantics.decimal_value); a cost too large to add exactly is a
        DataError naming its line."""

    def outcome_sums(self, kind: str, before: Sequence[str] = ()
                     ) -> tuple[OutcomeSums, list[OutcomeItem]]:
        """Journey outcomes overall and per stage and transition that journeys take.

        ``kind`` 'rate': a journey's outcome is 1 when any of its outcome values is truthy,
        0 when all are other values, unknown when all are empty; 'mean': its last numeric
        outcome value in journey order. Sums are exact decimal sums, as costs'. With
        ``before`` (goal stages), items count only what journeys did before their first
        event at one of them.
        """

    def touch_sequences(self, goals: Sequence[str], by_channel: bool) -> list[TouchSequence]:
        """The distinct sequences of touches (stages, or with ``by_channel`` the hand-off
        values of prepare('channel', …)), repeats in a row folded, with the journeys that
        convert and those that do not. With ``goals``, a journey converts when it reaches one
        of them, and its touches are its events before the first goal event (by channel, up
        to and including it); without, it converts when its outcome (prepare(…, outcome)) is
        truthy, and every event is a touch. A journey without a touch has the empty
        sequence."""

    def goal_times(self, goals: Sequence[str], still_active_seconds: float | None,
                   use_outcome: bool = False) -> list[GoalTime]:
        """Journeys by time to goal, for the Kaplan-Meier curve (cjm.survival), in time
        order (at one time, the censored first). The time runs from a journey's first event
        to its first event at one of ``goals`` (with ``use_outcome``: its first event with a
        truthy outcome, prepare(…, outcome)), in whole microseconds; a journey that never
        gets there is censored at its last event or, when it is still active (as endings()
        decides), at the log's end. One row per (seconds, reached)."""


@dataclass(frozen=True)
class FirstValue:
    """The journeys whose first event has one of ``values`` (None: no value) in a role."""

    role: str
    values: tuple[str | None, ...]


@dataclass(frozen=True)
class StartPeriod:
    """The journeys whose first event falls in a period ('2024-Q3' of 'quarter')."""

    period: str
    label: str


@dataclass(frozen=True)
class Window:
    """The journeys that start in [since, until); with ``clip_events``, the events in it."""

    since: datetime | None
    until: datetime | None
    clip_events: bool = False


@dataclass(frozen=True)
class Reaching:
    """The journeys with an event at any of ``stages``."""

    stages: tuple[str, ...]


@dataclass(frozen=True)
class Paths:
    """The journeys that take one of ``paths``; with ``before``, a journey's path is its
    stages before its first event at one of ``before`` (as path_endings(before_goal=True))."""

    paths: tuple[tuple[str, ...], ...]
    before: tuple[str, ...] = ()


Selection = FirstValue | StartPeriod | Window | Reaching | Paths


class Log(Protocol):
    """A read log, whichever engine holds its events: accounting plus the queries that slice
    it. Its plain figures (files, mapping, events, journeys, …) are attributes."""

    journeys: int
    min_journeys: int
    label: str | None
    config: Any

    def engine(self, suffix: str = "", buckets: int = 1,
               still_active: float | None = None) -> Engine: ...

    def stage_names(self, whole: bool = False) -> list[str]:
        """The stages of the log (``whole``: of the log it was sliced from), in name order."""

    def stage_totals(self) -> list[StageTotal]:
        """Events and journeys per stage, most events first, then by name."""

    def journey_sizes(self) -> JourneySizes:
        """Events per journey (a log with at least one journey)."""

    def first_values(self, role: str) -> list[tuple[str | None, int]]:
        """(value, journeys) of a role at each journey's first event, most journeys first."""

    def period_labels(self, period: str) -> list[str]:
        """The periods ('day', 'week', 'month', 'quarter', 'year') in which journeys
        start, oldest first."""

    def subset(self, selection: Selection, label: str) -> Log:
        """The journeys (or events) ``selection`` picks, as a log named ``label``."""
