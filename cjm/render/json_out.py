"""JSON output: versioned, documented objects written as deterministic text."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cjm.safety import write_text
from cjm.units import iso

JOURNEY_SCHEMA = "cjm.journey/1"
MAX_PATHS = 1000


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(data: Any, target: str | Path) -> None:
    """Write to a file atomically, or to stdout when ``target`` is ``-``."""
    text = dumps(data)
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text(Path(target), text)


def _s(value: float | None) -> float | None:
    """Seconds, to the millisecond."""
    return None if value is None else round(float(value), 3)


def _r(value: float | None) -> float | None:
    """A share, to six places."""
    return None if value is None else round(float(value), 6)


def reading(log) -> dict[str, Any]:
    return {
        "files": [f.to_dict() for f in log.files],
        "rows": log.rows, "events": log.events_read, "rejected": log.rejected,
        "filtered": log.filtered,
        "mapping": log.mapping.to_dict(),
        "timestamps": log.timestamp_format.description,
        "notes": list(log.notes),
    }


def journey_json(jm, graph=None) -> dict[str, Any]:
    """The ``cjm.journey/1`` object (see docs/json.md)."""
    dead = {d.stage: d.journeys for d in jm.dead_ends}
    goals = set(jm.goals.stages)
    data: dict[str, Any] = {
        "schema": JOURNEY_SCHEMA,
        "reading": reading(jm.log),
        "journeys": jm.journeys,
        "events": jm.events,
        "notes": list(jm.notes),
        "first_timestamp": iso(jm.log.first_timestamp),
        "last_timestamp": iso(jm.log.last_timestamp),
        "duration_seconds": {"median": _s(jm.duration_median), "p90": _s(jm.duration_p90),
                             "mean": _s(jm.duration_mean)},
        "events_per_journey": {"median": _r(jm.events_per_journey["median"]),
                               "mean": _r(jm.events_per_journey["mean"]),
                               "max": int(jm.events_per_journey["max"])},
        "stages": [
            {"name": s.name, "events": s.events, "journeys": s.journeys, "starts": s.starts,
             "ends": s.ends, "goal": s.name in goals, "dead_ends": dead.get(s.name, 0)}
            for s in jm.stages
        ],
        "transitions": [
            {"from": t.source, "to": t.target, "count": t.count, "journeys": t.journeys,
             "share": _r(t.share), "median_seconds": _s(t.median_seconds),
             "mean_seconds": _s(t.mean_seconds), "p90_seconds": _s(t.p90_seconds),
             "handoffs": t.handoffs}
            for t in jm.transitions
        ],
        # Starts and ends count journeys: --min-journeys leaves out the rare ones.
        "starts": [{"to": s.name, "count": s.starts}
                   for s in sorted(jm.stages, key=lambda s: (-s.starts, s.name))
                   if s.starts and s.starts >= jm.log.min_journeys],
        "ends": [{"from": s.name, "count": s.ends}
                 for s in sorted(jm.stages, key=lambda s: (-s.ends, s.name))
                 if s.ends and s.ends >= jm.log.min_journeys],
        "paths_total": jm.paths_total,
        "paths": [
            {"stages": list(p.stages), "journeys": p.journeys, "share": _r(p.share),
             "coverage": _r(p.coverage), "median_seconds": _s(p.median_seconds)}
            for p in jm.paths[:MAX_PATHS]
        ],
        "loops": {
            "self_loops": [{"stage": t.source, "count": t.count, "journeys": t.journeys}
                           for t in jm.self_loops],
            "rework": [{"stage": r.stage, "journeys": r.journeys,
                        "extra_visits": r.extra_visits} for r in jm.rework],
        },
        "goals": {"stages": list(jm.goals.stages), "source": jm.goals.source,
                  "outcome_column": jm.goals.outcome_column, "journeys": jm.goal_journeys,
                  "rate": _r(jm.goal_rate),
                  "candidates": [{"stage": name, "share_ending": _r(share)}
                                 for name, share in jm.goals.candidates]},
        "dead_ends": {
            "journeys": jm.dead_end_journeys, "rate": _r(jm.dead_end_rate),
            "open_journeys": jm.open_journeys, "still_active_seconds": jm.still_active_seconds,
            "stages": [
                {"stage": d.stage, "journeys": d.journeys,
                 "share_of_reaching": _r(d.share_of_reaching),
                 "share_of_dead_ends": _r(d.share_of_dead_ends),
                 "top_path": list(d.top_path), "top_path_journeys": d.top_path_journeys}
                for d in jm.dead_ends
            ],
        },
        "gaps": {"min_count": jm.gap_min_count, "slowest": [
            {"from": t.source, "to": t.target, "median_seconds": _s(t.median_seconds),
             "count": t.count} for t in jm.slowest(10)]},
        "handoffs": {
            "column": jm.handoff_column, "count": jm.handoff_count,
            "matrix": [{"from": h.source, "to": h.target, "count": h.count,
                        "median_seconds": _s(h.median_seconds)} for h in jm.handoffs],
            "transitions": [{"from": t.source, "to": t.target, "handoffs": t.handoffs,
                             "count": t.count} for t in jm.handoff_transitions(10)],
        },
    }
    if graph is not None:
        data["map"] = map_json(graph)
    return data


def map_json(graph) -> dict[str, Any]:
    """What the drawn map shows of the journeys, and what it hides."""
    return {"stages_shown": len(graph.nodes), "transitions_shown": len(graph.edges),
            "hidden_stages": graph.hidden_stages, "hidden_transitions": graph.hidden_edges,
            "hidden_traffic_share": _r(graph.hidden_traffic),
            "goal_incoming_hidden": {g: _r(v) for g, v in graph.goal_hidden.items()}}




CHECK_SCHEMA = "cjm.check/1"


def check_json(result, graph=None) -> dict[str, Any]:
    """The ``cjm.check/1`` object (see docs/json.md)."""
    from cjm.conformance import EXACT_KINDS, KINDS

    design = result.design
    data: dict[str, Any] = {
        "schema": CHECK_SCHEMA,
        "reading": reading(result.journey_map.log),
        "design": {"path": str(design.path), "kind": design.kind, "name": design.name,
                   "stages": list(design.stages), "goals": sorted(design.goals),
                   "warnings": design.warnings},
        "journeys": result.journeys,
        "conforming": result.conforming,
        "conformance_rate": _r(result.conformance_rate),
        "deviation_rate": _r(result.deviation_rate),
        "fitness": _r(result.fitness),
        "precision": _r(result.precision),
        "exact_fitness": _r(result.exact_fitness),
        "exact_paths": result.exact_paths,
        "exact_deviations": [
            {"kind": d.kind, "description": EXACT_KINDS[d.kind], "stage": d.detail,
             "journeys": d.journeys, "examples": list(d.examples)}
            for d in result.exact_deviations
        ],
        "deviations": [
            {"kind": d.kind, "description": KINDS[d.kind], "detail": d.detail,
             "journeys": d.journeys, "share": _r(d.journeys / result.journeys),
             "examples": list(d.examples)}
            for d in result.deviations
        ],
        "design_stages_not_in_log": result.unused_stages,
        "log_stages_not_in_design": [{"stage": s, "events": n}
                                     for s, n in result.missing_stages],
        "designed_transitions_not_taken": [{"from": a, "to": b}
                                           for a, b in result.unused_transitions],
        "notes": result.notes,
    }
    if graph is not None:
        data["map"] = map_json(graph)
    return data


FUNNEL_SCHEMA = "cjm.funnel/1"


def funnel_json(result, log) -> dict[str, Any]:
    """The ``cjm.funnel/1`` object (see docs/json.md)."""
    return {
        "schema": FUNNEL_SCHEMA,
        "reading": reading(log),
        "order": result.order,
        "within_seconds": result.within_seconds,
        "journeys": result.journeys,
        "conversion": _r(result.conversion),
        "steps": [
            {"stage": s.stage, "stages": list(s.stages), "journeys": s.journeys,
             "step_conversion": _r(s.step_conversion),
             "overall_conversion": _r(s.overall_conversion),
             "median_seconds": _s(s.median_seconds), "dropped": s.dropped,
             "went_instead": [{"stage": stage, "journeys": n} for stage, n in s.went_instead]}
            for s in result.steps
        ],
        "label": log.label,
    }


def funnels_json(by: str, results) -> dict[str, Any]:
    """``cjm.funnels/1``: a ``cjm.funnel/1`` object per (log, funnel) of ``results``."""
    return {"schema": FUNNELS_SCHEMA, "by": by,
            "funnels": [funnel_json(result, part) for part, result in results]}


FUNNELS_SCHEMA = "cjm.funnels/1"
COMPARE_SCHEMA = "cjm.compare/1"


def _change(c) -> dict[str, Any]:
    return {"count_a": c.count_a, "total_a": c.total_a, "share_a": _r(c.share_a),
            "count_b": c.count_b, "total_b": c.total_b, "share_b": _r(c.share_b),
            # p-values unrounded: a tiny p must not read as 0
            "change": _r(c.change), "p_value": c.p_value, "adjusted_p": c.adjusted_p}


def compare_json(result, graph=None) -> dict[str, Any]:
    """The ``cjm.compare/1`` object (see docs/json.md); with the difference map ``graph``,
    what it hides."""
    def side(label, jm):
        return {"label": label, "journeys": jm.journeys, "events": jm.events,
                "median_duration_seconds": _s(jm.duration_median),
                "goal_rate": _r(jm.goal_rate), "dead_end_rate": _r(jm.dead_end_rate)}

    data = {
        "schema": COMPARE_SCHEMA,
        "a": side(result.label_a, result.a),
        "b": side(result.label_b, result.b),
        "min_count": result.min_count,
        "alpha": result.alpha,
        "goals": {"stages": list(result.a.goals.stages), "source": result.a.goals.source,
                  "outcome_column": result.a.goals.outcome_column},
        "goal_rate": _change(result.goal_rate) if result.goal_rate else None,
        "transitions": [
            {"from": t.key[0], "to": t.key[1], **_change(t),
             "significant": t.significant(result.alpha),
             "median_seconds_a": _s(t.median_a), "median_seconds_b": _s(t.median_b)}
            for t in result.transitions
        ],
        "dead_ends": [{"stage": d.key[0], **_change(d),
                       "significant": d.significant(result.alpha)} for d in result.dead_ends],
        "new_paths": [{"stages": list(p), "journeys": n} for p, n in result.new_paths],
        "vanished_paths": [{"stages": list(p), "journeys": n} for p, n in result.vanished_paths],
    }
    if graph is not None:
        data["map"] = map_json(graph)
    return data


SLICES_SCHEMA = "cjm.slices/1"


def slices_json(whole, results) -> dict[str, Any]:
    """``cjm.slices/1``: the whole log's figures and a ``cjm.journey/1`` object per slice."""
    return {
        "schema": SLICES_SCHEMA,
        "all": journey_json(whole),
        "slices": [{"label": label, **journey_json(result)} for label, result, _ in results],
    }


