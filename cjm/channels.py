"""Channels and the cost to serve: which channels each stage uses, how journeys move between
channels, escalations to dearer channels, and what journeys, paths and stages cost.

Costs come from a price per channel (``{"web": 0.1, "phone": 6}``) or, without one, from the
log's cost column. Without prices, escalations follow the usual order of channels by cost
(self-service web and app, then chat, e-mail, phone, store) for the channels it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from cjm.errors import UsageError
from cjm.eventlog import EventLog
from cjm.privacy import rare_stages
from cjm.readers.base import sql_name, sql_string

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


def channel_report(log: EventLog, costs: dict[str, float] | None = None) -> ChannelReport:
    """Channels of ``log`` (its channel role), with costs from ``costs`` (default: the log's
    config, ``channel_cost`` in cjm.toml) or else the cost column."""
    costs = log.config.setting("channel_cost", costs)
    if "channel" not in log.mapping:
        raise UsageError("the log has no channel column", "Pass --channel COLUMN.")
    engine = log.engine("_channels")
    engine.prepare("channel", None)
    rare, least = rare_stages(log), log.min_journeys  # --min-journeys
    mix: dict[str, list[tuple[str, int]]] = {}
    for stage, channel, n in sorted(engine.channel_mix(), key=lambda r: (r[0], -r[2], r[1])):
        if stage not in rare:
            mix.setdefault(stage, []).append((channel, n))
    rank = costs or USUAL_ORDER
    escalations = sorted(
        ((a, b, n) for a, b, n, _, journeys in engine.handoff_matrix()
         if a in rank and b in rank and rank[b] > rank[a] and journeys >= least),
        key=lambda e: (-e[2], e[0], e[1]))
    escalated = log.con.execute(
        f"SELECT count(DISTINCT journey) FROM {engine.seq} WHERE next_hand IS NOT NULL AND "
        + (" OR ".join(f"(hand = {sql_string(a)} AND next_hand = {sql_string(b)})"
                       for a, b, _ in escalations) or "false")).fetchall()[0][0]
    cost_sql = None
    if costs:
        cost_sql = f"CASE {sql_name('channel')} " + " ".join(
            f"WHEN {sql_string(c)} THEN {float(p)}" for c, p in sorted(costs.items())) + " END"
    elif "cost" in log.mapping:
        cost_sql = f"try_cast({sql_name('cost')} AS DOUBLE)"
    per_journey, by_stage, by_path = None, [], []
    if cost_sql:
        totals = engine.costs(cost_sql)
        n, total, median, mean = totals["journey"][0]
        per_journey = {"total": float(total or 0), "median": float(median or 0),
                       "mean": float(mean or 0), "journeys": int(n)}
        by_stage = sorted(((s, int(e), float(c or 0)) for s, e, c in totals["stage"]
                           if s not in rare), key=lambda r: (-r[2], r[0]))
        by_path = sorted(((tuple(p), int(j), float(t or 0), float(m or 0))
                          for p, j, t, m in totals["path"] if j >= least),
                         key=lambda r: (-r[2], r[0]))
    return ChannelReport(
        log.mapping.column("channel"), mix,
        [(tuple(s), n) for s, n in engine.channel_sequences() if n >= least], escalations,
        int(escalated),
        costs, per_journey, by_stage, by_path)
