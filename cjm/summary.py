"""What a log holds: counts, the stage frequency table, rejects and warnings (``cjm inspect``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cjm.accounting import LogInfo
from cjm.engine.protocol import Log
from cjm.units import iso

SCHEMA = "cjm.inspect/1"


@dataclass(frozen=True)
class StageCount:
    name: str
    events: int
    journeys: int
    share: float  # of all events


@dataclass(frozen=True)
class LogDescription:
    """A profile of a log, ready for the terminal or JSON."""

    log: LogInfo
    stages: list[StageCount]
    events_per_journey: dict[str, float]
    reject_reasons: list[dict[str, Any]]

    @property
    def span_seconds(self) -> float:
        first, last = self.log.first_timestamp, self.log.last_timestamp
        return (last - first).total_seconds() if first and last else 0.0

    def to_dict(self) -> dict[str, Any]:
        log = self.log
        return {
            "schema": SCHEMA,
            "files": [f.to_dict() for f in log.files],
            "rows": log.rows,
            "events": log.events,
            "rejected": log.rejected,
            "filtered": log.filtered,
            "journeys": log.journeys,
            "stages_count": log.stages,
            "mapping": log.mapping.to_dict(),
            "timestamps": {
                "format": log.timestamp_format.description,
                "timezone_for_naive": log.timezone,
                "first": iso(log.first_timestamp),
                "last": iso(log.last_timestamp),
                "span_seconds": self.span_seconds,
            },
            "journey_gap_seconds": log.journey_gap_seconds,
            "events_per_journey": self.events_per_journey,
            "stages": [
                {"name": s.name, "events": s.events, "journeys": s.journeys,
                 "share": round(s.share, 6)}
                for s in self.stages
            ],
            "rejects": self.reject_reasons,
            "warnings": [w.to_dict() for w in log.warnings],
            "notes": list(log.notes),
        }


def describe(log: Log, examples: int = 3) -> LogDescription:
    """Profile ``log``: stage frequencies, events per journey, rejects by reason."""
    stages = [StageCount(s.stage, s.events, s.journeys, s.events / log.events)
              for s in log.stage_totals()]
    sizes = log.journey_sizes()
    per_journey = {"min": sizes.least, "median": sizes.median, "mean": round(sizes.mean, 6),
                   "max": sizes.most}
    return LogDescription(log.info(), stages, per_journey, log.reject_reasons(examples))
