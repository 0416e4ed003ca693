"""What a report says, section by section, as plain blocks both renderers draw.

Deciding the content once keeps the HTML and the Markdown report in step: each renderer only
knows how to draw a heading, a row of key figures, a table, a map and a list of notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from shlex import quote
from typing import Any

from cjm.journeys import GOAL_MIN_ENDS
from cjm.mapgraph import MapGraph
from cjm.report.build import Figure, Report
from cjm.units import format_count, format_counted, format_seconds, format_share

ARROW = " → "


@dataclass(frozen=True)
class Share:
    """A share in a table cell: drawn as a bar in HTML, a percentage in Markdown."""

    value: float | None


Cell = str | Share


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    numeric: tuple[int, ...] = ()  # right-aligned columns
    caption: str | None = None


@dataclass
class Figures:
    """Key figures: (label, value, detail)."""

    items: list[tuple[str, str, str]]


@dataclass
class Map:
    figure: Figure
    legend: str  # what colours, labels and widths mean


_LABELS = {"both": "transitions (median wait)", "frequency": "transitions",
           "performance": "median wait"}


def map_caption(block: Map, drawn: MapGraph) -> str:
    """The caption of ``drawn``, the figure's full map or the smaller one of its diagram:
    what it shows, and what was left out of it, counted on it."""
    full = block.figure.graph
    stages, edges = len(drawn.nodes), len(drawn.edges)
    if (stages, edges) == (len(full.nodes), len(full.edges)):
        text = f"{format_counted(stages, 'stages')} and {format_counted(edges, 'edges')} shown"
    else:
        text = (f"The diagram shows {stages:,} of {len(full.nodes):,} stages and {edges:,} of "
                f"{len(full.edges):,} edges of the map")
    hidden = [format_counted(len(full.hidden_stages), "stages")] if full.hidden_stages else []
    if full.hidden_edges:
        hidden.append(f"{format_counted(full.hidden_edges, 'weaker edges')} "
                      f"({format_share(full.hidden_traffic)} of the traffic)")
    if hidden:
        text += "; the map leaves out " + " and ".join(hidden) + " to keep it legible"
        text += "".join(f"; goal {goal}: {format_share(share)} of its incoming traffic hidden"
                        for goal, share in full.goal_hidden.items())
    return f"{text}. {block.legend}"


def _legend(view: str) -> str:
    return f"Edge labels: {_LABELS[view]}; width: traffic."


@dataclass
class Notes:
    lines: list[str]


@dataclass
class Heading:
    text: str


@dataclass
class Heatmap:
    """A table of shares drawn as a heat map (SVG) in HTML; Markdown shows the table."""

    svg: str
    table: Table


Block = Table | Figures | Map | Notes | Heading | Heatmap


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"  # noqa: RUF001


def wait(seconds: float | None) -> str:
    return format_seconds(seconds)


def path_text(stages: list[str]) -> str:
    return ARROW.join(stages)


def when(timestamp: str | None) -> str:
    """A timestamp of the JSON (ISO 8601 in UTC) as people read it: 2024-01-01 07:52 UTC."""
    if not timestamp:
        return "–"  # noqa: RUF001
    return f"{datetime.fromisoformat(timestamp):%Y-%m-%d %H:%M} UTC"


def subtitle(data: dict[str, Any]) -> str:
    """What the report covers, in one line."""
    first, last = (when(data[k])[:10] for k in ("first_timestamp", "last_timestamp"))
    return (f"{format_counted(data['journeys'], 'journeys')}, "
            f"{format_counted(data['events'], 'events')}, {first} to {last} (UTC)")


def sections(report: Report) -> list[Section]:
    """The report's sections, in reading order."""
    data, top = report.journey, report.options.top
    parts = [
        Section("overview", "Overview", [_figures(data, top), _definition(report)]),
        Section("map", "Journey map", [Map(report.figure, _legend(report.figure.view))]),
        Section("paths", "Paths", [_paths(data, top)]),
        Section("dead-ends", "Dead-ends", _dead_ends(data, top)),
        Section("gaps", "Gaps", _gaps(data, top)),
    ]
    if data["handoffs"]["column"]:  # no tile or section for what the log cannot tell
        parts.append(Section("handoffs", "Hand-offs", _handoffs(data, top)))
    if report.slices:
        parts.append(_slices(report))
    if report.funnel:
        parts.append(Section("funnel", "Funnel", _funnel(report.funnel)))
    if report.attribution:
        parts.append(Section("attribution", "Attribution", _attribution(report.attribution,
                                                                         top)))
    if report.comparison:
        parts.append(Section("comparison", "Comparison",
                             _comparison(report.comparison, report.comparison_figure, top)))
    if report.check:
        parts.append(Section("conformance", "Conformance",
                             _check(report.check, report.check_figure, top)))
    if report.options.timing:
        parts.append(Section("timing", "Time to goal", _timing(report.timing)))
    if report.step_matrix:
        parts.append(Section("steps", "Step matrix", _step_matrix(report.step_matrix)))
    if report.personas:
        parts.append(Section("personas", "Personas", _personas(report.personas)))
    parts.append(Section("data", "Data", _data(data, report.warnings)))
    return parts


