"""Results as they show themselves in Jupyter: HTML (tables, and the maps as inline SVG
drawn without any system Graphviz), with one line of plain text as the fallback.

It computes nothing: each function lays out the figures a result already holds. Imported,
it gives the result classes their ``_repr_html_`` and ``_repr_mimebundle_`` (and MapGraph
its ``_repr_svg_``); cjm imports it when it is imported inside IPython, so that the
results need not import their renderer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from cjm.units import format_count, format_counted, format_seconds

TOP = 10  # rows of each table
STYLE = ("<style>.cjm table{border-collapse:collapse;margin:.4em 0}.cjm td,.cjm th"
         "{padding:2px 8px;text-align:left}.cjm td.n{text-align:right}"
         ".cjm caption{text-align:left;font-weight:bold}</style>")


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"  # noqa: RUF001


def _wait(seconds: float | None) -> str:
    return "–" if seconds is None else format_seconds(seconds)  # noqa: RUF001


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{escape(str(c))}</td>' if i in numeric
                         else f"<td>{escape(str(c))}</td>" for i, c in enumerate(row))
        + "</tr>" for row in rows)
    return (f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>")


def _page(title: str, *parts: str) -> str:
    return f'{STYLE}<div class="cjm"><h4>{escape(title)}</h4>{"".join(parts)}</div>'


def map_svg(graph) -> str:
    """The map drawn as SVG (the system dot when installed, else graphviz-pure)."""
    from cjm.render.dot import to_dot
    from cjm.render.graphviz import render

    return render(to_dot(graph), "svg").decode("utf-8")


def log_html(log) -> str:
    files = _table("Files", ("file", "format", "rows", "events", "rejected", "filtered"),
                   ((f.path, f.format, format_count(f.rows), format_count(f.events),
                     format_count(f.rejected), format_count(f.filtered)) for f in log.files),
                   numeric=(2, 3, 4, 5))
    roles = _table("Columns", ("role", "column"),
                   ((role, choice.column) for role, choice in log.mapping.choices.items()))
    notes = "".join(f"<li>{escape(n)}</li>" for n in (*log.notes,
                                                     *(w.message for w in log.warnings)))
    return _page(f"{format_counted(log.journeys, 'journeys')}, "
                 f"{format_counted(log.events, 'events')}, "
                 f"{format_counted(log.stages, 'stages')}", files, roles,
                 f"<ul>{notes}</ul>" if notes else "")


def journey_map_html(jm) -> str:
    figures = _table("Figures", ("", ""), (
        ("journeys", format_count(jm.journeys)),
        ("goal reached", _share(jm.goal_journeys / jm.journeys if jm.journeys else None)),
        ("dead-ends", _share(jm.dead_end_journeys / jm.journeys if jm.journeys else None)),
        ("median journey", _wait(jm.duration_median)),
        ("goals", ", ".join(jm.goals.stages) or jm.goals.source)), numeric=(1,))
    paths = _table("Paths", ("path", "journeys", "share"),
                   ((" → ".join(p.stages), format_count(p.journeys), _share(p.share))
                    for p in jm.paths[:TOP]), numeric=(1, 2))
    # The map is a result of its own: cjm.build_map(jm, log=log) shows its drawing.
    hint = "<p>The map: <code>cjm.build_map(jm, log=log)</code> shows its drawing.</p>"
    return _page("Journey map", figures, hint, paths)


def journey_map_text(jm) -> str:
    return (f"JourneyMap: {format_counted(jm.journeys, 'journeys')}, "
            f"{format_counted(len(jm.stages), 'stages')}, "
            f"{format_counted(jm.paths_total, 'paths')}")


def funnel_html(funnel) -> str:
    return _page(f"Funnel: {_share(funnel.conversion)} finish it", _table(
        "Steps", ("step", "journeys", "from previous", "from first", "median time", "dropped"),
        ((s.stage, format_count(s.journeys), _share(s.step_conversion),
          _share(s.overall_conversion), _wait(s.median_seconds), format_count(s.dropped))
         for s in funnel.steps), numeric=(1, 2, 3, 4, 5)))


def comparison_html(c) -> str:
    rows = ((t.key if isinstance(t.key, str) else " → ".join(t.key), _share(t.share_a),
             _share(t.share_b), f"{t.change * 100:+.1f} pp", f"{t.adjusted_p:.3g}")
            for t in c.significant[:TOP])
    goal = c.goal_rate
    return _page(f"{c.label_a} → {c.label_b}: goal rate {_share(goal.share_a)} → "
                 f"{_share(goal.share_b)}",
                 _table("Clear changes (Holm-corrected)", ("transition", c.label_a, c.label_b,
                                                          "change", "p"), rows,
                        numeric=(1, 2, 3, 4)))


def check_html(r) -> str:
    return _page(f"{format_count(r.conforming)} of {format_counted(r.journeys, 'journeys')} "
                 f"conform ({_share(r.conformance_rate)}); fitness {r.fitness:.3f}, "
                 f"precision {r.precision:.3f}",
                 _table("Deviations", ("kind", "deviation", "journeys"),
                        ((d.kind, d.detail, format_count(d.journeys))
                         for d in r.deviations[:TOP]), numeric=(2,)))


def timing_html(t) -> str:
    from cjm.render.stepchart import step_chart

    series = [("all journeys", t.curve), *((g.label, g.curve) for g in t.groups)]
    rows = []
    for label, curve in series:
        median, p90 = curve.quantile(0.5), curve.quantile(0.9)
        rows.append((label, format_count(curve.journeys), format_count(curve.reached),
                     _wait(median.seconds) if median.seconds is not None else "not reached",
                     _wait(p90.seconds) if p90.seconds is not None else "not reached"))
    table = _table("Time to goal", ("journeys", "count", "reached", "median", "90% by"),
                   rows, numeric=(1, 2, 3, 4))
    return _page("Time to goal", table, step_chart(series, "Share that reached the goal"))


def steps_html(m) -> str:
    from cjm.render.heatmap import heatmap_svg

    names = {"goal": "(ended: goal reached)", "dead_end": "(ended: dead-end)",
             "open": "(ended: still active)"}
    rows = [(r.name, r.shares) for r in m.stages]
    rows += [(names[r.name], r.shares) for r in m.ended if any(r.journeys)]
    return _page("Step matrix", heatmap_svg("Share of the journeys at each step",
                                            [str(k + 1) for k in range(m.steps)], rows))


def personas_html(p) -> str:
    rows = ((f"persona {q.number}", format_count(q.journeys), _share(q.share),
             _share(q.goals / q.journeys if q.journeys else None), _wait(q.median_seconds),
             ", ".join(f.name for f in q.features[:3]),
             " → ".join(q.paths[0][0]) if q.paths else "") for q in p.personas)
    return _page(f"{format_counted(len(p.personas), 'personas')} of "
                 f"{format_counted(p.journeys, 'journeys')} (k = {p.k}, {p.k_chosen})",
                 _table("Personas", ("", "journeys", "share", "goal reached", "median",
                                     "sets it apart", "top path"), rows, numeric=(1, 2, 3, 4)))


HTML = {"EventLog": log_html, "LogInfo": log_html, "SparkEventLog": log_html,
        "JourneyMap": journey_map_html, "Funnel": funnel_html, "Comparison": comparison_html,
        "CheckResult": check_html, "Timing": timing_html, "StepMatrix": steps_html,
        "Personas": personas_html}


def html(result) -> str:
    """The HTML of any result that shows itself (see install)."""
    return HTML[type(result).__name__](result)


def text(result) -> str:
    """One line for a plain-text frontend."""
    if type(result).__name__ == "JourneyMap":
        return journey_map_text(result)
    journeys = getattr(result, "journeys", None)
    about = f": {format_counted(journeys, 'journeys')}" if isinstance(journeys, int) else ""
    return f"{type(result).__name__}{about}"


def _html(result) -> str:
    return html(result)


def _bundle(result, include: Any = None, exclude: Any = None) -> dict[str, str]:
    return {"text/plain": text(result), "text/html": html(result)}


def install() -> None:
    """Give the results their displays in Jupyter."""
    from cjm.accounting import LogInfo
    from cjm.compare import Comparison
    from cjm.conformance import CheckResult
    from cjm.funnel import Funnel
    from cjm.journeys import JourneyMap
    from cjm.mapgraph import MapGraph
    from cjm.personas import Personas
    from cjm.steps import StepMatrix
    from cjm.timing import Timing

    for shown in (LogInfo, JourneyMap, Funnel, Comparison, CheckResult, Timing, StepMatrix,
                  Personas):
        shown._repr_html_ = _html
        shown._repr_mimebundle_ = _bundle
    MapGraph._repr_svg_ = map_svg


install()
