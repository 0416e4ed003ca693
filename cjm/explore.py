"""The journey explorer: one self-contained HTML page to move through the journey map.

Every drawing is laid out ahead, here, at each slider stop (stage coverage and path coverage
40% to 100% by 10%), in the frequency and the performance view, for the whole log and for
each segment or period: the page shows at a stop exactly what ``cjm discover --stages X
--paths Y`` draws. Identical drawings are stored once. The figures of a clicked stage or
transition, its top paths, where journeys came from and went next, and example journey ids
(withheld when the log is private) are embedded as JSON that a small script, allowed by its
hash in the page's Content-Security-Policy, shows as text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from cjm.design import Design
from cjm.engine.protocol import Log
from cjm.errors import DataError
from cjm.journeys import JourneyMap
from cjm.mapgraph import AUTO_EDGES, AUTO_PATHS, END, START, MapGraph
from cjm.units import format_seconds

STOPS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # of both sliders
VIEWS = ("frequency", "performance")
EXAMPLES = 5  # example journey ids per stage or transition
TOP_PATHS = 5
HANDOFF_DRAWN = 0.5  # to_dot draws an edge as a hand-off from this share on
SCRIPT = (Path(__file__).parent / "render" / "explore.js").read_text(encoding="utf-8")
STYLE = (Path(__file__).parent / "render" / "explore.css").read_text(encoding="utf-8")


@dataclass
class _Drawings:
    """The distinct SVGs and graphs of a page, each stored once."""

    svgs: list[str] = field(default_factory=list)
    graphs: list[dict] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    _svg_index: dict[str, int] = field(default_factory=dict)
    _graph_index: dict[str, int] = field(default_factory=dict)
    _name_index: dict[str, int] = field(default_factory=dict)

    def name(self, stage: str) -> str:
        """The key of a stage, an edge's end, in the page: its index, or start/end."""
        if stage in (START, END):
            return "start" if stage == START else "end"
        if stage not in self._name_index:
            self._name_index[stage] = len(self.names)
            self.names.append(stage)
        return str(self._name_index[stage])

    def svg(self, text: str) -> int:
        if text not in self._svg_index:
            self._svg_index[text] = len(self.svgs)
            self.svgs.append(text)
        return self._svg_index[text]

    def graph(self, graph: MapGraph, checked: MapGraph | None = None) -> int:
        """The index of ``graph`` drawn in each view, and of ``checked`` (its check map
        against the designed journey, drawn as ``cjm check`` draws it) when given."""
        from cjm.render.dot import to_dot

        drawn = [(to_dot(graph, view=view), graph) for view in VIEWS]
        if checked is not None:
            drawn.append((to_dot(checked, view="both"), checked))
        figures = self.figures(graph)
        key = json.dumps([[dot for dot, _ in drawn], figures], sort_keys=True)
        if key not in self._graph_index:
            self._graph_index[key] = len(self.graphs)
            self.graphs.append({"svg": [self.svg(self.draw(dot, g)) for dot, g in drawn],
                                **figures})
        return self._graph_index[key]

    def figures(self, graph: MapGraph) -> dict:
        """What the drawing shows of each stage and transition, and what it hides."""
        return {
            "nodes": {self.name(n.name): [n.events, n.journeys, n.goal, n.dead_end,
                                          round(n.dead_end_share, 6)] for n in graph.nodes},
            "edges": {f"{self.name(e.source)}>{self.name(e.target)}":
                      [e.count, format_seconds(e.median_seconds), round(e.handoff_share, 6)]
                      for e in graph.edges},
            "hidden": graph.hidden_summary() or "",
        }

    def draw(self, dot: str, graph: MapGraph) -> str:
        """The SVG of ``dot``, each stage and transition focusable and keyed for the page."""
        from cjm.render.graphviz import render

        svg = render(dot, "svg").decode("utf-8")
        titles = {_title(n.name): (self.name(n.name), _node_class(n)) for n in graph.nodes}
        titles.update({f"{_title(e.source)}->{_title(e.target)}":
                       (f"{self.name(e.source)}>{self.name(e.target)}",
                        "handoff" if e.handoff_share >= HANDOFF_DRAWN and e.source != START
                        and e.target != END else "") for e in graph.edges})

        def keyed(match: re.Match) -> str:
            key, extra = titles.get(html.unescape(match[3]), (None, ""))
            if key is None or key in ("start", "end"):
                return match[0]
            classes = f"{match[2]} {extra}".strip()
            return (f'<g id="{match[1]}" class="{classes}" tabindex="0" role="button" '
                    f'data-k="{key}">\n<title>{match[3]}</title>')

        return _GROUP.sub(keyed, svg)


