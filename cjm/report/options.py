"""ReportOptions from the flags of ``cjm report`` or the keys of a batch entry, with the
defaults of cjm.toml: one reading for both, so that a batch report is the command's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cjm.config import Config, find_config
from cjm.errors import UsageError
from cjm.report.build import ReportOptions


def report_options(values: Mapping[str, Any], config: Config | None = None,
                   ) -> tuple[ReportOptions, float | None]:
    """ReportOptions from ``values`` named as the flags (``goal_share="80%"``), and the
    dead-end gate (``fail_on_dead_end_rate``, a share, or None); ``config`` (default: the
    cjm.toml found from the current folder) gives the defaults the values leave open."""
    from cjm.funnel import parse_steps
    from cjm.journeys import GOAL_SHARE
    from cjm.options import map_arguments, validate_view
    from cjm.personas import parse_k
    from cjm.units import parse_date, parse_rate, parse_share, parse_span

    config = config if config is not None else find_config()
    get = values.get
    view = get("view") or config.get("view", "both")
    validate_view(view, "journeys")
    if get("by") and get("period"):
        raise UsageError("give --by or --period, not both")
    if get("compare_by") and get("compare_period"):
        raise UsageError("give --compare-by or --compare-period, not both")
    if get("attribution") not in (None, "stage", "channel"):
        raise UsageError(f"--attribution: {get('attribution')!r} is not one of stage, channel")
    if get("order", "strict") not in ("strict", "any"):
        raise UsageError(f"--order: {get('order')!r} is not one of strict, any")
    pair = [v.strip() for v in get("compare_values").split(",")] \
        if get("compare_values") else None
    if pair is not None and len(pair) != 2:
        raise UsageError("--compare-values: give exactly two values, A first: vip,new")
    if pair and not (get("compare_by") or get("compare_period")):
        raise UsageError("--compare-values goes with --compare-by or --compare-period")
    if get("compare_by") and not pair:
        raise UsageError("--compare-by needs --compare-values A,B: the two values to compare",
                         "Example: --compare-by segment --compare-values vip,new")
    if get("personas") is not None:
        parse_k(str(get("personas")))  # refused before the log is read
    still = get("still_active") or config.get("still_active")
    goals = list(get("goal") or config.get("goals", []))
    options = ReportOptions(
        title=get("title"), goals=goals,
        goal_share=parse_share(get("goal_share") or config.get("goal_share", GOAL_SHARE),
                               "--goal-share"),
        still_active=parse_span(still, "--still-active") if still else None,
        handoff_column=get("handoff_column") or config.get("handoff_column"),
        where=list(get("where") or []),
        since=parse_date(get("since"), "--since"), until=parse_date(get("until"), "--until"),
        by=get("by"), top_values=get("top_values"), period=get("period"),
        funnel=parse_steps(get("funnel") or ""),
        within=parse_span(get("within"), "--within") if get("within") else None,
        funnel_order=get("order") or "strict", attribution=get("attribution"),
        compare_by=get("compare_by"), compare_period=get("compare_period"),
        compare_values=pair, design=get("design"), timing=bool(get("timing")),
        step_matrix=get("step_matrix"),
        personas=None if get("personas") is None else str(get("personas")),
        interactive=bool(get("interactive")),
        top=get("top") or int(config.get("top", 10)), view=view,
        **map_arguments(get("stages"), get("paths"), get("min_count") or 1,
                        get("max_edges")),
    )
    gate = get("fail_on_dead_end_rate")
    return options, parse_rate(gate, "--fail-on-dead-end-rate") if gate is not None else None