def _figures(data: dict[str, Any], top: int) -> Figures:
    goals = data["goals"]
    durations = data["duration_seconds"]
    goal_detail = (", ".join(goals["stages"]) if goals["stages"]
                   else f"{goals['outcome_column']} is true" if goals["source"] == "outcome"
                   else "no goal")
    tiles = [
        ("Journeys", format_count(data["journeys"]), format_counted(data["events"], "events")),
        ("Goal reached", pct(goals["rate"]), goal_detail),
        ("Dead-ends", pct(data["dead_ends"]["rate"]),
         format_counted(data["dead_ends"]["journeys"], "journeys")),
        ("Median journey", wait(durations["median"]), f"90% within {wait(durations['p90'])}"),
        ("Paths", format_count(data["paths_total"]),
         f"top {min(top, len(data['paths']))} cover {pct(_coverage(data, top), 0)}"),
    ]
    if data["handoffs"]["column"]:
        tiles.append(("Hand-offs", format_count(data["handoffs"]["count"]),
                      f"{data['handoffs']['column']} changes"))
    return Figures(tiles)


def _coverage(data: dict[str, Any], n: int) -> float | None:
    paths = data["paths"][:n]
    return paths[-1]["coverage"] if paths else None


def _definition(report: Report) -> Notes:
    """How the journeys were cut from the log, which were kept, and what counts as success."""
    data, options = report.journey, report.options
    case = data["reading"]["mapping"]["case"]["column"]
    gap = report.journey_map.log.journey_gap_seconds
    split = (f", split after {format_seconds(gap)} without an event (--journey-gap)" if gap
             else ", not split by inactivity (--journey-gap 30m would split it)")
    filters = [f"--where {w}" for w in options.where]
    filters += [f"--{flag} {day:%Y-%m-%d}" for flag, day in
                (("since", options.since), ("until", options.until)) if day]
    kept = ("Filters: " + ", ".join(filters) + " (journeys by their first event)" if filters
            else "Filters: none; every journey of the log")
    return Notes([
        f"Journeys: one per value of {case}{split}.",
        f"Events from {when(data['first_timestamp'])} to {when(data['last_timestamp'])}.",
        f"{kept}.",
        f"Goals: {_goals_why(data['goals'], options.goal_share)}. A dead-end is a journey that "
        "ended without reaching a goal.",
    ])


def _goals_why(goals: dict[str, Any], share: float) -> str:
    rule = (f"stages where at least {share:.0%} of the journeys reaching them end, and that "
            f"end at least {GOAL_MIN_ENDS:.0%} of all journeys")
    if goals["source"] == "flag":
        return ", ".join(goals["stages"]) + ", given by --goal (or cjm.toml)"
    if goals["source"] == "outcome":
        return (f"journeys whose {goals['outcome_column']} is true (true, yes, 1, …), from "
                "the log's outcome column")
    if goals["source"] == "inferred":
        return ", ".join(goals["stages"]) + f", inferred: {rule}"
    return (f"none; no --goal, no outcome column, and no stage that at least {share:.0%} of "
            f"the journeys reaching it end at (and {GOAL_MIN_ENDS:.0%} of all journeys); "
            "name one with --goal STAGE")


