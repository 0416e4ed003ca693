"""CI gates: thresholds on a JourneyMap that fail a pipeline when they are breached."""

from __future__ import annotations

from cjm.errors import ThresholdError
from cjm.journeys import JourneyMap
from cjm.units import format_seconds


def check_gates(
    journey_map: JourneyMap,
    *,
    dead_end_rate: float | None = None,
    median_duration: float | None = None,
    p90_duration: float | None = None,
) -> None:
    """Raise ThresholdError, with a one-line reason, at the first threshold breached.

    ``dead_end_rate`` is a share (0-1); durations are seconds.
    """
    if dead_end_rate is not None:
        if journey_map.dead_end_rate is None:
            raise ThresholdError("--fail-on-dead-end-rate: no goals, so no dead-end rate",
                                 "Pass --goal STAGE or --outcome COLUMN.")
        if journey_map.dead_end_rate > dead_end_rate:
            raise ThresholdError(f"dead-end rate {journey_map.dead_end_rate:.1%} is above "
                                 f"{dead_end_rate:.1%} (--fail-on-dead-end-rate)")
    for name, value, limit in (("median", journey_map.duration_median, median_duration),
                               ("p90", journey_map.duration_p90, p90_duration)):
        if limit is not None and value > limit:
            raise ThresholdError(f"{name} journey duration {format_seconds(value)} is above "
                                 f"{format_seconds(limit)} (--fail-on-{name}-duration)")


def check_conformance_gates(result, *, min_fitness: float | None = None,
                            max_deviation_rate: float | None = None) -> None:
    """Raise ThresholdError when fitness is below, or the deviation rate above, its limit."""
    if min_fitness is not None and result.fitness < min_fitness:
        raise ThresholdError(f"fitness {result.fitness:.3f} is below {min_fitness:.3f} "
                             "(--min-fitness)")
    if max_deviation_rate is not None and result.deviation_rate > max_deviation_rate:
        raise ThresholdError(f"{result.deviation_rate:.1%} of journeys deviate from the design, "
                             f"above {max_deviation_rate:.1%} (--max-deviation-rate)")
