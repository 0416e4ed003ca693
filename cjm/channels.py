"""Channels and the cost to serve: which channels each stage uses, how journeys move between
channels, escalations to dearer channels, and what journeys, paths and stages cost.

Costs come from a price per channel (``{"web": 0.1, "phone": 6}``) or, without one, from the
log's cost column. Without prices, escalations follow the usual order of channels by cost
(self-service web and app, then chat, e-mail, phone, store) for the channels it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from cjm.engine.protocol import Log
from cjm.engine.semantics import DECIMAL_LIMIT, decimal_value
from cjm.errors import UsageError
from cjm.privacy import rare_stages

USUAL_ORDER = {"web": 0, "app": 0, "sms": 1, "chat": 1, "email": 2, "e-mail": 2, "phone": 3,
               "store": 4}


def parse_costs(text: str) -> dict[str, float]:
    """``web=0.1,chat=2,phone=6`` as a price per channel."""
    costs = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        try:
            costs[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--channel-cost: cannot read {part!r}",
                             "Write channel=price pairs: web=0.1,chat=2,phone=6") from None
        if not name.strip() or costs[name.strip()] < 0:
            raise UsageError(f"--channel-cost: {part!r} needs a channel and a price of 0 or "
                             "more")
    return costs


@dataclass(frozen=True)
class ChannelReport:
    column: str
    mix: dict[str, list[tuple[str, int]]]  # stage -> (channel, events), most first
    sequences: list[tuple[tuple[str, ...], int]]  # channel sequences with journeys
    escalations: list[tuple[str, str, int]]  # (from, to, transitions) to a dearer channel
    escalation_journeys: int
    costs: dict[str, float] | None  # the prices used, or None for the cost column
    cost_per_journey: dict[str, float] | None  # total, median, mean
    cost_by_stage: list[tuple[str, int, float]]  # stage, events, total cost
    cost_by_path: list[tuple[tuple[str, ...], int, float, float]]  # path, journeys, total, median


def channel_report(log: Log, costs: dict[str, float] | None = None) -> ChannelReport:
    """Channels of ``log`` (its channel role), with costs from ``costs`` (default: the log's
    config, ``channel_cost`` in cjm.toml) or else the cost column."""
    costs = log.config.setting("channel_cost", costs)
    for channel, price in (costs or {}).items():
        try:
            decimal_value(repr(float(price)))
        except ValueError:
            raise UsageError(f"the price of {channel!r} ({price!r}) is too large to add exactly",
                             f"Prices must be below {DECIMAL_LIMIT:,}.") from None
    if "channel" not in log.mapping:
        raise UsageError("the log has no channel column", "Pass --channel COLUMN.")
    engine = log.engine("_channels")
    engine.prepare("channel", None)
    rare, least = rare_stages(log), log.min_journeys  # --min-journeys
    mix: dict[str, list[tuple[str, int]]] = {}
    for row in sorted(engine.channel_mix(), key=lambda r: (r.stage, -r.events, r.channel)):
        if row.stage not in rare:
            mix.setdefault(row.stage, []).append((row.channel, row.events))
    rank = costs or USUAL_ORDER
    escalations = sorted(
        ((h.source, h.target, h.count) for h in engine.handoff_matrix()
         if h.source in rank and h.target in rank and rank[h.target] > rank[h.source]
         and h.journeys >= least),
        key=lambda e: (-e[2], e[0], e[1]))
    escalated = engine.journeys_moving([(a, b) for a, b, _ in escalations])
    per_journey, by_stage, by_path = None, [], []
    if costs or "cost" in log.mapping:
        totals = engine.costs(costs)
        per_journey = {"total": totals.total, "median": totals.median, "mean": totals.mean,
                       "journeys": totals.journeys}
        by_stage = sorted(((c.stage, c.events, c.total) for c in totals.by_stage
                           if c.stage not in rare), key=lambda r: (-r[2], r[0]))
        by_path = sorted(((c.stages, c.journeys, c.total, c.median) for c in totals.by_path
                          if c.journeys >= least), key=lambda r: (-r[2], r[0]))
    return ChannelReport(
        log.mapping.column("channel"), mix,
        [(c.channels, c.journeys) for c in engine.channel_sequences() if c.journeys >= least],
        escalations, escalated,
        costs, per_journey, by_stage, by_path)