def _paths(data: dict[str, Any], top: int) -> Table:
    rows = [[str(i), path_text(p["stages"]), format_count(p["journeys"]), Share(p["share"]),
             pct(p["coverage"]), wait(p["median_seconds"])]
            for i, p in enumerate(data["paths"][:top], start=1)]
    return Table(["#", "Path", "Journeys", "Share", "Cumulative", "Median duration"], rows,
                 numeric=(0, 2, 4, 5),
                 caption=f"The {min(top, len(data['paths']))} most frequent of "
                         f"{format_counted(data['paths_total'], 'paths')}")


def _dead_ends(data: dict[str, Any], top: int) -> list[Block]:
    dead = data["dead_ends"]
    if data["goals"]["source"] == "none":
        nearest = ", ".join(f"{c['stage']} {pct(c['share_ending'])} (--goal {quote(c['stage'])})"
                            for c in data["goals"]["candidates"])
        return [Notes(["No goal stage is known, so no journey counts as a dead-end. "
                       "Name one with --goal STAGE."
                       + (f" Nearest to a goal, by the share of the journeys reaching the stage "
                          f"that end there: {nearest}." if nearest else "")])]
    rows = [[d["stage"], format_count(d["journeys"]), Share(d["share_of_reaching"]),
             pct(d["share_of_dead_ends"]), path_text(d["top_path"]),
             format_count(d["top_path_journeys"])] for d in dead["stages"][:top]]
    notes = [f"{format_counted(dead['journeys'], 'journeys')} ({pct(dead['rate'])}) ended without "
             "reaching a goal."]
    if dead["open_journeys"]:
        notes.append(f"{format_count(dead['open_journeys'])} recent journeys are still open "
                     "and not counted.")
    return [Notes(notes), Table(
        ["Last stage", "Journeys", "Of those reaching it", "Of all dead-ends",
         "Most common path there", "Its journeys"], rows, numeric=(1, 3, 5))]


def _gaps(data: dict[str, Any], top: int) -> list[Block]:
    slow = [[t["from"], t["to"], wait(t["median_seconds"]), format_count(t["count"])]
            for t in data["gaps"]["slowest"][:top]]
    rework = [[r["stage"], format_count(r["journeys"]), format_count(r["extra_visits"])]
              for r in data["loops"]["rework"][:top]]
    often = f"taken at least {format_counted(data['gaps']['min_count'], 'times')}"
    blocks: list[Block] = [Table(["From", "To", "Median wait", "Transitions"], slow,
                                 numeric=(2, 3), caption=f"Slowest transitions ({often})")
                           if slow else Notes([f"No transition is {often}."])]
    if rework:
        blocks.append(Table(["Stage", "Journeys coming back", "Extra visits"], rework,
                            numeric=(1, 2), caption="Loops: stages visited again"))
    return blocks


def _handoffs(data: dict[str, Any], top: int) -> list[Block]:
    hand = data["handoffs"]
    if not hand["column"]:
        return [Notes(["The log has no channel (or other hand-off) column."])]
    matrix = [[h["from"], h["to"], format_count(h["count"]), wait(h["median_seconds"])]
              for h in hand["matrix"][:top]]
    where = [[t["from"], t["to"], format_count(t["handoffs"]), format_count(t["count"])]
             for t in hand["transitions"][:top]]
    return [
        Notes([f"{format_counted(hand['count'], 'transitions')} "
               f"{'changes' if hand['count'] == 1 else 'change'} {hand['column']}."]),
        Table([f"From {hand['column']}", f"To {hand['column']}", "Hand-offs", "Median wait"],
              matrix, numeric=(2, 3), caption="Between which"),
        Table(["From stage", "To stage", "Hand-offs", "Transitions"], where, numeric=(2, 3),
              caption="At which transitions"),
    ]


