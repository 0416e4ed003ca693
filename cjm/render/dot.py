"""The journey map as Graphviz DOT text, written by cjm itself so that it is deterministic."""

from __future__ import annotations

import html

from cjm.mapgraph import DEAD_END_MARK, DEAD_END_NOTE, END, START, MapEdge, MapGraph
from cjm.units import format_count as fmt_count
from cjm.units import format_counted, format_seconds, format_share

VIEWS = ("frequency", "performance", "both")
NODE_LABELS = ("journeys", "events")
_BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6")
_GOAL_FILL, _GOAL_LINE = "#c7e9c0", "#238b45"
_DEAD_LINE, _DEAD_TEXT, _DEAD_TEXT_ON_DARK = "#cb181d", "#a50f15", "#ffe0e0"
_HANDOFF = "#e6550d"
_DEVIATION, _DEVIATION_FILL, _UNUSED = "#d7301f", "#fdd49e", "#969696"
_UP, _DOWN, _UNCHANGED = "#66bd63", "#f46d43", "#9e9e9e"
_UP_STRONG, _DOWN_STRONG = "#006837", "#a50026"
_FONT = "Helvetica"


def quote(text: str) -> str:
    """A DOT double-quoted string holding ``text`` literally."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "") + '"'


def node_id(name: str) -> str:
    if name == START:
        return "start"
    if name == END:
        return "end"
    return quote("stage:" + name)


def _html(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=True)


def edge_label(edge: MapEdge, view: str) -> str:
    wait = format_seconds(edge.median_seconds) if edge.median_seconds is not None else None
    if view == "frequency" or wait is None:
        return fmt_count(edge.count)
    if view == "performance":
        return wait
    return f"{fmt_count(edge.count)} ({wait})"


def to_dot(graph: MapGraph, *, view: str = "both", node_label: str = "journeys",
           title: str | None = None) -> str:
    """DOT for ``graph``: same graph, same bytes."""
    peak_node = max((getattr(n, node_label) for n in graph.nodes), default=1) or 1
    peak_edge = max((e.count for e in graph.edges), default=1) or 1
    lines = [
        "digraph journey_map {",
        f'  graph [rankdir=TB fontname="{_FONT}" fontsize=12 nodesep=0.35 ranksep=0.45'
        + (f" label={quote(title)} labelloc=t" if title else "") + "];",
        f'  node [fontname="{_FONT}" fontsize=11 shape=box style="rounded,filled" '
        'color="#6b7b8c" penwidth=1];',
        f'  edge [fontname="{_FONT}" fontsize=9 color="#5b6b7b" arrowsize=0.7];',
        '  start [label="" shape=circle width=0.22 style=filled fillcolor="#222222" '
        'tooltip="start"];',
        '  end [label="" shape=square width=0.2 style=filled fillcolor="#222222" '
        'tooltip="end"];',
    ]
    for node in graph.nodes:
        size = getattr(node, node_label)
        shade = _BLUES[min(len(_BLUES) - 1, int(len(_BLUES) * size / peak_node))]
        rows = [f"<B>{_html(node.name)}</B>",
                f'<FONT POINT-SIZE="9">{format_counted(size, node_label)}</FONT>']
        attrs = [f"fillcolor={quote(shade)}"]
        if node.status == "deviation":
            rows.append(f'<FONT POINT-SIZE="9" COLOR="{_DEVIATION}">not in the design</FONT>')
            attrs = [f"fillcolor={quote(_DEVIATION_FILL)}", f"color={quote(_DEVIATION)}",
                     "penwidth=2"]
            shade = _DEVIATION_FILL
        elif node.status == "unused":
            rows[1] = '<FONT POINT-SIZE="9">designed, never seen</FONT>'
            attrs = ['fillcolor="#ffffff"', 'style="rounded,dashed,filled"',
                     f"color={quote(_UNUSED)}"]
            shade = "#ffffff"
        elif node.goal:
            rows[0] = f"<B>{_html(node.name)}</B> (goal)"
            attrs = [f"fillcolor={quote(_GOAL_FILL)}", f"color={quote(_GOAL_LINE)}",
                     "penwidth=2", "peripheries=2"]
        else:
            if node.dead_end_share >= DEAD_END_NOTE:
                tone = _DEAD_TEXT_ON_DARK if shade in _BLUES[-2:] else _DEAD_TEXT
                rows.append(f'<FONT POINT-SIZE="9" COLOR="{tone}">'
                            f"{node.dead_end_share * 100:.0f}% dead-end here</FONT>")
            if node.dead_end:
                attrs += [f"color={quote(_DEAD_LINE)}", "penwidth=2.5"]
        if shade in _BLUES[-2:] and not node.goal:
            attrs.append('fontcolor="#ffffff"')
        label = "<" + "<BR/>".join(rows) + ">"
        lines.append(f"  {node_id(node.name)} [label={label} {' '.join(attrs)} "
                     f"tooltip={quote(node.name)}];")
    for edge in drawing_order(graph.edges):
        width = 1 + 6 * edge.count / peak_edge
        attrs = [f"penwidth={width:.2f}"]
        label = edge_label(edge, view)
        if label and edge.source != START and edge.target != END:
            attrs.append(f"label={quote(label)}")
        elif label:
            attrs.append(f"label={quote(fmt_count(edge.count))}")
        if edge.change is not None:
            # Only significant changes carry a label: grey edges say "no change" by themselves.
            attrs = [f"penwidth={width:.2f}"]
            if edge.significant:
                attrs.append(f"label={quote(change_label(edge))}")
            strong = abs(edge.change) >= 0.1  # ten points or more: the darker shade
            tone = ((_UP_STRONG if strong else _UP) if edge.change > 0 else
                    (_DOWN_STRONG if strong else _DOWN)) if edge.significant else _UNCHANGED
            attrs.append(f'color="{tone}" fontcolor="{tone}"')
            if edge.source == START or edge.target == END:
                attrs = ['style=dotted color="#888888"', f"penwidth={width:.2f}"]
        elif edge.status == "unused":
            attrs = [f'style=dashed color="{_UNUSED}" fontcolor="{_UNUSED}" '
                     'label="designed, never taken"']
        elif edge.status == "deviation":
            attrs.append(f'color="{_DEVIATION}" fontcolor="{_DEVIATION}"')
        elif edge.source == START or edge.target == END:
            attrs.append('style=dotted color="#888888"')
        elif edge.handoff_share >= 0.5:
            attrs.append(f'style=dashed color="{_HANDOFF}" fontcolor="{_HANDOFF}"')
        lines.append(f"  {node_id(edge.source)} -> {node_id(edge.target)} [{' '.join(attrs)}];")
    lines += _legend(view, graph)
    lines.append("}")
    return "\n".join(lines) + "\n"


def drawing_order(edges: list[MapEdge]) -> list[MapEdge]:
    """Significant changes last: an edge drawn later lies on top, never under a grey one."""
    return sorted(edges, key=lambda e: e.significant)


def change_label(edge: MapEdge) -> str:
    return f"{edge.change * 100:+.1f} pp"


def _legend(view: str, graph: MapGraph) -> list[str]:
    """A legend of what this map shows, drawn inside the graph."""
    goals = any(n.goal for n in graph.nodes)
    dead_ends = any(n.dead_end for n in graph.nodes)
    with_handoffs = any(e.handoff_share >= 0.5 and not e.status for e in graph.edges)
    deviations = any(x.status == "deviation" for x in (*graph.nodes, *graph.edges))
    unused = any(x.status == "unused" for x in (*graph.nodes, *graph.edges))
    changes = any(e.change is not None for e in graph.edges)
    meaning = {"frequency": "transitions", "performance": "median wait",
               "both": "transitions (median wait)"}[view]
    lines = [
        "  subgraph cluster_legend {",
        '    label="Legend" fontsize=10 style="rounded" color="#bbbbbb";',
        '    node [fontsize=9 width=0.3 height=0.25];',
    ]
    if goals:
        lines.append(f'    legend_goal [label="goal stage" fillcolor="{_GOAL_FILL}" '
                     f'color="{_GOAL_LINE}" penwidth=2 peripheries=2];')
    if dead_ends:
        lines.append(f'    legend_dead [label="dead-end stage ({DEAD_END_MARK:.0%} or more of '
                     f'its journeys stop there)" fillcolor="{_BLUES[0]}" color="{_DEAD_LINE}" '
                     "penwidth=2.5];")
    if changes:
        meaning = "change of the share of its stage (pp)"
        lines.append(f'    legend_up [label="green: grew, red: shrank (darker: 10 pp or more), '
                     f'grey, unlabelled: no significant change" shape=plaintext style="" '
                     f'fontcolor="{_UP_STRONG}"];')
    lines.append(f'    legend_note [label="edge label: {meaning}\\nedge width: transitions" '
                 'shape=plaintext style=""];')
    if deviations:
        lines.append(f'    legend_deviation [label="deviation from the design" '
                     f'shape=plaintext style="" fontcolor="{_DEVIATION}"];')
    if unused:
        lines.append(f'    legend_unused [label="dashed grey: designed, never taken" '
                     f'shape=plaintext style="" fontcolor="{_UNUSED}"];')
    if with_handoffs:
        changes = quote(f"dashed: hand-off\n({graph.handoff_column} changes)")
        lines.append(f'    legend_handoff [label={changes} '
                     f'shape=plaintext style="" fontcolor="{_HANDOFF}"];')
    if graph.hidden_edges:
        total = graph.hidden_edges + len(graph.edges)
        hidden = [f"{graph.hidden_edges:,} of {total:,} edges hidden: "
                  f"{format_share(graph.hidden_traffic)} of the traffic",
                  f"({graph.more_flags()})", *graph.goal_notes()]
        lines.append(f'    legend_hidden [label={quote(chr(10).join(hidden))} shape=plaintext '
                     'style=""];')
    lines.append("  }")
    return lines