CHANNELS_SCHEMA = "cjm.channels/1"


def channels_json(report, log) -> dict[str, Any]:
    """The ``cjm.channels/1`` object (see docs/json.md)."""
    return {
        "schema": CHANNELS_SCHEMA,
        "reading": reading(log),
        "column": report.column,
        "mix": [{"stage": stage, "channels": [{"channel": c, "events": n} for c, n in mix]}
                for stage, mix in sorted(report.mix.items())],
        "sequences": [{"channels": list(s), "journeys": n} for s, n in report.sequences],
        "escalations": [{"from": a, "to": b, "transitions": n}
                        for a, b, n in report.escalations],
        "escalation_journeys": report.escalation_journeys,
        "prices": report.costs,
        "cost_per_journey": {k: _r(v) if k != "journeys" else v
                             for k, v in report.cost_per_journey.items()}
        if report.cost_per_journey else None,
        "cost_by_stage": [{"stage": s, "events": e, "total": _r(t)}
                          for s, e, t in report.cost_by_stage],
        "cost_by_path": [{"stages": list(p), "journeys": j, "total": _r(t),
                          "median": _r(m)} for p, j, t, m in report.cost_by_path],
    }


MOMENTS_SCHEMA = "cjm.moments/1"


def moments_json(result, log) -> dict[str, Any]:
    """The ``cjm.moments/1`` object (see docs/json.md)."""
    return {
        "schema": MOMENTS_SCHEMA,
        "reading": reading(log),
        "outcome_column": result.outcome_column,
        "kind": result.kind,
        "journeys": result.journeys,
        "overall": _r(result.overall),
        "before_goal": {"goals": list(result.goals), "source": result.goals_source}
        if result.before_goal else None,
        "correction": result.correction,
        "alpha": result.alpha,
        "tests": result.tests,
        "items": [
            {"kind": m.kind, "name": m.name, "journeys_with": m.journeys_with,
             "journeys_without": m.journeys_without, "with": _r(m.value_with),
             "without": _r(m.value_without), "difference": _r(m.difference),
             "low": _r(m.low), "high": _r(m.high), "p_value": m.p_value,
             "adjusted_p": m.adjusted_p, "clear": m.clear}
            for m in result.items
        ],
    }