def _slices(report: Report) -> Section:
    rows = []
    for s in report.slices:
        d = s.journey
        worst = d["dead_ends"]["stages"][0]["stage"] if d["dead_ends"]["stages"] else "–"  # noqa: RUF001
        rows.append([s.label, format_count(d["journeys"]), Share(d["goals"]["rate"]),
                     pct(d["dead_ends"]["rate"]), wait(d["duration_seconds"]["median"]),
                     worst])
    blocks: list[Block] = [Table(
        ["Slice", "Journeys", "Goal reached", "Dead-ends", "Median journey",
         "Most dead-ends at"], rows, numeric=(1, 3, 4),
        caption="Measured against the goals of the whole log")]
    for s in report.slices:
        blocks += [Heading(s.label), _figures(s.journey, report.options.top),
                   Map(s.figure, _legend(s.figure.view))]
    return Section("slices", f"By {report.slice_by}", blocks)


def _funnel(data: dict[str, Any]) -> list[Block]:
    rows = [[s["stage"], format_count(s["journeys"]), pct(s["step_conversion"]),
             Share(s["overall_conversion"]), wait(s["median_seconds"]),
             format_count(s["dropped"]),
             ", ".join(f"{w['stage']} ({format_count(w['journeys'])})"
                       for w in s["went_instead"][:3])]
            for s in data["steps"]]
    within = f", within {wait(data['within_seconds'])}" if data["within_seconds"] else ""
    return [Notes([f"{pct(data['conversion'])} of {format_counted(data['journeys'], 'journeys')} "
                   f"pass every step ({data['order']} order{within})."]),
            Table(["Step", "Journeys", "From the step before", "Of all", "Median time",
                   "Dropped", "Went instead to"], rows, numeric=(1, 2, 4, 5))]


def _attribution(data: dict[str, Any], top: int) -> list[Block]:
    def interval(share: dict[str, float]) -> str:
        return f"{share['low'] * 100:.1f}–{share['high'] * 100:.1f}%"  # noqa: RUF001

    goals = data["goals"]
    reached = (f"reach {', '.join(goals['stages'])}" if goals["stages"]
               else f"say yes in {goals['outcome_column']}")
    kind = "channels" if data["by"] == "channel" else "stages"
    upto = "up to and including" if data["by"] == "channel" else "before"
    touches = (f"the {kind} {upto} the first goal event" if goals["stages"]
               else f"all the journey's {kind}")
    notes = [f"{format_count(data['conversions'])} of "
             f"{format_counted(data['journeys'], 'journeys')} with a touch {reached}. "
             f"Touches: {touches}, a repeat in a row counted once.",
             "Each model splits the conversions among the touchpoints; the Markov share is the "
             "removal effect's. 95% intervals from "
             f"{format_count(data['bootstrap']['resamples'])} bootstrap resamples of the "
             "journeys. Association, not cause: a removal effect is not the lift a touchpoint "
             "brings."]
    if data["without_touches"]["journeys"]:
        notes.append(f"{format_counted(data['without_touches']['journeys'], 'journeys')} "
                     "without a touch are left out.")
    if data["hidden"]:
        notes.append(f"{format_counted(data['hidden'], kind)} that fewer than "
                     f"{data['min_journeys']} journeys touch are left out (--min-journeys).")
    rows = [[t["name"], format_count(t["journeys"]), Share(t["markov"]["share"]),
             interval(t["markov"]),
             *(f"{pct(t[m]['share'])} ({interval(t[m])})"
               for m in ("first_touch", "last_touch", "linear"))]
            for t in data["touchpoints"][:top]]
    return [Notes(notes),
            Table([kind[:-1].capitalize(), "Journeys", "Markov", "95% interval", "First touch",
                   "Last touch", "Linear"], rows, numeric=(1, 2, 3, 4, 5, 6),
                  caption="Shares of the conversions, largest Markov share first")]


