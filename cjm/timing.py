"""Time to goal: how long journeys take from their first event to their first goal, counting
those that have not got there (yet). See docs/timing.md.

The engine gives each journey's time to its first goal event, or the time it was followed
for when it never reached one (censored: at its last event, or at the log's end when it is
still active); cjm.survival turns them into the Kaplan-Meier curve, its quantiles and, per
segment or period, the log-rank test between them. Association, not cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from shlex import quote
from typing import TYPE_CHECKING

from cjm.engine.rows import GoalTime
from cjm.errors import DataError, UsageError
from cjm.journeys import GOAL_SHARE, Goals
from cjm.survival import Curve, LogRank, Step, kaplan_meier, logrank

if TYPE_CHECKING:
    from cjm.engine.protocol import Log

DAY = 86400
# The times the curve is read at in tables: those within its span, from the last one before
# any journey reached the goal, and at most MAX_CHECKPOINTS of them spread over that list.
CHECKPOINTS = (60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY,
               30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY, 365 * DAY, 730 * DAY)
MAX_CHECKPOINTS = 8


@dataclass(frozen=True)
class TimingGroup:
    label: str  # "segment = vip", "2024-Q3"
    curve: Curve


@dataclass(frozen=True)
class Checkpoint:
    """The curves read at one time: the whole log's, then each group's."""

    seconds: float
    steps: tuple[Step | None, ...]  # None: past the curve's end


@dataclass(frozen=True)
class Timing:
    goals: Goals
    still_active_seconds: float | None
    curve: Curve  # every journey of the log
    groups: list[TimingGroup] = field(default_factory=list)  # with --by or --period
    split: str | None = None  # the column (--by) or period (--period) of the groups
    logrank: LogRank | None = None  # between the groups, when there are two or more
    checkpoints: list[Checkpoint] = field(default_factory=list)
    min_journeys: int = 1
    notes: list[str] = field(default_factory=list)


def timing(log: Log, *, goals: Sequence[str] | None = None, use_outcome: bool | None = None,
           still_active: float | str | None = None, by: str | None = None,
           period: str | None = None, top_values: int | None = None) -> Timing:
    """The time to goal of ``log``'s journeys, overall and per value of ``by`` (a role) or per
    ``period`` (day … year), with the log-rank test between those groups.

    Goals, the outcome and ``still_active`` are decided as cjm.discover decides them (the
    arguments, else the log's config, else inferred), except that an outcome column counts
    only when it was named (``columns={"outcome": ...}``, ``--outcome``): one found in the log
    usually holds the journey's outcome on every event, which would time every success at
    0s. With ``read_log(min_journeys=K)``,
    groups of fewer than K journeys are left out and each curve stops where fewer than K
    journeys are still waiting.
    """
    from cjm.journeys import discover
    from cjm.segments import by_period, by_segment

    if by and period:
        raise UsageError("give --by or --period, not both")
    if log.journeys < log.min_journeys:
        raise DataError(f"the log has {log.journeys:,} journeys, fewer than --min-journeys "
                        f"{log.min_journeys}: no time to goal can be shown",
                        "Lower --min-journeys, or read more of the log.")
    if use_outcome is None and not _outcome_named(log):
        use_outcome = False  # an outcome column found in the log is usually the journey's
    jm = discover(log, goals=goals or None, use_outcome=use_outcome, still_active=still_active)
    found = jm.goals
    if found.source == "none":
        raise UsageError("no goal stage given, and none found (no stage ends at least "
                         f"{GOAL_SHARE:.0%} of the journeys that reach it)",
                         "Pass --goal STAGE: the stage that counts as success"
                         + "".join(f"{'; nearest:' if i == 0 else ','} {quote(name)}"
                                   for i, (name, _) in enumerate(found.candidates)) + ".")
    k = log.min_journeys
    whole = _curve(_goal_times(log, found, jm.still_active_seconds), k)
    notes = []
    if found.source == "outcome" and whole.reached and whole.steps[0].reached == whole.reached:
        notes.append(f"every journey that reached the goal had {found.outcome_column} true at "
                     "its first event: the column holds the journey's outcome, not the moment "
                     "it came; pass --goal STAGE to time the goal stage instead")
    result = Timing(found, jm.still_active_seconds, whole, min_journeys=k, notes=notes)
    if not (by or period):
        return _read_at_checkpoints(result)
    parts = by_segment(log, by, top=top_values) if by else by_period(log, period)
    times = [_goal_times(part, found, jm.still_active_seconds) for part in parts]
    groups = [TimingGroup(part.label, _curve(rows, k))
              for part, rows in zip(parts, times, strict=True)]
    if len(groups) < 2:
        notes.append("fewer than two groups to compare: no log-rank test"
                     + (f" (--min-journeys {k} leaves out groups of fewer journeys)"
                        if k > 1 else ""))
    return _read_at_checkpoints(replace(
        result, groups=groups, split=by or period, notes=notes,
        logrank=logrank(times) if len(groups) >= 2 else None))


def _outcome_named(log: Log) -> bool:
    return "outcome" in log.mapping and log.mapping.choices["outcome"].source == "flag"


def _goal_times(log: Log, goals: Goals, still_active: float | None) -> list[GoalTime]:
    use_outcome = goals.source == "outcome"
    engine = log.engine("_timing")
    engine.prepare(None, "outcome" if use_outcome else None)
    return engine.goal_times(goals.stages, still_active, use_outcome)


def _curve(rows: list[GoalTime], k: int) -> Curve:
    """The curve, up to where fewer than ``k`` journeys are still waiting: beyond, each step
    would be the time of a few customers. Its figures are those of every journey."""
    curve = kaplan_meier(rows)
    if k <= 1:
        return curve
    return replace(curve, steps=[s for s in curve.steps if s.at_risk >= k])


def _read_at_checkpoints(result: Timing) -> Timing:
    curves = [result.curve, *(g.curve for g in result.groups)]
    span = max((c.steps[-1].seconds for c in curves if c.steps), default=0.0)
    first = min((s.seconds for c in curves for s in c.steps if s.reached), default=span)
    times = [t for t in CHECKPOINTS if t <= span]
    start = max([i for i, t in enumerate(times) if t <= first], default=0)
    times = times[start:] or [span]
    if len(times) > MAX_CHECKPOINTS:  # evenly by rank, keeping the first and the last
        last = len(times) - 1
        times = [times[round(i * last / (MAX_CHECKPOINTS - 1))] for i in range(MAX_CHECKPOINTS)]
    return replace(result, checkpoints=[
        Checkpoint(float(t), tuple(c.at(t) for c in curves)) for t in times])
