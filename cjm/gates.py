"""CI gates: thresholds on a JourneyMap that fail a pipeline when they are breached.

A breach is a ThresholdError (exit 1). A gate that cannot be evaluated (a dead-end rate
without goals, or without a journey that has ended) is a UsageError (exit 2): nothing was
breached, the gate was asked of a log that cannot answer it.
"""

from __future__ import annotations

from collections.abc import Iterable

from cjm.errors import CjmError, DataError, ThresholdError, UsageError
from cjm.journeys import JourneyMap
from cjm.units import format_counted, format_seconds


def check_gates(
    journey_map: JourneyMap,
    *,
    dead_end_rate: float | None = None,
    median_duration: float | None = None,
    p90_duration: float | None = None,
) -> None:
    """Raise ThresholdError, with a one-line reason, at the first threshold breached, and
    UsageError when the dead-end rate asked for does not exist.

    ``dead_end_rate`` is a share (0-1); durations are seconds.
    """
    if dead_end_rate is not None:
        rate = journey_map.dead_end_rate
        if rate is None:
            raise _no_dead_end_rate(journey_map)
        if rate > dead_end_rate:
            raise ThresholdError(f"dead-end rate {rate:.1%} is above "
                                 f"{dead_end_rate:.1%} (--fail-on-dead-end-rate)")
    for name, value, limit in (("median", journey_map.duration_median, median_duration),
                               ("p90", journey_map.duration_p90, p90_duration)):
        if limit is not None and value > limit:
            raise ThresholdError(f"{name} journey duration {format_seconds(value)} is above "
                                 f"{format_seconds(limit)} (--fail-on-{name}-duration)")


def check_each(maps: Iterable[tuple[str | None, JourneyMap]], **limits: float | None) -> None:
    """check_gates on the whole log and on each slice (label, map); an error names its slice."""
    for label, journey_map in maps:
        try:
            check_gates(journey_map, **limits)
        except CjmError as exc:
            if label:  # in CI, say which segment or period broke (or cannot meet) the gate
                exc.message = f"{label}: {exc.message}"
            raise


def check_strict(log) -> None:
    """--strict: raise DataError when any row was rejected or a file ends early (cut short)."""
    cut = [report.path for report in log.files if report.details.get("truncated")]
    if cut:
        raise DataError(f"{cut[0]}: the file ends early (truncated; --strict)",
                        "Check that the download or copy is complete (gzip -t FILE).")
    if log.rejected:
        raise DataError(f"{format_counted(log.rejected, 'rows')} rejected (--strict)",
                        "--rejects FILE.csv writes each with its line and reason.")


def gate_notes(journey_map: JourneyMap, dead_end_rate: float | None) -> list[str]:
    """What a reader of a CI log should know about the goals a dead-end gate counts with."""
    goals = journey_map.goals
    if dead_end_rate is None or goals.source != "inferred":
        return []
    return [f"--fail-on-dead-end-rate counts dead-ends against inferred goals: "
            f"{', '.join(goals.stages)} (--goal STAGE sets them)"]


def _no_dead_end_rate(journey_map: JourneyMap) -> UsageError:
    if journey_map.goals.source == "none":
        return UsageError("--fail-on-dead-end-rate: no goal stage given or found, so there is "
                          "no dead-end rate to check", "Pass --goal STAGE or --outcome COLUMN.")
    return UsageError(f"--fail-on-dead-end-rate: every journey ({journey_map.journeys:,}) is "
                      "still active, so none has ended to be a dead-end",
                      "Shorten --still-active, or check a log with older journeys.")


def check_conformance_gates(result, *, min_fitness: float | None = None,
                            max_deviation_rate: float | None = None) -> None:
    """Raise ThresholdError when fitness is below, or the deviation rate above, its limit."""
    if min_fitness is not None and result.fitness < min_fitness:
        raise ThresholdError(f"fitness {result.fitness:.3f} is below {min_fitness:.3f} "
                             "(--min-fitness)")
    if max_deviation_rate is not None and result.deviation_rate > max_deviation_rate:
        raise ThresholdError(f"{result.deviation_rate:.1%} of journeys deviate from the design, "
                             f"above {max_deviation_rate:.1%} (--max-deviation-rate)")