ATTRIBUTION_SCHEMA = "cjm.attribution/1"


def attribution_json(result, log) -> dict[str, Any]:
    """The ``cjm.attribution/1`` object (see docs/json.md)."""
    def share(s) -> dict[str, float | None]:
        return {"share": _r(s.value), "low": _r(s.low), "high": _r(s.high)}

    totals = result.shares
    return {
        "schema": ATTRIBUTION_SCHEMA,
        "reading": reading(log),
        "by": result.by,
        "goals": {"stages": list(result.goals), "source": result.goals_source,
                  "outcome_column": result.outcome_column},
        "journeys": totals.journeys,
        "conversions": totals.conversions,
        "without_touches": {"journeys": totals.without_touches,
                            "conversions": totals.conversions_without_touches},
        "sequences": totals.sequences,
        "bootstrap": {"resamples": totals.resamples, "seed": totals.seed,
                      "confidence": result.confidence},
        "min_journeys": result.min_journeys,
        "hidden": result.hidden,
        "touchpoints": [
            {"name": t.name, "journeys": t.journeys, "removal_effect": _r(t.removal_effect),
             "markov": share(t.markov), "first_touch": share(t.first_touch),
             "last_touch": share(t.last_touch), "linear": share(t.linear)}
            for t in result.touchpoints
        ],
    }


