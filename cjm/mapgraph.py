"""The map to draw: which stages and transitions to show, and what was hidden.

Simplification works as Disco's sliders do: ``stages`` keeps the most frequent stages that
cover that share of events (the journeys are re-read without the others, so A → x → B becomes
A → B); ``paths`` and ``min_count`` drop the weakest transitions, after which the widest
route from the start to each stage, and from each stage to the end, is put back so that no
kept stage is left stranded. Each goal keeps its strongest incoming transitions carrying
``GOAL_ROUTE`` of the traffic that reaches it, so that the map still shows how journeys get
there. Last, an edge budget (``max_edges``) keeps a dense map, such as a clickstream where
every page links to every other, readable: the goals' routes, the strongest transitions, and
the strongest edges that keep every stage reachable from the start and able to reach the end.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Literal

from cjm.engine.protocol import Log
from cjm.errors import UsageError
from cjm.journeys import JourneyMap, Stage
from cjm.privacy import kept as shared_by_enough
from cjm.units import format_counted, format_share

START, END = "\x00start", "\x00end"  # cannot clash with a stage name from a text column
DEAD_END_NOTE = 0.05  # a stage shows its dead-end share when at least this many journeys stop
DEAD_END_MARK = 0.2  # and is drawn as a dead-end stage from this share on
AUTO_EDGES = 60  # a map with more transitions than this is simplified unless --paths is given
AUTO_PATHS = 0.9
AUTO_STAGES = 100  # a log with more stages than this is drawn with its most frequent ones
AUTO_MAX_STAGES = 60
GOAL_ROUTE = 0.8  # a goal keeps the strongest incoming edges carrying this share of its traffic
MAX_EDGES = 80  # the edge budget of a map (--max-edges); beyond it a map is a hairball
CONFIGURED = "config"  # max_edges: that of the log's cjm.toml, else MAX_EDGES
EdgeBudget = int | Literal["config"] | None  # the max_edges of a map: 0 or None for no limit


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
    hidden_traffic: float = 0.0  # the share of the traffic (edge counts) on hidden edges
    goal_hidden: dict[str, float] = field(default_factory=dict)  # of each goal's incoming
    budget: int | None = None  # the edge budget, when it hid edges

    def hidden_summary(self) -> str | None:
        parts = []
        if self.hidden_stages:
            parts.append(f"{format_counted(len(self.hidden_stages), 'stages')} hidden by --stages")
        if self.hidden_edges:
            parts.append(f"{self.hidden_edges:,} of {self.hidden_edges + len(self.edges):,} "
                         f"map edges hidden, {format_share(self.hidden_traffic)} of the traffic "
                         f"({self.more_flags()})")
        if self.restored_edges:
            parts.append(f"{format_counted(self.restored_edges, 'weaker transitions')} kept to "
                         "connect stages")
        return "; ".join(parts + self.goal_notes()) or None

    def more_flags(self) -> str:
        """The flags that show more of the map, and all of it."""
        more = ""
        if self.budget:
            over = (", exceeded to keep every stage connected"
                    if len(self.edges) > self.budget else "")
            # Double what is drawn: an exceeded budget, doubled, may still show no more.
            more = (f"a budget of {self.budget} edges{over}: "
                    f"--max-edges {2 * max(self.budget, len(self.edges))} shows more, ")
        return f"{more}{self.show_all} shows them all"

    def goal_notes(self) -> list[str]:
        """What share of the traffic into each goal is hidden, once anything is."""
        if not self.hidden_edges:
            return []
        return [f"goal {goal}: {format_share(share)} of its incoming traffic hidden"
                for goal, share in self.goal_hidden.items()]


def kept_stages(stages: list[Stage] | list[MapNode], share: float) -> list[str]:
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
              max_edges: EdgeBudget = CONFIGURED, log: Log | None = None,
              recounts: dict | None = None) -> MapGraph:
    """The graph to draw for ``journey_map``; ``stages`` and ``paths`` are shares (0-1].

    ``stages=None`` keeps every stage of a log with up to 100 of them, and the 60 most
    frequent (and the goals) of a larger one, such as a log of page URLs, whose full drawing
    would never finish. ``paths=None`` keeps every transition of a map with up to 60 of them
    and the strongest ones carrying 90% of the traffic (plus those that connect stages) of a
    larger map.
    Each goal keeps its strongest incoming edges carrying ``GOAL_ROUTE`` (80%) of its traffic.
    ``max_stages`` caps the stages shown (the most frequent, and the goals); ``max_edges``
    (0 or None: no budget; default: ``max_edges`` of the log's cjm.toml, else 80) then caps
    the edges, see ``fit_budget``. A map that leaves stages out counts the journeys again
    over the stages it keeps: that needs ``log``, the log ``journey_map`` was discovered from.
    ``recounts``, a dict the caller keeps for many maps of one log, holds those counts, so
    that maps keeping the same stages (at other ``paths``) count them once.
    """
    max_edges = edge_budget(max_edges, journey_map)
    capped = stages is None and len(journey_map.stages) > AUTO_STAGES
    if capped:
        max_stages = min(max_stages or AUTO_MAX_STAGES, AUTO_MAX_STAGES)
    kept = kept_stages(journey_map.stages, 1.0 if stages is None else stages)[:max_stages]
    kept += [g for g in journey_map.goals.stages if g not in kept]  # the goal always shows
    hidden = sorted(set(s.name for s in journey_map.stages) - set(kept))
    if hidden:
        if log is None:
            raise UsageError("build_map: a map without some stages counts the journeys again "
                             "over those it keeps, from the log",
                             "Pass log=, the log the journey map was discovered from.")
        recounts = {} if recounts is None else recounts
        key = (id(log), tuple(kept), journey_map.handoff_role)
        if key not in recounts:
            recounts[key] = _recount(journey_map, kept, log)
        stage_rows, edges = recounts[key][0], list(recounts[key][1])
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
    names = [s.name for s in stage_rows]
    goals = [g for g in journey_map.goals.stages if g in names]
    dead = {d.stage: d.share_of_reaching for d in journey_map.dead_ends}
    nodes = [
        MapNode(s.name, s.events, s.journeys, s.name in goals, dead.get(s.name, 0.0),
                dead.get(s.name, 0.0) >= DEAD_END_MARK)
        for s in sorted(stage_rows, key=lambda s: (-s.events, s.name))
    ]
    return simplified_graph(nodes, edges, paths, min_count, max_edges, hidden_stages=hidden,
                            handoff_column=journey_map.handoff_column,
                            capped_from=len(journey_map.stages) if capped else None)


def _recount(journey_map: JourneyMap, kept: list[str], log: Log):
    """The stages and transitions of the journeys with every stage but ``kept`` left out."""
    engine = log.engine("_map", buckets=journey_map.buckets)
    engine.prepare(journey_map.handoff_role, None, stages=kept)
    stage_rows = shared_by_enough(engine.stages(), lambda s: s.journeys, log)
    names = {s.name for s in stage_rows}
    edges = [MapEdge(m.source, m.target, m.count, m.median_seconds, m.handoffs / m.count)
             for m in engine.transitions()
             if m.journeys >= log.min_journeys and m.source in names and m.target in names]
    return stage_rows, edges


def edge_budget(max_edges: EdgeBudget, journey_map: JourneyMap) -> int | None:
    """``max_edges``, or for CONFIGURED that of the config the log was read with, as the
    CLI's --max-edges defaults to it."""
    if max_edges == CONFIGURED:
        return journey_map.log.config.get("max_edges", MAX_EDGES)
    return max_edges


def simplified_graph(nodes: list[MapNode], edges: list[MapEdge], paths: float,
                     min_count: int, max_edges: int | None,
                     must: set[tuple[str, str]] | None = None, **fields) -> MapGraph:
    """The map of ``nodes`` with ``edges`` simplified by ``paths`` and ``min_count``, then
    cut to the budget ``max_edges``, keeping the goals' routes and ``must`` throughout;
    ``fields`` are MapGraph's (hidden_stages, handoff_column, capped_from)."""
    stages = [n.name for n in nodes]
    goals = [n.name for n in nodes if n.goal]
    must = goal_routes(edges, goals) | (must or set())
    simplified, restored = simplify_edges(edges, stages, paths, min_count, must)
    shown, repaired = fit_budget(simplified, stages, max_edges, must)
    budget = max_edges if len(shown) < len(simplified) else None
    shown.sort(key=lambda e: (-e.count, e.source, e.target))
    show_all = ("--paths 100%" + (" --min-count 1" if min_count > 1 else "")
                + (" --max-edges 0" if budget else ""))
    graph = MapGraph(nodes, shown, hidden_edges=len(edges) - len(shown),
                     restored_edges=repaired if budget else restored, show_all=show_all,
                     budget=budget, **fields)
    return with_hidden_shares(graph, edges, goals)


def with_hidden_shares(graph: MapGraph, edges: list[MapEdge], goals: list[str],
                       earlier: MapGraph | None = None) -> MapGraph:
    """``graph`` with the share of the traffic, and of each goal's incoming traffic, that it
    hides of ``edges`` (and that ``earlier``, the map it was cut from, hid already)."""
    def hidden(of: list[MapEdge], before: float) -> float:
        total = sum(e.count for e in of)
        shown = sum(e.count for e in of if (e.source, e.target) in kept)
        return 1 - (1 - before) * shown / total if total else before

    kept = {(e.source, e.target) for e in graph.edges}
    graph.hidden_traffic = hidden(edges, earlier.hidden_traffic if earlier else 0.0)
    graph.goal_hidden = {goal: hidden(_into(edges, goal), earlier.goal_hidden.get(goal, 0.0)
                                      if earlier else 0.0) for goal in goals}
    return graph


def _into(edges: list[MapEdge], goal: str) -> list[MapEdge]:
    """The edges that reach ``goal``: from other stages and from the start."""
    return [e for e in edges if e.target == goal and e.source != goal]


def goal_routes(edges: list[MapEdge], goals: list[str],
                share: float = GOAL_ROUTE) -> set[tuple[str, str]]:
    """Each goal's strongest incoming edges that together carry ``share`` of its traffic."""
    keep = set()
    for goal in goals:
        incoming = sorted(_into(edges, goal), key=lambda e: (-e.count, e.source))
        total, covered = sum(e.count for e in incoming), 0
        for edge in incoming:
            if covered >= share * total:
                break
            keep.add((edge.source, edge.target))
            covered += edge.count
    return keep


def trim(graph: MapGraph, max_stages: int, max_edges: int) -> MapGraph:
    """A smaller drawing of a finished map (a comparison or a check): its ``max_stages``
    largest stages, the goals and the stages of significant changes (and those that connect
    them), and among them the goals' routes, every significant change and the strongest
    edges, at most ``max_edges`` as far as keeping them connected allows."""
    changed = {n for e in graph.edges if e.significant for n in (e.source, e.target)}
    names = {n.name for i, n in enumerate(graph.nodes)
             if i < max_stages or n.goal or n.name in changed} | {START, END}
    inside = {(e.source, e.target) for e in graph.edges
              if e.source in names and e.target in names}
    # A stage whose every route runs through a dropped one brings back the stages of its route.
    names |= {n for key in _connect(graph.edges, inside, list(names)) for n in key}
    nodes = [n for n in graph.nodes if n.name in names]
    edges = [e for e in graph.edges if e.source in names and e.target in names]
    goals = [n.name for n in nodes if n.goal]
    must = goal_routes(edges, goals) | {(e.source, e.target) for e in edges if e.significant}
    shown, restored = fit_budget(edges, [n.name for n in nodes], max_edges, must)
    shown.sort(key=lambda e: (-e.count, e.source, e.target))
    dropped = [n.name for n in graph.nodes if n.name not in names]
    small = MapGraph(nodes, shown, graph.hidden_stages + dropped,
                     graph.hidden_edges + len(graph.edges) - len(shown), restored,
                     graph.handoff_column, graph.show_all)
    return with_hidden_shares(small, graph.edges, goals, graph)


def fit_budget(edges: list[MapEdge], stages: list[str], max_edges: int | None,
               must: set[tuple[str, str]]) -> tuple[list[MapEdge], int]:
    """At most ``max_edges`` of ``edges`` (a simplified, connected map), and how many of them
    keep stages connected: the ``must`` edges, the strongest transitions between stages, and
    the strongest edges that keep every stage reachable from the start and able to reach the
    end. The budget gives way to ``must`` and to that repair; 0 or None: no budget."""
    if not max_edges or len(edges) <= max_edges:
        return list(edges), 0
    by_key = {(e.source, e.target): e for e in edges}
    must = must & by_key.keys()
    ranked = [k for k, e in sorted(by_key.items(), key=lambda kv: (-kv[1].count, kv[0]))
              if START not in k and END not in k and k not in must]

    out = (_outgoing(edges, True), _outgoing(edges, False))

    def attempt(k: int) -> tuple[set[tuple[str, str]], int]:
        keep = must | set(ranked[:k])
        added = _connect(edges, keep, stages, out)
        return keep | added, len(added)

    # More transitions usually need fewer repair edges: find the most that fit, or else
    # the smallest connected map tried.
    best, low, high = attempt(0), 0, len(ranked)
    fits = len(best[0]) <= max_edges
    while low < high:
        middle = (low + high + 1) // 2
        tried = attempt(middle)
        if len(tried[0]) <= max_edges:
            best, low, fits = tried, middle, True
        else:
            high = middle - 1
            if not fits and len(tried[0]) < len(best[0]):
                best = tried
    return [by_key[k] for k in sorted(best[0])], best[1]


# node -> (minus count, edge, next node) of its edges, strongest first (ties by edge)
Outgoing = dict[str, list[tuple[int, tuple[str, str], str]]]


def _outgoing(edges: list[MapEdge], forward: bool) -> Outgoing:
    out: Outgoing = {}
    for e in edges:
        a, b = (e.source, e.target) if forward else (e.target, e.source)
        out.setdefault(a, []).append((-e.count, (e.source, e.target), b))
    for row in out.values():
        row.sort()
    return out


def _connect(edges: list[MapEdge], keep: set[tuple[str, str]], stages: list[str],
             out: tuple[Outgoing, Outgoing] | None = None) -> set[tuple[str, str]]:
    """The edges to add to ``keep`` so that every stage is reached from the start and reaches
    the end; ``out`` is ``edges`` both ways, when the caller has it already."""
    forward, backward = out or (_outgoing(edges, True), _outgoing(edges, False))
    added = _grow(forward, keep, stages, START, True)
    return added | _grow(backward, keep | added, stages, END, False)


def _grow(out: Outgoing, keep: set[tuple[str, str]], stages: list[str], root: str,
          forward: bool) -> set[tuple[str, str]]:
    """From ``root``, each time the strongest edge out of what ``keep`` reaches, until every
    stage is reached: Prim's widest tree, grown from ``keep``. Each reached node has one
    entry in the heap, its strongest edge not yet tried."""
    kept: dict[str, list[str]] = {}
    for a, b in keep:
        kept.setdefault(a if forward else b, []).append(b if forward else a)
    reached: set[str] = set()
    added: set[tuple[str, str]] = set()
    heap: list[tuple[int, tuple[str, str], str, str, int]] = []
    todo, missing = [root], set(stages)
    while True:
        while todo:
            node = todo.pop()
            if node in reached:
                continue
            reached.add(node)
            missing.discard(node)
            todo += kept.get(node, [])
            if node in out:
                heapq.heappush(heap, (*out[node][0], node, 0))
        if not missing:
            return added
        while heap:
            _, key, nxt, node, i = heapq.heappop(heap)
            if i + 1 < len(out[node]):
                heapq.heappush(heap, (*out[node][i + 1], node, i + 1))
            if nxt not in reached:
                added.add(key)
                todo.append(nxt)
                break
        else:
            return added


def simplify_edges(edges: list[MapEdge], stages: list[str], paths: float,
                   min_count: int, must: set[tuple[str, str]] | None = None,
                   ) -> tuple[list[MapEdge], int]:
    """The edges to keep, and how many weaker ones were put back to keep stages connected.

    ``must`` (the goals' routes, significant changes) is kept whatever ``paths`` says.
    """
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
    keep |= must or set()
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