def _comparison(data: dict[str, Any], figure: Figure | None, top: int) -> list[Block]:
    a, b = data["a"], data["b"]
    sides = [[s["label"], format_count(s["journeys"]), pct(s["goal_rate"]),
              pct(s["dead_end_rate"]), wait(s["median_duration_seconds"])] for s in (a, b)]
    changed = [t for t in data["transitions"] if t["significant"]][:top]
    rows = [[t["from"], t["to"], pct(t["share_a"]), pct(t["share_b"]),
             f"{t['change'] * 100:+.1f} pp", f"{t['adjusted_p']:.2g}"] for t in changed]
    dead = [[d["stage"], pct(d["share_a"]), pct(d["share_b"]), f"{d['change'] * 100:+.1f} pp"]
            for d in data["dead_ends"] if d["significant"]][:top]
    blocks: list[Block] = [
        Table(["", "Journeys", "Goal reached", "Dead-ends", "Median journey"], sides,
              numeric=(1, 2, 3, 4), caption=f"A: {a['label']}; B: {b['label']}"),
        Table(["From", "To", "Share in A", "Share in B", "Change", "Adjusted p"], rows,
              numeric=(2, 3, 4, 5),
              caption="Transitions whose share of their stage changed significantly "
                      f"(Holm-adjusted, alpha {data['alpha']:g})"),
    ]
    if dead:
        blocks.append(Table(["Stage", "Dead-ends in A", "Dead-ends in B", "Change"], dead,
                            numeric=(1, 2, 3), caption="Dead-end stages that changed"))
    if data["new_paths"] or data["vanished_paths"]:
        paths = [["new in B", path_text(p["stages"]), format_count(p["journeys"])]
                 for p in data["new_paths"][:top]]
        paths += [["gone in B", path_text(p["stages"]), format_count(p["journeys"])]
                  for p in data["vanished_paths"][:top]]
        blocks.append(Table(["", "Path", "Journeys"], paths, numeric=(2,),
                            caption="Paths seen on one side only"))
    if figure:
        blocks.append(Map(figure, "Green: grew, red: shrank, grey: no significant change; "
                                  "a transition is labelled with its change only when it is "
                                  "significant; dotted edges from start and to end carry "
                                  "their journeys."))
    return blocks


def _check(data: dict[str, Any], figure: Figure | None, top: int) -> list[Block]:
    design = data["design"]
    figures = Figures([
        ("Conforming", pct(data["conformance_rate"]),
         f"{format_count(data['conforming'])} of {format_counted(data['journeys'], 'journeys')}"),
        ("Fitness", f"{data['fitness']:.3f}", "token replay"),
        ("Precision", f"{data['precision']:.3f}", "escaping edges"),
    ])
    rows = [[d["description"], d["detail"], format_count(d["journeys"]), Share(d["share"]),
             ", ".join(d["examples"])] for d in data["deviations"][:top]]
    blocks: list[Block] = [
        Notes([f"Against the design {design['name']} ({design['kind']}, {design['path']})."]),
        figures,
        Table(["Deviation", "Where", "Journeys", "Share", "For example"], rows,
              numeric=(2,), caption="Deviations, by the journeys they affect"),
    ]
    if figure:
        blocks.append(Map(figure, "Deviations in red; designed but unused stages and "
                                  f"transitions dashed grey. {_legend(figure.view)}"))
    return blocks


def _time_to(quantile: dict[str, Any]) -> str:
    """A time to goal and its 95% interval, or "not reached"."""
    def shown(seconds: float | None) -> str:
        return "not reached" if seconds is None else wait(seconds)

    if quantile["seconds"] is None:
        return "not reached"
    return f"{shown(quantile['seconds'])} ({shown(quantile['low'])} to {shown(quantile['high'])})"


def _timing(data: dict[str, Any] | None) -> list[Block]:
    if data is None:
        return [Notes(["No goal stage is known, so there is no time to goal. Name one with "
                       "--goal STAGE."])]
    goals = data["goals"]
    target = (f"the first event whose {goals['outcome_column']} is true"
              if goals["source"] == "outcome" else "the first event at " +
              ", ".join(goals["stages"]))
    curves = [("All journeys", data["all"]), *((g["label"], g) for g in data["groups"])]
    rows = [[label, format_count(c["journeys"]), format_count(c["reached"]),
             _time_to(c["median"]), _time_to(c["p90"])] for label, c in curves]
    shares = [[wait(t), *("–" if c["at"][i] is None else pct(c["at"][i]["reached"])  # noqa: RUF001
                          for _, c in curves)]
              for i, t in enumerate(data["checkpoints"])]
    notes = [f"From a journey's first event to {target}. Journeys that have not reached it "
             "are censored at their last event (or at the log's end while still active); the "
             "shares are Kaplan-Meier estimates, of the journeys followed that long. "
             "Association, not cause."]
    test = data["logrank"]
    if test is not None:
        verdict = "differ" if test["p_value"] < 0.05 else "show no clear difference"
        notes.append(f"Log-rank test between the {len(data['groups'])} groups: chi-square "
                     f"{test['chi_square']:.2f}, {test['df']} df, p = {test['p_value']:.3g}: "
                     f"they {verdict} in how soon journeys reach the goal.")
    return [Notes(notes + data["notes"]),
            Table(["", "Journeys", "Reached", "Median (95% interval)",
                   "90% reached by (95% interval)"], rows, numeric=(1, 2, 3, 4)),
            Table(["By", *(label for label, _ in curves)], shares,
                  numeric=tuple(range(1, len(curves) + 1)),
                  caption="Share of journeys that reached the goal by each time")]