_GROUP = re.compile(r'<g id="((?:node|edge)\d+)" class="(node|edge)">\s*<title>(.*?)</title>',
                    re.S)


def _title(stage: str) -> str:
    """How Graphviz names a node in the SVG's titles (cjm.render.dot.node_id, unquoted)."""
    return "start" if stage == START else "end" if stage == END else f"stage:{stage}"


def _node_class(node) -> str:
    return "goal" if node.goal else "dead" if node.dead_end else ""


def explore(log: Log, *, by: str | None = None, period: str | None = None,
            top_values: int | None = None, goals: list[str] | None = None,
            handoff_column: str | None = None, examples: int = EXAMPLES,
            design: Design | None = None, title: str | None = None) -> str:
    """The explorer of ``log`` as one HTML page (text): same log, same bytes.

    ``by``/``period`` add a set of drawings per segment (the ``top_values`` most frequent,
    the rest as 'other') or period; ``examples`` journey ids per stage and transition, none
    when the log is private (``read_log(pseudonymize=True)`` or ``min_journeys`` > 1).
    ``design`` adds a view: the check map against that designed journey at each stop, as
    ``cjm check --design FILE --stages X --paths Y`` draws it.
    """
    from cjm.journeys import discover
    from cjm.segments import by_period, by_segment, discover_part

    drawings = _Drawings()
    jm = discover(log, goals=goals or None, handoff_column=handoff_column)
    parts = [("all journeys", log, jm)]
    if by or period:
        slices = by_segment(log, by, top=top_values) if by else by_period(log, period)
        parts += [(part.label, part, discover_part(part, jm)) for part in slices]
    groups = [_group(label, part, part_map, drawings, 0 if log.private else examples, design)
              for label, part, part_map in parts]
    start = (STOPS.index(1.0), STOPS.index(AUTO_PATHS if len(jm.transitions) > AUTO_EDGES
                                           else 1.0))
    data = {"stops": list(STOPS), "views": list(VIEWS), "names": drawings.names,
            "graphs": drawings.graphs, "groups": groups, "start": start,
            "private": log.private, "examples": examples,
            "design": design.name if design is not None else None,
            "logs": " ".join(Path(f.path).name for f in log.files)}
    return page(title or ", ".join(Path(f.path).name for f in log.files), data, drawings.svgs)


def _group(label: str, part: Log, jm: JourneyMap, drawings: _Drawings, examples: int,
           design: Design | None) -> dict:
    """A group's drawing at each stop, and the context of its stages and transitions."""
    from cjm.conformance import check, check_map
    from cjm.journeys import discover
    from cjm.mapgraph import build_map

    checked = None
    if design is not None:  # the journeys as cjm check discovers them: the design's goals
        checked = check(discover(part, goals=sorted(design.goals), use_outcome=False,
                                 infer_goals=False), design, log=part)

    maps: list[list[int | None]] = []
    failed = ""
    recounts: dict = {}  # each stages stop counts the journeys once, for every paths stop
    for stages in STOPS:
        row: list[int | None] = []
        for paths in STOPS:
            try:
                row.append(drawings.graph(
                    build_map(jm, stages=stages, paths=paths, log=part, recounts=recounts),
                    None if checked is None else
                    check_map(checked, log=part, stages=stages, paths=paths,
                              recounts=recounts)))
            except DataError as exc:  # too large to draw: that stop says so
                row.append(None)
                failed = exc.message
        maps.append(row)
    ids: dict[tuple[str, ...], list[str]] = {}
    if examples:
        engine = part.engine("_explore")
        engine.prepare(None, None)
        ids = engine.path_examples(examples)
    return {"label": label, "journeys": jm.journeys, "maps": maps, "failed": failed,
            "context": _context(jm, drawings, ids, examples)}


