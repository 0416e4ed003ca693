"""The journey map as a Mermaid flowchart, for Markdown that GitHub and GitLab draw.

Labels are quoted, and the characters that could end a quote, open markup or form an entity
are written as HTML named entities (``&lt;``, ``&quot;``, ``&num;``…), so that any stage name
renders literally. Mermaid's own entity codes (``#60;``) are avoided: Mermaid 11 leaves
them undecoded in what it draws, and a ``#`` is written as ``&num;`` so that a name holding
``#60;`` cannot form one.
"""

from __future__ import annotations

from cjm.mapgraph import END, START, MapEdge, MapGraph, MapNode
from cjm.render.dot import change_label, drawing_order, edge_label
from cjm.units import format_count, format_counted

MAX_STAGES = 15  # a Mermaid diagram beyond this is a tangle on a code-hosting page
MAX_EDGES = 30
_GOAL = "fill:#c7e9c0,stroke:#238b45,stroke-width:2px"
_DEAD = "stroke:#cb181d,stroke-width:2.5px"
_DEVIATION = "fill:#fdd49e,stroke:#d7301f,stroke-width:2px"
_UNUSED = "fill:#ffffff,stroke:#969696,stroke-dasharray:4 3"
_UP, _DOWN, _GREY = "#1a9850", "#d73027", "#9e9e9e"


# Markup (quotes, tags, entities) and the Markdown Mermaid 11 reads in labels (*, _, `, $).
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "#": "&num;",
             "`": "&grave;", "*": "&ast;", "_": "&lowbar;", "$": "&dollar;",
             "%": "&percnt;"}  # %%{init: …}%% anywhere in a diagram would configure it


def text(value: str) -> str:
    """``value`` as the text of a quoted Mermaid label that shows literally."""
    return "".join(_ENTITIES.get(c, c) for c in " ".join(value.split()))


def to_mermaid(graph: MapGraph, *, view: str = "both", node_label: str = "journeys") -> str:
    """A ``flowchart`` for ``graph``: same graph, same text."""
    ids = {START: "begin", END: "finish"}  # "end" is a Mermaid keyword
    ids.update({node.name: f"s{i}" for i, node in enumerate(graph.nodes)})
    lines = ["flowchart TD"]
    if any(e.source == START for e in graph.edges):
        lines.append('  begin(("start"))')
    if any(e.target == END for e in graph.edges):
        lines.append('  finish((("end")))')
    classes: dict[str, list[str]] = {}
    for node in graph.nodes:
        lines.append(f'  {ids[node.name]}["{_node_text(node, node_label)}"]')
        kind = _node_class(node)
        if kind:
            classes.setdefault(kind, []).append(ids[node.name])
    peak = max((e.count for e in graph.edges), default=1) or 1
    styles = []
    for index, edge in enumerate(drawing_order(graph.edges)):
        label = _label(edge, view)
        arrow = "-.->" if edge.source == START or edge.target == END else "-->"
        lines.append(f"  {ids[edge.source]} {arrow}"
                     + (f'|"{text(label)}"|' if label else "") + f" {ids[edge.target]}")
        styles.append(f"  linkStyle {index} stroke-width:{1 + 5 * edge.count / peak:.1f}px"
                      + _edge_colour(edge))
    lines += styles
    for kind, style in (("goal", _GOAL), ("deadend", _DEAD), ("deviation", _DEVIATION),
                        ("unused", _UNUSED)):
        if kind in classes:
            lines.append(f"  classDef {kind} {style}")
            lines.append(f"  class {','.join(classes[kind])} {kind}")
    return "\n".join(lines) + "\n"


def _node_text(node: MapNode, node_label: str) -> str:
    size = format_counted(getattr(node, node_label), node_label)
    if node.status == "unused":
        size = "designed, never seen"
    parts = [text(node.name) + (" (goal)" if node.goal else ""), text(size)]
    if node.status == "deviation":
        parts.append("not in the design")
    elif not node.goal and node.dead_end:
        parts.append(text(f"{node.dead_end_share:.0%} dead-end"))
    # One line, which Mermaid wraps: a <br> makes Mermaid 11.12 read the label as Markdown
    # after decoding its entities, so that *name* would turn into emphasis.
    return " · ".join(parts)


def _node_class(node: MapNode) -> str | None:
    if node.status:
        return node.status
    if node.goal:
        return "goal"
    return "deadend" if node.dead_end else None


def _label(edge: MapEdge, view: str) -> str:
    if edge.change is not None:
        return change_label(edge) if edge.significant else ""
    if edge.status == "unused":
        return "designed, never taken"
    if edge.source == START or edge.target == END:
        return format_count(edge.count)
    return edge_label(edge, view)


def _edge_colour(edge: MapEdge) -> str:
    if edge.change is not None:
        tone = (_UP if edge.change > 0 else _DOWN) if edge.significant else _GREY
        return f",stroke:{tone}"
    if edge.status == "deviation":
        return ",stroke:#d7301f"
    if edge.status == "unused":
        return ",stroke:#969696,stroke-dasharray:4 3"
    return ""
