"""Two sets of journeys side by side: what changed, and whether the change is more than noise.

Shares are compared with a two-sided two-proportion z-test; the p-values of a family of
tests (all transitions, all stages) are adjusted with Holm's method, and only counts of at
least ``min_count`` are tested at all, so that rare noise is not reported as change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cjm.journeys import JourneyMap
from cjm.mapgraph import (
    AUTO_EDGES,
    AUTO_MAX_STAGES,
    AUTO_PATHS,
    AUTO_STAGES,
    CONFIGURED,
    END,
    START,
    EdgeBudget,
    MapEdge,
    MapGraph,
    MapNode,
    edge_budget,
    kept_stages,
    simplified_graph,
    trim,
)
from cjm.privacy import suppress_comparison, whole

MIN_COUNT = 20
ALPHA = 0.05


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the z-test that x1/n1 and x2/n2 are the same share."""
    if not n1 or not n2:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: each p-value times its rank's multiplier, kept monotone."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class ShareChange:
    """A share in A and in B (a transition's share of its stage, a stage's dead-end rate)."""

    key: tuple[str, ...]  # (from, to) for a transition, (stage,) for a stage, () overall
    count_a: int
    total_a: int
    count_b: int
    total_b: int
    p_value: float | None  # None when the counts are too small to test
    adjusted_p: float | None
    median_a: float | None = None  # waits, for transitions (seconds)
    median_b: float | None = None

    @property
    def share_a(self) -> float:
        return self.count_a / self.total_a if self.total_a else 0.0

    @property
    def share_b(self) -> float:
        return self.count_b / self.total_b if self.total_b else 0.0

    @property
    def change(self) -> float:
        return self.share_b - self.share_a

    def significant(self, alpha: float = ALPHA) -> bool:
        return self.adjusted_p is not None and self.adjusted_p < alpha


@dataclass
class Comparison:
    label_a: str
    label_b: str
    a: JourneyMap
    b: JourneyMap
    transitions: list[ShareChange]  # every transition of either, most significant first
    dead_ends: list[ShareChange]  # per stage: dead-ends among the journeys reaching it
    goal_rate: ShareChange | None
    new_paths: list[tuple[tuple[str, ...], int]]  # in B (min_count journeys), never in A
    vanished_paths: list[tuple[tuple[str, ...], int]]  # in A, never in B
    min_count: int
    alpha: float

    @property
    def new_transitions(self) -> list[ShareChange]:
        return [t for t in self.transitions if not t.count_a and t.count_b >= self.min_count]

    @property
    def vanished_transitions(self) -> list[ShareChange]:
        return [t for t in self.transitions if t.count_a >= self.min_count and not t.count_b]

    @property
    def significant(self) -> list[ShareChange]:
        return [t for t in self.transitions if t.significant(self.alpha)]


def _tested(changes: list[ShareChange], min_count: int) -> list[ShareChange]:
    """The same changes with p-values for those with enough counts, Holm-adjusted together."""
    testable = [i for i, c in enumerate(changes)
                if c.count_a + c.count_b >= min_count and c.total_a and c.total_b]
    raw = [two_proportion_p(changes[i].count_a, changes[i].total_a, changes[i].count_b,
                            changes[i].total_b) for i in testable]
    result = list(changes)
    for i, p, q in zip(testable, raw, holm(raw), strict=True):
        c = changes[i]
        result[i] = ShareChange(c.key, c.count_a, c.total_a, c.count_b, c.total_b, p, q,
                                c.median_a, c.median_b)
    return sorted(result, key=lambda c: (c.adjusted_p is None, c.adjusted_p or 0.0,
                                         -abs(c.change), c.key))


