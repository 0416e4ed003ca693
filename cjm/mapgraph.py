"""The map to draw: which stages and transitions to show, and what was hidden.

Simplification works as Disco's sliders do: ``stages`` keeps the most frequent stages that
cover that share of events (the journeys are re-read without the others, so A → x → B becomes
A → B); ``paths`` and ``min_count`` drop the weakest transitions, after which the widest
route from the start to each stage, and from each stage to the end, is put back so that no
kept stage is left stranded.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from cjm.journeys import JourneyMap, Stage
from cjm.privacy import kept as shared_by_enough

START, END = "\x00start", "\x00end"  # cannot clash with a stage name from a text column
DEAD_END_NOTE = 0.05  # a stage shows its dead-end share when at least this many journeys stop
DEAD_END_MARK = 0.2  # and is drawn as a dead-end stage from this share on
AUTO_EDGES = 60  # a map with more transitions than this is simplified unless --paths is given
AUTO_PATHS = 0.9
AUTO_STAGES = 100  # a log with more stages than this is drawn with its most frequent ones
AUTO_MAX_STAGES = 60
LEAST_PATHS = 0.3  # max_edges lowers --paths no further than this


@dataclass(frozen=True)
class MapNode:
    name: str
    events: int
    journeys: int
    goal: bool
    dead_end_share: float  # of the journeys reaching it that dead-end there
    dead_end: bool
    status: str = ""  # "deviation": not in the design; "unused": designed, never seen


@dataclass(frozen=True)
class MapEdge:
    source: str  # START for start edges
    target: str  # END for end edges
    count: int
    median_seconds: float | None
    handoff_share: float
    status: str = ""  # "deviation": the design does not allow it; "unused": never taken
    change: float | None = None  # on a comparison map: the change of its share, B minus A
    significant: bool = False  # that change is more than noise


@dataclass
class MapGraph:
    nodes: list[MapNode]
    edges: list[MapEdge]
    hidden_stages: list[str] = field(default_factory=list)
    hidden_edges: int = 0
    restored_edges: int = 0
    handoff_column: str | None = None
    show_all: str = "--paths 100%"  # the flags that would bring every hidden edge back
    capped_from: int | None = None  # the log's stage count, when too many to draw them all

    def hidden_summary(self) -> str | None:
        parts = []
        if self.hidden_stages:
            parts.append(f"{len(self.hidden_stages):,} stages hidden by --stages")
        if self.hidden_edges:
            parts.append(f"{self.hidden_edges} of {self.hidden_edges + len(self.edges)} "
                         f"map edges hidden ({self.show_all} shows them all)")
        if self.restored_edges:
            parts.append(f"{self.restored_edges} weaker transitions kept to connect stages")
        return "; ".join(parts) or None


def _kept_stages(stages: list[Stage], share: float) -> list[str]:
    total = sum(s.events for s in stages)
    kept, covered = [], 0
    for stage in stages:  # most frequent first
        if kept and covered >= share * total:
            break
        kept.append(stage.name)
        covered += stage.events
    return kept


def build_map(journey_map: JourneyMap, *, stages: float | None = None,
              paths: float | None = None,
              min_count: int = 1, max_stages: int | None = None,
              max_edges: int | None = None) -> MapGraph:
    """The graph to draw for ``journey_map``; ``stages`` and ``paths`` are shares (0-1].

    ``stages=None`` keeps every stage of a log with up to 100 of them, and the 60 most
    frequent (and the goals) of a larger one, such as a log of page URLs, whose full drawing
    would never finish. ``paths=None`` keeps every transition of a map with up to 60 of them
    and the strongest ones carrying 90% of the traffic (plus those that connect stages) of a
    larger map.
    ``max_stages`` caps the stages shown (the most frequent, and the goals); ``max_edges``
    lowers ``paths`` in steps of 10% until no more edges are shown than that, as far as
    keeping every stage connected allows.
    """
    capped = stages is None and len(journey_map.stages) > AUTO_STAGES
    if capped:
        max_stages = min(max_stages or AUTO_MAX_STAGES, AUTO_MAX_STAGES)
    kept = _kept_stages(journey_map.stages, 1.0 if stages is None else stages)[:max_stages]
    kept += [g for g in journey_map.goals.stages if g not in kept]  # the goal always shows
    hidden = sorted(set(s.name for s in journey_map.stages) - set(kept))
    if hidden:
        log = journey_map.log
        engine = log.engine("_map", buckets=journey_map.buckets)
        engine.prepare(journey_map.handoff_role, None, stages=kept)
        stage_rows = shared_by_enough([Stage(*row) for row in engine.stages()],
                                      lambda s: s.journeys, log)
        names = {s.name for s in stage_rows}
        edges = [MapEdge(a, b, n, float(m), h / n)
                 for a, b, n, j, m, _, _, h in engine.transitions()
                 if j >= log.min_journeys and a in names and b in names]
    else:
        stage_rows = journey_map.stages
        edges = [MapEdge(t.source, t.target, t.count, t.median_seconds, t.handoffs / t.count)
                 for t in journey_map.transitions]
    transitions = len(edges)
    least = journey_map.log.min_journeys  # starts and ends count journeys
    edges += [MapEdge(START, s.name, s.starts, None, 0.0) for s in stage_rows
              if s.starts >= least]
    edges += [MapEdge(s.name, END, s.ends, None, 0.0) for s in stage_rows if s.ends >= least]
    if paths is None:
        paths = AUTO_PATHS if transitions > AUTO_EDGES else 1.0
    shown, restored = _fit_edges(edges, [s.name for s in stage_rows], paths, min_count,
                                 max_edges)

    goals = set(journey_map.goals.stages)
    dead = {d.stage: d.share_of_reaching for d in journey_map.dead_ends}
    nodes = [
        MapNode(s.name, s.events, s.journeys, s.name in goals, dead.get(s.name, 0.0),
                dead.get(s.name, 0.0) >= DEAD_END_MARK)
        for s in sorted(stage_rows, key=lambda s: (-s.events, s.name))
    ]
    shown.sort(key=lambda e: (-e.count, e.source, e.target))
    return MapGraph(nodes, shown, hidden, len(edges) - len(shown), restored,
                    journey_map.handoff_column,
                    "--paths 100%" + (" --min-count 1" if min_count > 1 else ""),
                    len(journey_map.stages) if capped else None)


def _fit_edges(edges: list[MapEdge], stages: list[str], paths: float, min_count: int,
               max_edges: int | None) -> tuple[list[MapEdge], int]:
    """simplify_edges, with ``paths`` lowered in 10% steps until at most ``max_edges`` show."""
    shown, restored = simplify_edges(edges, stages, paths, min_count)
    while max_edges is not None and len(shown) > max_edges and paths > LEAST_PATHS:
        paths = round(min(paths, 1.0) - 0.1, 2)
        shown, restored = simplify_edges(edges, stages, paths, min_count)
    return shown, restored


def trim(graph: MapGraph, max_stages: int, max_edges: int) -> MapGraph:
    """A smaller drawing of a finished map (a comparison or a check): its ``max_stages``
    largest stages and the goals, and the strongest edges among them, at most ``max_edges``
    as far as keeping them connected allows."""
    nodes = [n for i, n in enumerate(graph.nodes) if i < max_stages or n.goal]
    names = {n.name for n in nodes} | {START, END}
    edges = [e for e in graph.edges if e.source in names and e.target in names]
    shown, restored = _fit_edges(edges, [n.name for n in nodes], 1.0, 1, max_edges)
    shown.sort(key=lambda e: (-e.count, e.source, e.target))
    dropped = [n.name for n in graph.nodes if n.name not in names]
    return MapGraph(nodes, shown, graph.hidden_stages + dropped,
                    graph.hidden_edges + len(graph.edges) - len(shown), restored,
                    graph.handoff_column, graph.show_all)


def simplify_edges(edges: list[MapEdge], stages: list[str], paths: float,
                   min_count: int) -> tuple[list[MapEdge], int]:
    """The edges to keep, and how many weaker ones were put back to keep stages connected."""
    if paths >= 1.0 and min_count <= 1:
        return list(edges), 0
    ranked = sorted(edges, key=lambda e: (-e.count, e.source, e.target))
    total = sum(e.count for e in ranked)
    keep: set[tuple[str, str]] = set()
    covered = 0
    for edge in ranked:
        if edge.count < min_count or (keep and covered >= paths * total):
            break
        keep.add((edge.source, edge.target))
        covered += edge.count
    before = len(keep)
    by_key = {(e.source, e.target): e for e in edges}
    for forward, root in ((True, START), (False, END)):
        tree = _widest(edges, root, forward)
        for stage in stages:
            node = stage
            while node in tree:  # walk the widest route back to the root
                parent = tree[node]
                # From the start the edge runs parent -> node; towards the end, node -> parent.
                keep.add((parent, node) if forward else (node, parent))
                node = parent
    return [by_key[k] for k in keep], len(keep) - before


def _widest(edges: list[MapEdge], root: str, forward: bool) -> dict[str, str]:
    """The widest-path tree from ``root`` (maximising the weakest edge); node -> parent."""
    out: dict[str, list[tuple[int, str]]] = {}
    for e in edges:
        a, b = (e.source, e.target) if forward else (e.target, e.source)
        out.setdefault(a, []).append((e.count, b))
    width = {root: float("inf")}
    parent: dict[str, str] = {}
    heap = [(-width[root], root)]
    while heap:
        w, node = heapq.heappop(heap)
        if -w < width.get(node, 0):
            continue
        for count, nxt in sorted(out.get(node, []), key=lambda x: (-x[0], x[1])):
            cand = min(-w, count)
            if cand > width.get(nxt, 0):
                width[nxt] = cand
                parent[nxt] = node
                heapq.heappush(heap, (-cand, nxt))
    return parent
