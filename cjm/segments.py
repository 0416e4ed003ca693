"""Slices of a log: journeys by segment (or another role) and by period of their first event."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cjm.engine.protocol import FirstValue, Log, StartPeriod, Window
from cjm.errors import UsageError
from cjm.units import format_count, format_days

if TYPE_CHECKING:
    from cjm.journeys import JourneyMap

BY_ROLES = ("segment", "channel", "device", "department", "outcome")
PERIODS = ("day", "week", "month", "quarter", "year")
NONE = "(none)"


def _role(log: Log, by: str, flag: str = "--by") -> str:
    # A role by its name first: another role's column may be named like it.
    if by in BY_ROLES and by in log.mapping:
        return by
    for role in BY_ROLES:
        if role in log.mapping and log.mapping.column(role) == by:
            return role
    mapped = [r for r in BY_ROLES if r in log.mapping]
    raise UsageError(
        f"{flag}: {by!r} is not a mapped role of this log",
        f"Use one of: {', '.join(mapped) or 'none mapped'}; map a column to a role with "
        "--segment COLUMN (or --channel, --device, --department, --outcome).")


def segment_values(log: Log, by: str) -> list[tuple[str | None, int]]:
    """(value, journeys) of a role, taken at each journey's first event, most journeys first."""
    return log.first_values(_role(log, by))


def values_hint(counts: list[tuple[str | None, int]]) -> str:
    """The values of segment_values() a user may pick, most journeys first (20 at most)."""
    shown = ", ".join(f"{NONE if v is None else v} ({format_count(n)})" for v, n in counts[:20])
    more = f", and {format_count(len(counts) - 20)} more" if len(counts) > 20 else ""
    return f"Values (journeys): {shown}{more}"


def by_segment(log: Log, by: str, values: list[str | None] | None = None,
               top: int | None = None, flag: str | None = None) -> list[Log]:
    """One log per value of ``by`` (at each journey's first event).

    ``values`` picks the values (in that order); otherwise the ``top`` most frequent values,
    and the rest together as "other". ``flag`` is the option errors name (default: --by for
    the role, --values for a value).
    """
    role = _role(log, by, flag or "--by")
    column = log.mapping.column(role)
    counts = segment_values(log, role)
    present = [v for v, _ in counts]
    if values is not None:
        for value in values:
            if value not in present:
                raise UsageError(f"{flag or '--values'}: {column} has no journeys with "
                                 f"{value!r}", values_hint(counts))
        chosen, rest = list(values), []
    else:
        chosen = present[:top] if top else present
        rest = present[len(chosen):]
    slices = [log.subset(FirstValue(role, (value,)),
                         f"{column} = {NONE if value is None else value}") for value in chosen]
    if rest:
        slices.append(log.subset(FirstValue(role, tuple(rest)), f"{column} = other"))
    return slices if values is not None else _enough(slices, log)


def _enough(slices: list[Log], log: Log) -> list[Log]:
    """--min-journeys: a segment or period of fewer journeys is not shown at all."""
    return [s for s in slices if s.journeys >= log.min_journeys]


def period_labels(log: Log, period: str) -> list[str]:
    """The periods in which journeys start, oldest first."""
    return log.period_labels(_period(period))


def by_period(log: Log, period: str, labels: list[str] | None = None) -> list[Log]:
    """One log per period (by each journey's first event); ``labels`` picks some of them."""
    period = _period(period)
    slices = [log.subset(StartPeriod(period, label), label)
              for label in (labels if labels is not None else period_labels(log, period))]
    return slices if labels is not None else _enough(slices, log)


def between(log: Log, since: datetime | None, until: datetime | None,
            clip_events: bool = False) -> Log:
    """Journeys whose first event falls in [since, until); or, with ``clip_events``, the
    events in that window (journeys cut at its edges)."""
    if since is None and until is None:
        return log
    label = f"{since:%Y-%m-%d}" if since else "…"
    label += f" to {until:%Y-%m-%d}" if until else " onwards"
    chosen = log.subset(Window(since, until, clip_events), label)
    if not chosen.journeys:  # nothing to map: say so rather than fail on empty figures
        what = "event falls" if clip_events else "journey starts"
        span = (" (the log runs from "
                f"{format_days(log.first_timestamp, log.last_timestamp, log.timezone, ' to ')})"
                if log.first_timestamp else "")
        when = " and ".join(([f"on or after {since:%Y-%m-%d}"] if since else [])
                            + ([f"before {until:%Y-%m-%d}"] if until else []))
        raise UsageError(f"--since/--until: no {what} {when}{span}",
                         "Give dates within the log's span.")
    return chosen


def _period(period: str) -> str:
    if period not in PERIODS:
        raise UsageError(f"--period: {period!r} is not one of {', '.join(PERIODS)}")
    return period


def where_all(log: Log, conditions: list[str]) -> Log:
    """The journeys that match every ``ROLE=VALUE`` condition (at their first event)."""
    for condition in conditions:
        role, sep, value = condition.partition("=")
        if not sep:
            raise UsageError(f"--where: write ROLE=VALUE, not {condition!r}",
                             "Example: --where segment=vip")
        log = by_segment(log, role.strip(), values=[value.strip()], flag="--where")[0]
    return log


def sides(log: Log, by: str | None, period: str | None,
          values: list[str] | None) -> list[Log]:
    """The two sets of journeys to compare, A then B: two values of ``by``, or two periods
    (``values``, or else the last two), each named after its filter too."""
    if by:
        if values is None:
            raise UsageError("--by needs --values A,B: the two values to compare",
                             values_hint(segment_values(log, by)))
        chosen = by_segment(log, by, values=values)
    else:
        labels = values or period_labels(log, period)[-2:]
        if len(labels) < 2:
            raise UsageError(f"--period {period}: the log covers one {period} only")
        present = set(period_labels(log, period))
        for label in labels:
            if label not in present:
                raise UsageError(f"--values: no journey starts in {label!r}",
                                 "Periods: " + ", ".join(sorted(present)))
        chosen = by_period(log, period, labels)
    for side in chosen:
        if log.label:  # "segment = vip, 2024-Q3"
            side.label = f"{log.label}, {side.label}"
    return chosen


def discover_part(part: Log, whole: JourneyMap) -> JourneyMap:
    """Discover ``part`` (a segment, a period: a slice of ``whole``'s log) as ``whole`` was:
    with its goals (or outcome), hand-off role, still-active span and gap count, so that
    their rates compare; as ``cjm discover --by`` and the sections of a report do."""
    from cjm.journeys import discover

    goals = whole.goals
    return discover(part, goals=goals.stages, use_outcome=goals.source == "outcome",
                    infer_goals=False, handoff_column=whole.handoff_role,
                    still_active=whole.still_active_seconds, gap_min_count=whole.gap_min_count)