def compare(a: JourneyMap, b: JourneyMap, label_a: str = "A", label_b: str = "B", *,
            min_count: int = MIN_COUNT, alpha: float = ALPHA) -> Comparison:
    """Compare two journey maps (discover both with the same goals).

    Compared on every journey; with ``read_log(min_journeys=K)``, what fewer than K journeys
    share on either side is left out of the comparison returned (see cjm.privacy)."""
    a, b = whole(a), whole(b)
    events_a = {s.name: s.events for s in a.stages}
    events_b = {s.name: s.events for s in b.stages}
    ta = {(t.source, t.target): t for t in a.transitions}
    tb = {(t.source, t.target): t for t in b.transitions}
    transitions = [
        ShareChange(key, ta[key].count if key in ta else 0, events_a.get(key[0], 0),
                    tb[key].count if key in tb else 0, events_b.get(key[0], 0), None, None,
                    ta[key].median_seconds if key in ta else None,
                    tb[key].median_seconds if key in tb else None)
        for key in sorted(set(ta) | set(tb))
    ]
    reach_a = {s.name: s.journeys for s in a.stages}
    reach_b = {s.name: s.journeys for s in b.stages}
    dead_a = {d.stage: d.journeys for d in a.dead_ends}
    dead_b = {d.stage: d.journeys for d in b.dead_ends}
    dead_ends = [
        ShareChange((stage,), dead_a.get(stage, 0), reach_a.get(stage, 0), dead_b.get(stage, 0),
                    reach_b.get(stage, 0), None, None)
        for stage in sorted(set(dead_a) | set(dead_b))
    ]
    goal = None
    if a.goal_rate is not None and b.goal_rate is not None:
        goal = ShareChange((), a.goal_journeys, a.journeys, b.goal_journeys, b.journeys,
                           two_proportion_p(a.goal_journeys, a.journeys, b.goal_journeys,
                                            b.journeys), None)
        goal = ShareChange((), goal.count_a, goal.total_a, goal.count_b, goal.total_b,
                           goal.p_value, goal.p_value)
    paths_a = {p.stages: p.journeys for p in a.paths}
    paths_b = {p.stages: p.journeys for p in b.paths}
    return suppress_comparison(Comparison(
        label_a, label_b, a, b, _tested(transitions, min_count), _tested(dead_ends, min_count),
        goal,
        sorted(((p, n) for p, n in paths_b.items() if p not in paths_a and n >= min_count),
               key=lambda x: (-x[1], x[0])),
        sorted(((p, n) for p, n in paths_a.items() if p not in paths_b and n >= min_count),
               key=lambda x: (-x[1], x[0])),
        min_count, alpha,
    ))


def compare_map(comparison: Comparison, *, stages: float | None = None,
                paths: float | None = None, min_count: int = 1,
                max_edges: EdgeBudget = CONFIGURED) -> MapGraph:
    """A map of both sets of journeys: width by their traffic together, colour by the change.

    ``stages``, ``paths``, ``min_count`` and ``max_edges`` simplify it as build_map does,
    except that ``stages`` hides the other stages with their transitions (the shares compared
    are those of the whole journeys); every significant change is kept.
    """
    a, b = comparison.a, comparison.b
    max_edges = edge_budget(max_edges, a)
    totals: dict[str, list[int]] = {}
    for jm, i in ((a, 0), (b, 1)):
        for s in jm.stages:
            totals.setdefault(s.name, [0, 0, 0, 0, 0, 0])
            totals[s.name][i] += s.events
            totals[s.name][2 + i] += s.journeys
            totals[s.name][4] += s.starts
            totals[s.name][5] += s.ends
    goals = set(a.goals.stages)
    nodes = [MapNode(name, v[0] + v[1], v[2] + v[3], name in goals, 0.0, False)
             for name, v in sorted(totals.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0]))]
    kept = set(kept_stages(nodes, stages) if stages is not None else totals) | goals
    nodes = [n for n in nodes if n.name in kept]
    edges = [MapEdge(t.key[0], t.key[1], t.count_a + t.count_b, None, 0.0, "", t.change,
                     t.significant(comparison.alpha)) for t in comparison.transitions
             if t.key[0] in kept and t.key[1] in kept]
    least = a.log.min_journeys  # starts and ends count journeys: --min-journeys applies
    edges += [MapEdge(START, n.name, totals[n.name][4], None, 0.0) for n in nodes
              if totals[n.name][4] and totals[n.name][4] >= least]
    edges += [MapEdge(n.name, END, totals[n.name][5], None, 0.0) for n in nodes
              if totals[n.name][5] and totals[n.name][5] >= least]
    if paths is None:
        paths = AUTO_PATHS if len(comparison.transitions) > AUTO_EDGES else 1.0
    graph = simplified_graph(nodes, edges, paths, min_count, max_edges,
                             {(e.source, e.target) for e in edges if e.significant},
                             hidden_stages=sorted(set(totals) - kept))
    if len(nodes) > AUTO_STAGES:  # as build_map does: a drawing of them all never finishes
        graph = trim(graph, AUTO_MAX_STAGES, len(graph.edges))
        graph.capped_from = len(nodes)
    return graph