STEPS_SCHEMA = "cjm.steps/1"
STEPS_DIFFERENCE_SCHEMA = "cjm.steps-difference/1"


def _step_rows(rows, key: str) -> list[dict[str, Any]]:
    return [{key: r.name, "journeys": list(r.journeys), "shares": [_r(s) for s in r.shares]}
            for r in rows]


def steps_json(result, log) -> dict[str, Any]:
    """The ``cjm.steps/1`` object (see docs/json.md)."""
    return {
        "schema": STEPS_SCHEMA,
        "reading": reading(log),
        "steps": result.steps,
        "journeys": result.journeys,
        "goals": {"stages": list(result.goals), "source": result.goals_source,
                  "outcome_column": result.outcome_column},
        "stages": _step_rows(result.stages, "stage"),
        "ended": _step_rows(result.ended, "status"),
        "withheld_stages": result.withheld,
        "label": result.label,
    }


def steps_difference_json(result, log_a, log_b) -> dict[str, Any]:
    """The ``cjm.steps-difference/1`` object: both step matrices and B - A."""
    return {
        "schema": STEPS_DIFFERENCE_SCHEMA,
        "a": steps_json(result.a, log_a),
        "b": steps_json(result.b, log_b),
        "difference": {"stages": _step_rows(result.stages, "stage"),
                       "ended": _step_rows(result.ended, "status")},
    }