def _data(data: dict[str, Any], warnings: list[str]) -> list[Block]:
    reading = data["reading"]
    files = [[f["path"], f["format"], format_count(f["rows"]), format_count(f["events"]),
              format_count(f["rejected"]), format_count(f["filtered"])]
             for f in reading["files"]]
    mapping = [[role, item["column"], item["source"]]
               for role, item in reading["mapping"].items()]
    blocks: list[Block] = [
        Table(["File", "Format", "Rows", "Events", "Rejected", "Filtered"], files,
              numeric=(2, 3, 4, 5), caption="Every row is an event, rejected or filtered"),
        Table(["Role", "Column", "From"], mapping, caption="Columns read"),
    ]
    if warnings:
        blocks.append(Notes(warnings))
    return blocks


ENDED_LABELS = {"goal": "(ended: goal reached)", "dead_end": "(ended: dead-end)",
                "open": "(ended: still active)"}


def _step_matrix(data: dict[str, Any]) -> list[Block]:
    """The step matrix: a heat map (HTML) or a table (Markdown) of the shares per step."""
    from cjm.render.heatmap import heatmap_svg

    columns = [str(k + 1) for k in range(data["steps"])]
    rows = [(r["stage"], r["shares"]) for r in data["stages"]]
    rows += [(ENDED_LABELS[r["status"]], r["shares"]) for r in data["ended"]
             if any(r["journeys"])]
    title = "Share of the journeys at each of their first events"
    table = Table(["stage", *columns],
                  [[name, *("*" if s is None else Share(s) if s else "" for s in shares)]
                   for name, shares in rows],
                  numeric=tuple(range(1, len(columns) + 1)), caption=title)
    notes = [f"Where the {format_counted(data['journeys'], 'journeys')} are at each of their "
             f"first {data['steps']} events, and how those that ended by then ended; each "
             "step adds up to 100% (*: fewer than --min-journeys). Association, not cause."]
    return [Notes(notes), Heatmap(heatmap_svg(title, columns, rows), table)]


def _personas(data: dict[str, Any]) -> list[Block]:
    """The personas: size, goal rate, duration, what sets each apart, its top path."""
    rows = [[f"persona {p['persona']}", format_count(p["journeys"]), Share(p["share"]),
             pct(p["goal_rate"]), wait(p["median_seconds"]),
             ", ".join(f["name"] for f in p["apart"][:3]),
             " → ".join(p["top_paths"][0]["stages"]) if p["top_paths"] else ""]
            for p in data["personas"]]
    chosen = "the best silhouette" if data["k_chosen"] == "auto" else "as asked"
    notes = [f"{format_counted(data['journeys'], 'journeys')} grouped by the stages and "
             f"transitions they take into {data['k']} personas ({chosen}); a description of "
             "behaviour, not a cause. See cjm personas for their maps."]
    if data["withheld"]["personas"]:
        notes.append(f"{format_counted(data['withheld']['personas'], 'personas')} of fewer "
                     "than --min-journeys journeys left out")
    return [Notes(notes), Table(["", "journeys", "share", "goal reached", "median journey",
                                 "sets it apart", "top path"], rows, numeric=(1, 2, 3, 4),
                                caption="Personas, largest first")]
