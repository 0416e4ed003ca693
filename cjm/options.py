"""Options as flags and batch files give them (``80%``, ``frequency``), checked and turned
into the library's arguments: one reading for ``cjm report``, its ``--config`` entries and
every command that draws a map."""

from __future__ import annotations

from typing import Any

from cjm.errors import UsageError

VIEWS = ("frequency", "performance", "both")
NODE_LABELS = ("journeys", "events")


def validate_view(view: str, node_label: str = "journeys") -> None:
    """Refuse a --view or --node-label the renderers do not draw."""
    if view not in VIEWS:
        raise UsageError(f"--view: {view!r} is not one of frequency, performance, both")
    if node_label not in NODE_LABELS:
        raise UsageError(f"--node-label: {node_label!r} is not one of journeys, events")


def map_arguments(stages: str | None, paths: str | None, min_count: int = 1,
                  max_edges: int | None = None) -> dict[str, Any]:
    """build_map's keyword arguments from --stages, --paths, --min-count and --max-edges
    (None: max_edges of the log's cjm.toml, else 80)."""
    from cjm.mapgraph import CONFIGURED
    from cjm.units import parse_share

    return {"stages": parse_share(stages, "--stages") if stages else None,
            "paths": parse_share(paths, "--paths") if paths else None, "min_count": min_count,
            "max_edges": CONFIGURED if max_edges is None else max_edges}
