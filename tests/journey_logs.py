"""Small hand-made journey logs for the discover tests, written as CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

BASE = datetime(2024, 1, 1, 9, 0, 0)


def write_journeys(path: Path, journeys: dict[str, list], extra: dict[str, dict] | None = None,
                   step: timedelta = timedelta(minutes=10)) -> Path:
    """Write ``{journey id: [stage, …]}`` as a CSV, one event every ``step`` per journey.

    A stage may be a tuple (stage, channel). ``extra`` adds columns per journey (e.g. an
    outcome). Journeys start one day apart, in the order given.
    """
    extra = extra or {}
    columns = sorted({k for values in extra.values() for k in values})
    with_channel = any(isinstance(s, tuple) for stages in journeys.values() for s in stages)
    header = ["case_id", "stage", "timestamp"] + (["channel"] if with_channel else []) + columns
    lines = [",".join(header)]
    for n, (case, stages) in enumerate(journeys.items()):
        for i, item in enumerate(stages):
            stage, channel = item if isinstance(item, tuple) else (item, "")
            ts = BASE + timedelta(days=n) + i * step
            row = [case, stage, ts.strftime("%Y-%m-%dT%H:%M:%SZ")]
            if with_channel:
                row.append(channel)
            row += [str(extra.get(case, {}).get(c, "")) for c in columns]
            lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