def _context(jm: JourneyMap, drawings: _Drawings, ids: dict, examples: int) -> dict:
    """Per stage and transition of the whole map: top paths, next and previous stages,
    transition figures and example journey ids."""
    out: dict[str, dict] = {}

    def entry(through) -> dict:
        paths = [p for p in jm.paths if through(p.stages)]
        chosen: list[str] = []
        for p in paths:
            chosen += ids.get(p.stages, [])[:examples - len(chosen)]
        return {"paths": [[[drawings.name(s) for s in p.stages], p.journeys]
                          for p in paths[:TOP_PATHS]], "examples": chosen}

    for stage in jm.stages:
        key = drawings.name(stage.name)
        out[key] = entry(lambda path, s=stage.name: s in path)
        out[key]["next"] = [[drawings.name(t.target), t.count] for t in jm.transitions
                            if t.source == stage.name]
        out[key]["from"] = [[drawings.name(t.source), t.count] for t in jm.transitions
                            if t.target == stage.name]
    for t in jm.transitions:
        key = f"{drawings.name(t.source)}>{drawings.name(t.target)}"
        pair = (t.source, t.target)
        out[key] = entry(lambda path, pair=pair: any(
            step == pair for step in pairwise(path)))
        out[key]["figures"] = [t.count, t.journeys, format_seconds(t.median_seconds),
                               format_seconds(t.p90_seconds), t.handoffs]
    return out


def script_source() -> str:
    """The Content-Security-Policy source that lets the explorer's script, and no other,
    run: its hash."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()
                                         ).decode() + "'"


def page(title: str, data: dict, svgs: list[str]) -> str:
    """The HTML page: the drawings inline (hidden but the chosen one), the data as JSON, the
    script allowed by its hash."""
    from cjm.render.inline import inline_svg

    h = html.escape

    # Inside a <script> element only "</" could end it early: \u003c keeps the JSON as is.
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True,
                         separators=(",", ":")).replace("<", "\\u003c")
    drawn = "\n".join(f'<div class="drawing" id="d{i}" hidden>'
                      f"{inline_svg(svg, f'd{i}-', title)}</div>" for i, svg in enumerate(svgs))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'; img-src data:; script-src {script_source()}\">",
        '<link rel="icon" href="data:,">',
        f"<title>{h(title)} - journey explorer</title>", f"<style>{STYLE}</style>",
        "</head>", "<body>",
        f"<header><h1>{h(title)}</h1><p>Journey explorer: move the sliders, switch the view, "
        "click a stage or transition (or Tab to it and press Enter).</p></header>",
        '<form id="controls" autocomplete="off">',
        '<label>Stages <input type="range" id="stages" min="0" '
        f'max="{len(STOPS) - 1}" step="1"> <output id="stages-value"></output></label>',
        '<label>Paths <input type="range" id="paths" min="0" '
        f'max="{len(STOPS) - 1}" step="1"> <output id="paths-value"></output></label>',
        '<label>View <select id="view"><option value="0">frequency (transitions)</option>'
        '<option value="1">performance (median wait)</option>'
        + (f'<option value="2">against the design {h(data["design"])} (deviations)</option>'
           if data["design"] else "") + "</select></label>",
        '<label>Journeys <select id="group"></select></label>',
        '<label><input type="checkbox" id="goals"> goals and dead-ends</label>',
        '<label><input type="checkbox" id="handoffs"> hand-offs</label>',
        "</form>",
        '<main><div id="map"><p id="command"></p><p id="hidden"></p>', drawn,
        '<p id="failed" hidden></p></div>',
        '<aside id="panel" aria-live="polite"><p>Click a stage or a transition.</p></aside>',
        "</main>",
        f'<script type="application/json" id="cjm-data">{payload}</script>',
        f"<script>{SCRIPT}</script>", "</body>", "</html>",
    ]) + "\n"