TIMING_SCHEMA = "cjm.timing/1"


def _quantile(q) -> dict[str, Any]:
    return {"share": q.share, "seconds": _s(q.seconds), "low": _s(q.low), "high": _s(q.high)}


def _timing_curve(curve, checkpoints, index: int) -> dict[str, Any]:
    return {
        "journeys": curve.journeys, "reached": curve.reached, "censored": curve.censored,
        "median": _quantile(curve.quantile(0.5)), "p90": _quantile(curve.quantile(0.9)),
        "at": [None if (s := point.steps[index]) is None else
               {"seconds": _s(point.seconds), "reached": _r(s.share_reached),
                "low": _r(s.share_low), "high": _r(s.share_high), "waiting": s.waiting}
               for point in checkpoints],
        "curve": [{"seconds": _s(s.seconds), "at_risk": s.at_risk, "reached": s.reached,
                   "censored": s.censored, "survival": _r(s.survival), "low": _r(s.low),
                   "high": _r(s.high)} for s in curve.steps],
    }


def timing_json(result, log) -> dict[str, Any]:
    """The ``cjm.timing/1`` object (see docs/json.md)."""
    goals = result.goals
    test = result.logrank
    return {
        "schema": TIMING_SCHEMA,
        "reading": reading(log),
        "goals": {"stages": list(goals.stages), "source": goals.source,
                  "outcome_column": goals.outcome_column},
        "still_active_seconds": _s(result.still_active_seconds),
        "min_journeys": result.min_journeys,
        "checkpoints": [_s(p.seconds) for p in result.checkpoints],
        "all": _timing_curve(result.curve, result.checkpoints, 0),
        "split": result.split,
        "groups": [{"label": g.label, **_timing_curve(g.curve, result.checkpoints, i)}
                   for i, g in enumerate(result.groups, start=1)],
        "logrank": {"chi_square": test.chi_square, "df": test.df, "p_value": test.p_value}
        if test is not None else None,
        "notes": list(result.notes),
    }


PERSONAS_SCHEMA = "cjm.personas/1"


def personas_json(result, log) -> dict[str, Any]:
    """The ``cjm.personas/1`` object (see docs/json.md)."""
    return {
        "schema": PERSONAS_SCHEMA,
        "reading": reading(log),
        "journeys": result.journeys,
        "k": result.k,
        "k_chosen": result.k_chosen,
        "silhouettes": [{"k": k, "silhouette": s} for k, s in sorted(result.silhouettes.items())],
        "paths": result.paths,
        "fitted": {"paths": result.fitted_paths, "journeys": result.fitted_journeys},
        "before_goal": result.before_goal,
        "goals": {"stages": list(result.goals), "source": result.goals_source,
                  "outcome_column": result.outcome_column},
        "personas": [{
            "persona": p.number,
            "journeys": p.journeys,
            "share": p.share,
            "goal_journeys": p.goals,
            "goal_rate": p.goals / p.journeys,
            "median_seconds": p.median_seconds,
            "channels": [{"channel": c, "events": n} for c, n in p.channels],
            "apart": [{"kind": f.kind, "name": f.name, "share": f.share, "rest": f.rest,
                       "lift": f.lift} for f in p.features],
            "top_paths": [{"stages": list(s), "journeys": n} for s, n in p.paths],
        } for p in result.personas],
        "withheld": {"personas": result.withheld, "journeys": result.withheld_journeys},
        "label": result.label,
    }
