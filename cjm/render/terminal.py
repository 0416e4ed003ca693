"""Rich renderings of results for the terminal (plain text when not on a terminal)."""

from __future__ import annotations

from collections.abc import Iterator
from shlex import quote
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape as escape_markup
from rich.text import Text

from cjm.render.grid import Grid, markup
from cjm.safety import printable
from cjm.units import format_count as count
from cjm.units import format_counted as counted
from cjm.units import format_days, format_seconds

NAME_WIDTH = 34
CELL_WIDTH = 60  # a name in a table longer than this loses its middle; the rest wraps
PATH_WIDTH = 160  # a path longer than this loses stages from its middle; tables fold the rest


def escape(text: str) -> str:
    """Text from the data as literal terminal text: no Rich markup, no control characters."""
    return escape_markup(printable(text))


def short(name: str, width: int = NAME_WIDTH) -> str:
    """A stage name cut to ``width`` characters, keeping its start and its end."""
    name = " ".join(name.split())
    if len(name) <= width:
        return name
    keep = width - 1
    return name[: keep - keep // 3] + "…" + name[len(name) - keep // 3:]


def cell(name: str) -> str:
    """A name from the data for a table cell: whole up to ``CELL_WIDTH``, where it wraps."""
    return escape(short(name, CELL_WIDTH))


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def table(title: str, *columns: str, right: tuple[int, ...] = (), drop: tuple[int, ...] = (),
          move: tuple[int, ...] = ()) -> Grid:
    """A borderless table whose ``right`` columns hold numbers, the others text.

    When the console is too narrow for every column, the ``move`` columns are listed under
    the table, then the ``drop`` columns (text that the others make plain) are left out."""
    return Grid(title, columns, frozenset(right), move, drop)


def reading_header(log, where_rejects: bool = True) -> RenderableType:
    """Files, counts and the accounting line every command prints first; with rejects, and
    ``where_rejects``, where to see why each row was rejected."""
    lines = []
    for report in log.files:
        parts = [f"{counted(report.rows, 'rows')}", f"{counted(report.events, 'events')}"]
        if report.rejected:
            parts.append(f"[red]{count(report.rejected)} rejected[/]")
        if report.filtered:
            parts.append(f"{count(report.filtered)} filtered")
        detail = report.details.get("delimiter")
        fmt = report.format + (f" {_delimiter_name(detail)}" if detail else "")
        lines.append(f"[bold]{escape(report.path)}[/] ({fmt}): " + ", ".join(parts))
        if report.rejected and report.details.get("rows_are"):  # where the rejects' "lines" are
            lines.append(f"[dim]  line numbers: {escape(report.details['rows_are'])}[/]")
    span = ""
    if log.first_timestamp and log.last_timestamp:
        seconds = (log.last_timestamp - log.first_timestamp).total_seconds()
        span = (f", {format_days(log.first_timestamp, log.last_timestamp, log.timezone)} "
                f"({format_seconds(seconds)})")
    lines.append(f"{counted(log.journeys, 'journeys')}, {counted(log.events, 'events')}, "
                 f"{counted(log.stages, 'stages')}{span}")
    if len(log.files) > 1 or log.rejected or log.filtered:
        lines.append(f"rows read {count(log.rows)} = events {count(log.events_read)} + rejected "
                     f"{count(log.rejected)} + filtered {count(log.filtered)}")
    if log.rejected and where_rejects:
        lines.append("rejected rows: why and where in [bold]cjm inspect[/]; each one with "
                     "[bold]--rejects FILE.csv[/]")
    return markup("\n".join(lines))


def mapping_line(log) -> Text:
    """The column roles on one line: what was used for what, and where that came from."""
    by_source: dict[str, list[str]] = {}
    for role, choice in log.mapping.to_dict().items():
        by_source.setdefault(choice["source"], []).append(f"{role}={choice['column']}")
    parts = [f"{', '.join(items)} ({source})" for source, items in by_source.items()]
    return Text(printable(f"columns: {'; '.join(parts)}; "
                          f"timestamps {log.timestamp_format.description}"), style="dim")


def _delimiter_name(delimiter: str) -> str:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    return names.get(delimiter, repr(delimiter)) + "-separated"


def mapping_table(log) -> Grid:
    grid = table("Columns", "role", "column", "from")
    for role, choice in log.mapping.to_dict().items():
        grid.add_row(role, escape(choice["column"]), escape(choice["source"]))
    grid.add_row("timestamps", escape(log.timestamp_format.description),
                 log.timestamp_format.source)
    return grid


def notes_and_warnings(log, extra_notes=()) -> Iterator[RenderableType]:
    for note in (*log.notes, *extra_notes):
        yield markup(f"[cyan]Note:[/] {escape(note)}")
    for warning in log.warnings:
        example = f" (e.g. {', '.join(warning.examples[:2])})" if warning.examples else ""
        yield markup(f"[yellow]Warning:[/] {escape(warning.message + example)}")


def rejects_table(reasons: list[dict[str, Any]]) -> Grid:
    grid = table("Rejected rows", "rows", "reason", "first at", right=(0,))
    for item in reasons:
        grid.add_row(count(item["count"]), escape(item["reason"]),
                     escape(", ".join(item["examples"])))
    return grid


def inspect_view(description, top: int = 20) -> RenderableType:
    """The whole ``cjm inspect`` report."""
    log = description.log
    parts: list[RenderableType] = [reading_header(log, where_rejects=False), Text(),
                                   mapping_table(log), Text()]
    per = description.events_per_journey
    parts.append(Text(f"events per journey: min {per['min']}, median {per['median']:g}, "
                      f"mean {per['mean']:.1f}, max {per['max']}"))
    parts.append(Text())
    stages = table(f"Stages ({len(description.stages)})", "stage", "events", "share",
                   "journeys", right=(1, 2, 3))
    for stage in description.stages[:top]:
        stages.add_row(cell(stage.name), count(stage.events), percent(stage.share),
                       count(stage.journeys))
    if len(description.stages) > top:
        stages.add_row(f"… {len(description.stages) - top} more", "", "", "")
    parts.append(stages)
    if description.reject_reasons:
        parts += [Text(), rejects_table(description.reject_reasons)]
    extra = list(notes_and_warnings(log))
    if extra:
        parts += [Text(), *extra]
    return Group(*parts)


def path_text(stages, width: int = 60) -> str:
    """A path as ``A → B → C``, cut in the middle when too long."""
    names = [short(s) for s in stages]
    text = " → ".join(names)
    if len(text) <= width:
        return text
    # Keep whole stages from both ends, the entry and the last steps, and say what is left out.
    head, tail = names[:2], names[2:]
    while len(tail) > 1 and len(" → ".join([*head, "… (+99) …", *tail])) > width:
        tail = tail[1:]
    hidden = len(names) - len(head) - len(tail)
    if not hidden:
        return text
    return " → ".join([*head, f"… (+{hidden}) …", *tail])


def _goals_line(jm) -> Text:
    goals = jm.goals
    if goals.source == "none":
        nearest = ", ".join(f"{escape(name)} {percent(share)} (--goal {escape(quote(name))})"
                            for name, share in goals.candidates)
        return markup(
            f"[yellow]Goals:[/] none inferred ({goals.rule})"
            + (f"; nearest: {nearest}" if nearest else "")
            + "; pass --goal STAGE or --outcome COLUMN to see dead-ends")
    if goals.source == "outcome":
        what = f"journeys whose {escape(goals.outcome_column)} is true"
    else:
        what = ", ".join(escape(g) for g in goals.stages)
    how = {"flag": "", "outcome": "",
           "inferred": " [dim](inferred; set them with --goal STAGE)[/]"}[goals.source]
    rate = f" — reached by {percent(jm.goal_rate)} of journeys" if jm.goal_rate is not None else ""
    return markup(f"[bold]Goals:[/] {what}{rate}{how}")


def discover_view(jm, graph=None, top: int = 10, written=()) -> RenderableType:
    """The ``cjm discover`` summary."""
    log = jm.log
    parts: list[RenderableType] = [reading_header(log), mapping_line(log)]
    parts.append(Text(
        f"journey duration: median {format_seconds(jm.duration_median)}, "
        f"p90 {format_seconds(jm.duration_p90)}; events per journey: median "
        f"{jm.events_per_journey['median']:g}, max {jm.events_per_journey['max']}"))
    parts.append(_goals_line(jm))

    grid = table(f"Transitions (top {min(top, len(jm.transitions))} of {len(jm.transitions)})",
                 "from", "to", "count", "% of from", "median wait", right=(2, 3, 4))
    for t in jm.transitions[:top]:
        grid.add_row(cell(t.source), cell(t.target), count(t.count),
                     percent(t.share), format_seconds(t.median_seconds))
    parts += [Text(), grid]

    grid = table(f"Paths (top {min(top, jm.paths_total)} of {jm.paths_total:,})", "#",
                 "journeys", "share", "cover", "path", right=(0, 1, 2, 3))
    for i, p in enumerate(jm.paths[:top], start=1):
        grid.add_row(str(i), count(p.journeys), percent(p.share), percent(p.coverage),
                     escape(path_text(p.stages, PATH_WIDTH)))
    parts += [Text(), grid]

    if jm.dead_ends:
        rate = percent(jm.dead_end_rate) if jm.dead_end_rate is not None else "–"  # noqa: RUF001
        open_note = f", {count(jm.open_journeys)} still open" if jm.open_journeys else ""
        grid = table(f"Dead-ends: {counted(jm.dead_end_journeys, 'journeys')} ({rate}){open_note}",
                     "stage", "journeys", "of reaching", "of dead-ends", "most common path",
                     right=(1, 2, 3), move=(4,))
        for d in jm.dead_ends[:top]:
            grid.add_row(cell(d.stage), count(d.journeys),
                         percent(d.share_of_reaching), percent(d.share_of_dead_ends),
                         escape(path_text(d.top_path, PATH_WIDTH)))
        parts += [Text(), grid]

    often = counted(jm.gap_min_count, "times")
    slow = jm.slowest(min(top, 5))
    grid = table(f"Gaps: slowest transitions (taken at least {often})", "from", "to",
                 "median wait", "count", right=(2, 3))
    for t in slow:
        grid.add_row(cell(t.source), cell(t.target),
                     format_seconds(t.median_seconds), count(t.count))
    parts += [Text(), grid if slow else markup(
        f"[bold]Gaps:[/] no transition is taken at least {often} (--gap-min-count 1 shows the "
        "slowest of all)")]

    if jm.handoffs:
        total = sum(t.count for t in jm.transitions)
        grid = table("", "from", "to", "count", "median wait", right=(2, 3))
        grid.title = None
        for h in jm.handoffs[:top]:
            grid.add_row(escape(h.source), escape(h.target), count(h.count),
                         format_seconds(h.median_seconds))
        parts += [Text(), markup(
            f"[bold]Hand-offs: {count(jm.handoff_count)} of {counted(total, 'transitions')} change "
            f"{escape(jm.handoff_column)}[/]"), grid]
        where = ", ".join(f"{escape(short(t.source, 20))} → {escape(short(t.target, 20))} "
                          f"({count(t.handoffs)})" for t in jm.handoff_transitions(3))
        parts.append(markup(f"most hand-offs at: {where}"))

    loops = jm.self_loops
    if loops or jm.rework:
        text = []
        if loops:
            text.append("self-loops: " + ", ".join(
                f"{escape(short(t.source, 24))} ({count(t.count)})" for t in loops[:3]))
        if jm.rework:
            text.append("rework: " + ", ".join(
                f"{escape(short(r.stage, 24))} ({counted(r.journeys, 'journeys')})"
                for r in jm.rework[:3]))
        parts += [Text(), markup("; ".join(text))]
    parts += _map_and_written(graph, written)
    return Group(*parts)


def _map_and_written(graph, written) -> list[Text]:
    """What the drawn map hides (and the flags that show it), then the files written."""
    lines = []
    if graph is not None and graph.hidden_summary():
        lines.append(markup(f"[cyan]Map:[/] {escape(graph.hidden_summary())}"))
    return lines + [markup(f"[green]Wrote[/] {escape(str(path))}") for path in written]


def model_view(jm, model, scores, written) -> RenderableType:
    """The ``cjm model`` summary."""
    parts: list[RenderableType] = [reading_header(jm.log), mapping_line(jm.log)]
    share = model.journeys_covered / jm.journeys if jm.journeys else 0.0
    parts.append(Text(
        f"model: inductive miner, noise {model.noise:g}, from {count(model.paths_used)} of "
        f"{counted(jm.paths_total, 'paths')} ({percent(share)} of journeys)"))
    if scores is not None:
        fitness, precision = scores
        parts.append(Text(f"fitness {fitness:.3f} (token replay), precision {precision:.3f}"))
    for path in written:
        parts.append(markup(f"[green]Wrote[/] {escape(str(path))}"))
    return Group(*parts)


def _more(items: list, top: int, separator: str = ", ") -> str:
    """What a list cut at ``top`` leaves out, said at its end."""
    return f"{separator}… {count(len(items) - top)} more" if len(items) > top else ""


def check_view(result, top: int = 10, written=(), graph=None) -> RenderableType:
    """The ``cjm check`` summary."""
    from cjm.conformance import KINDS

    design = result.design
    parts: list[RenderableType] = [reading_header(result.journey_map.log)]
    parts.append(Text(f"design: {design.name} ({design.kind}, "
                      f"{counted(len(design.stages), 'stages')}, "
                      f"goals: {', '.join(sorted(design.goals))})"))
    scores = f"fitness {result.fitness:.3f}"
    if result.precision is not None:
        scores += f", precision {result.precision:.3f}"
    if result.exact_fitness is not None:
        scores += f", exact fitness {result.exact_fitness:.3f} (alignments)"
    parts.append(markup(
        f"[bold]Conformance:[/] {count(result.conforming)} of {count(result.journeys)} "
        f"journeys ({percent(result.conformance_rate)}) follow the design; {scores}"))
    if result.deviations:
        grid = table(f"Deviations (top {min(top, len(result.deviations))} of "
                     f"{len(result.deviations)})", "deviation", "detail", "journeys", "share",
                     "for example", right=(2, 3))
        for d in result.deviations[:top]:
            grid.add_row(KINDS[d.kind], escape(d.detail), count(d.journeys),
                         percent(d.journeys / result.journeys), escape(", ".join(d.examples)))
        parts += [Text(), grid]
    if result.exact_deviations:
        from cjm.conformance import EXACT_KINDS

        grid = table(f"Exact deviations (alignments of the {count(result.exact_paths)} most "
                     "frequent paths)", "deviation", "stage", "journeys", "for example",
                     right=(2,))
        for d in result.exact_deviations[:top]:
            grid.add_row(EXACT_KINDS[d.kind], escape(d.detail), count(d.journeys),
                         escape(", ".join(d.examples)))
        parts += [Text(), grid]
    if result.missing_stages:
        listed = ", ".join(f"{escape(short(s, 24))} ({counted(n, 'events')})"
                           for s, n in result.missing_stages[:top])
        listed += _more(result.missing_stages, top)
        parts += [Text(), markup(f"[yellow]In the log, not in the design:[/] {listed}")]
    if result.unused_stages:
        parts.append(markup("[yellow]In the design, never in the log:[/] "
                            + escape(", ".join(result.unused_stages))))
    if result.unused_transitions:
        listed = ", ".join(f"{a} → {b}" for a, b in result.unused_transitions[:top])
        parts.append(markup(f"designed transitions never taken: {escape(listed)}"
                            f"{_more(result.unused_transitions, top)}"))
    for note in result.notes:
        parts.append(markup(f"[cyan]Note:[/] {escape(note)}"))
    parts += _map_and_written(graph, written)
    return Group(*parts)


def funnel_view(result, log) -> RenderableType:
    """The ``cjm funnel`` summary."""
    window = f", within {format_seconds(result.within_seconds)} of the first step" \
        if result.within_seconds else ""
    head = reading_header(log) if log.label is None else markup(
        f"[bold]{escape(log.label)}[/]: {counted(log.journeys, 'journeys')}")
    parts: list[RenderableType] = [head, Text(
        f"funnel of {counted(len(result.steps), 'steps')}, {result.order} order{window}: "
        f"{percent(result.conversion)} of the journeys that start it finish it")]
    grid = table("", "step", "journeys", "from previous", "from first", "median time",
                 "dropped", "where the dropped went next", right=(1, 2, 3, 4, 5),
                 move=(6,))
    grid.title = None
    for step in result.steps:
        went = ", ".join(f"{escape(short(s, 24))} ({count(n)})" for s, n in step.went_instead)
        grid.add_row(cell(step.stage), count(step.journeys),
                     percent(step.step_conversion), percent(step.overall_conversion),
                     format_seconds(step.median_seconds) if step.median_seconds is not None
                     else "", count(step.dropped) if step.dropped else "", went)
    parts += [Text(), grid]
    return Group(*parts)


def _points(change: float) -> str:
    return f"{change * 100:+.1f} pp"


def _p(value: float | None) -> str:
    if value is None:
        return "too few"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _goals_of(goals) -> str:
    """What a goal rate counts: A's goals, which B is measured against."""
    if goals.source == "outcome":
        return f"{goals.outcome_column} is true"
    inferred = "; inferred on A" if goals.source == "inferred" else ""
    return f"reaching {', '.join(goals.stages)}{inferred}"


def compare_view(result, top: int = 10, written=(), graph=None) -> RenderableType:
    """The ``cjm compare`` summary."""
    a, b = result.a, result.b
    parts: list[RenderableType] = [markup(
        f"[bold]A[/] {escape(result.label_a)}: {counted(a.journeys, 'journeys')}, "
        f"{counted(a.events, 'events')}, median {format_seconds(a.duration_median)}\n"
        f"[bold]B[/] {escape(result.label_b)}: {counted(b.journeys, 'journeys')}, "
        f"{counted(b.events, 'events')}, median {format_seconds(b.duration_median)}")]
    goal = result.goal_rate
    if goal is not None:
        verdict = "significant" if goal.significant(result.alpha) else "not significant"
        parts.append(Text(f"goal rate ({_goals_of(a.goals)}): {percent(goal.share_a)} → "
                          f"{percent(goal.share_b)} ({_points(goal.change)}, "
                          f"p {_p(goal.p_value)}, {verdict})"))
    significant = result.significant
    heading = "Transitions whose share changed" if significant else \
        "Transitions (no change is significant; the closest first)"
    grid = table(f"{heading} ({len(significant)} of "
                 f"{len(result.transitions)} significant at {result.alpha:g}, Holm-adjusted; "
                 f"tested when A and B count {result.min_count}+)",
                 "from", "to", "A", "B", "change", "p (adj.)", "wait A → B",
                 right=(2, 3, 4, 5, 6), move=(6,))
    for t in (significant or result.transitions)[:top]:
        waits = (f"{format_seconds(t.median_a)} →", format_seconds(t.median_b))
        grid.add_row(cell(t.key[0]), cell(t.key[1]),
                     (percent(t.share_a), f"({count(t.count_a)})"),
                     (percent(t.share_b), f"({count(t.count_b)})"), _points(t.change),
                     _p(t.adjusted_p), waits)
    parts += [Text(), grid]
    for title, items in (("New transitions", result.new_transitions),
                         ("Vanished transitions", result.vanished_transitions)):
        if items:
            listed = ", ".join(f"{escape(short(t.key[0], 22))} → {escape(short(t.key[1], 22))} "
                               f"({count(max(t.count_a, t.count_b))})" for t in items[:top])
            listed += _more(items, top)
            parts.append(markup(f"[bold]{title}:[/] {listed}"))
    for title, paths in (("New paths", result.new_paths),
                         ("Vanished paths", result.vanished_paths)):
        if paths:
            listed = "; ".join(f"{escape(path_text(p, 60))} ({count(n)})" for p, n in paths[:5])
            listed += _more(paths, 5, "; ")
            parts.append(markup(f"[bold]{title}:[/] {listed}"))
    moved = [d for d in result.dead_ends if d.p_value is not None][:top]
    if moved:
        grid = table("Dead-end rates (of the journeys reaching the stage)", "stage", "A", "B",
                     "change", "p (adj.)", right=(1, 2, 3, 4))
        for d in moved:
            grid.add_row(cell(d.key[0]), percent(d.share_a), percent(d.share_b),
                         _points(d.change), _p(d.adjusted_p))
        parts += [Text(), grid]
    parts += _map_and_written(graph, written)
    return Group(*parts)


def slices_view(whole, results, by: str) -> RenderableType:
    """The side-by-side table of ``cjm discover --by`` or ``--period``."""
    parts: list[RenderableType] = [reading_header(whole.log), _goals_line(whole)]
    grid = table(f"By {escape(by)}", escape(by), "journeys", "goal rate", "dead-end rate",
                 "median duration", "top path", right=(1, 2, 3, 4), move=(5,))

    def rate(value: float | None) -> str:
        return percent(value) if value is not None else "–"  # noqa: RUF001

    def row(label: str, jm) -> None:
        top = path_text(jm.paths[0].stages, PATH_WIDTH) if jm.paths else ""
        grid.add_row(escape(label), count(jm.journeys), rate(jm.goal_rate),
                     rate(jm.dead_end_rate), format_seconds(jm.duration_median), escape(top))

    for label, jm, _ in results:
        row(label.split(" = ", 1)[-1], jm)
    row("all", whole)
    parts += [Text(), grid]
    for _, _, written in results:
        for path in written:
            parts.append(markup(f"[green]Wrote[/] {escape(str(path))}"))
    return Group(*parts)


def _money(value: float) -> str:
    return f"{value:,.2f}"


def channels_view(report, log, top: int = 10) -> RenderableType:
    """The ``cjm channels`` summary."""
    parts: list[RenderableType] = [reading_header(log)]
    grid = table(f"Channel mix per stage ({escape(report.column)})", "stage", "channels")
    for stage, mix in sorted(report.mix.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        total = sum(n for _, n in mix)
        grid.add_row(cell(stage), ", ".join(
            f"{escape(c)} {percent(n / total)}" for c, n in mix[:5]))
    parts += [Text(), grid]
    grid = table("Channel sequences", "journeys", "channels", right=(0,))
    for sequence, n in report.sequences[:top]:
        grid.add_row(count(n), escape(" → ".join(sequence)))
    parts += [Text(), grid]
    if report.escalations:
        how = "by price" if report.costs else "in the usual order web/app < chat < email < " \
            "phone < store"
        listed = ", ".join(f"{escape(a)} → {escape(b)} ({count(n)})"
                           for a, b, n in report.escalations[:top])
        parts += [Text(), markup(
            f"[bold]Escalations[/] to a dearer channel ({how}): {listed}; "
            f"{counted(report.escalation_journeys, 'journeys')} "
            f"{'escalates' if report.escalation_journeys == 1 else 'escalate'}")]
    if report.cost_per_journey:
        c = report.cost_per_journey
        parts += [Text(), markup(
            f"[bold]Cost to serve:[/] {_money(c['total'])} in all; per journey median "
            f"{_money(c['median'])}, mean {_money(c['mean'])}")]
        grid = table("Costliest paths (in total)", "journeys", "total", "median", "path",
                     right=(0, 1, 2))
        for path, journeys, total, median in report.cost_by_path[:top]:
            grid.add_row(count(journeys), _money(total), _money(median),
                         escape(path_text(path, PATH_WIDTH)))
        parts += [grid, Text()]
        grid = table("Cost by stage", "stage", "events", "total", right=(1, 2))
        for stage, events, total in report.cost_by_stage[:top]:
            grid.add_row(cell(stage), count(events), _money(total))
        parts.append(grid)
    else:
        parts += [Text(), Text("No costs: pass --channel-cost web=0.1,chat=2,… or map a cost "
                               "column with --cost.")]
    return Group(*parts)


def moments_view(result, log, top: int = 10) -> RenderableType:
    """The ``cjm moments`` summary."""
    def show(value: float) -> str:
        return percent(value) if result.kind == "rate" else f"{value:.2f}"

    def shift(value: float) -> str:
        return f"{value * 100:+.1f} pp" if result.kind == "rate" else f"{value:+.2f}"

    what = "rate" if result.kind == "rate" else "mean"
    parts: list[RenderableType] = [reading_header(log), Text(
        f"outcome: {result.outcome_column} ({what} {show(result.overall)} over "
        f"{counted(result.journeys, 'journeys')}). Association, not cause.")]
    if result.before_goal:
        how = " inferred; set them with --goal STAGE" if result.goals_source == "inferred" else ""
        parts.append(Text(f"Only what journeys do before the first goal "
                          f"({', '.join(result.goals)}{how})."))
    clear = sum(m.clear for m in result.items)
    parts.append(Text(f"Clear: {count(clear)} of {count(result.tests)} stages and transitions "
                      f"(p < {result.alpha:g} after Holm's correction for {count(result.tests)} "
                      "tests; intervals are per row)."))
    grid = table("Moments of truth (clearest and largest differences first)", "kind", "stage or "
                 "transition", "with", "without", "difference", "95% interval", right=(2, 3, 4, 5),
                 drop=(0,))
    for m in result.items[:top]:
        grid.add_row(m.kind, escape(m.name), (show(m.value_with), f"({count(m.journeys_with)})"),
                     (show(m.value_without), f"({count(m.journeys_without)})"),
                     shift(m.difference), (shift(m.low), "to", shift(m.high)))
    parts += [Text(), grid]
    return Group(*parts)


def attribution_view(result, log, top: int = 10) -> RenderableType:
    """The ``cjm attribution`` summary."""
    what, totals = ("channels" if result.by == "channel" else "stages"), result.shares
    if result.goals:
        goal = f"reaching {', '.join(result.goals)}{_inferred(result.goals_source)}"
        upto = "up to and including" if result.by == "channel" else "before"
        touches = f"{what} {upto} the first goal event"
    else:
        goal = f"{result.outcome_column} says yes"
        touches = f"all {what} of the journey (to stop at a goal stage, pass --goal STAGE)"
    lines = [f"Conversions: {count(totals.conversions)} of "
             f"{counted(totals.journeys, 'journeys')} with a touch ({goal}). Touches: "
             f"{touches}, a repeat in a row counted once."]
    if totals.without_touches:
        lines.append(f"{counted(totals.without_touches, 'journeys')} without a touch left "
                     f"out ({count(totals.conversions_without_touches)} of them converted).")
    lines.append(f"Shares of the conversions, with 95% intervals from "
                 f"{counted(totals.resamples, 'bootstrap resamples')} of the journeys. "
                 "Association, not cause: a removal effect is not the lift a touchpoint brings.")
    if result.hidden:
        lines.append(f"{counted(result.hidden, what)} seen in fewer than {result.min_journeys} "
                     f"journeys left out (--min-journeys {result.min_journeys}); the shares "
                     "are of all conversions.")
    grid = table(f"Attribution ({what} by Markov removal-effect share, largest first)",
                 result.by, "journeys", "Markov", "first touch", "last touch", "linear",
                 right=(1, 2, 3, 4, 5), move=(3, 4, 5))

    def share(s) -> tuple[str, str]:
        return percent(s.value), f"({s.low * 100:.1f}-{s.high * 100:.1f})"

    for t in result.touchpoints[:top]:
        grid.add_row(cell(t.name), count(t.journeys), share(t.markov), share(t.first_touch),
                     share(t.last_touch), share(t.linear))
    return Group(reading_header(log), *(Text(line) for line in lines), Text(), grid)


def _inferred(source: str) -> str:
    return "; inferred, set them with --goal STAGE" if source == "inferred" else ""


ENDED_NAMES = {"goal": "(ended: goal reached)", "dead_end": "(ended: dead-end)",
               "open": "(ended: still active)"}
STEPS_KEPT = 5  # steps always shown; a narrow terminal leaves out those after them


def _step_grid(title: str, steps: int, stages, ended, show) -> Grid:
    grid = table(title, "stage", *(str(k + 1) for k in range(steps)),
                 right=tuple(range(1, steps + 1)),
                 drop=tuple(range(steps, STEPS_KEPT, -1)))  # the last steps go first
    for r in stages:
        grid.add_row(cell(r.name), *(show(s) for s in r.shares))
    for r in ended:
        if any(r.journeys):  # "still active" without --still-active, say
            grid.add_row(ENDED_NAMES[r.name], *(show(s) for s in r.shares))
    return grid


def _share_cell(share: float | None) -> str:
    return "*" if share is None else "" if share == 0 else percent(share)


def _shift_cell(share: float | None) -> str:
    return "*" if share is None else "" if share == 0 else f"{share * 100:+.1f}"


def steps_view(result, log) -> RenderableType:
    """The ``cjm steps`` summary: the step matrix."""
    if result.goals_source == "outcome":
        goals = f"success: {result.outcome_column} says yes"
    elif result.goals:
        goals = f"goals: {', '.join(result.goals)}{_inferred(result.goals_source)}"
    else:
        goals = "no goal stage; pass --goal STAGE"
    parts: list[RenderableType] = [reading_header(log), Text(
        f"Where the {counted(result.journeys, 'journeys')} are at each of their first "
        f"{result.steps} events ({goals}). Each step adds up to 100%. Blank: none; *: fewer "
        f"than --min-journeys. A narrow terminal leaves out steps after {STEPS_KEPT}: --json "
        "has them all.")]
    if result.withheld:
        parts.append(Text(f"{counted(result.withheld, 'stages')} of fewer than "
                          f"{log.min_journeys} journeys at every step left out (--min-journeys)"))
    parts += [Text(), _step_grid("Share of the journeys at each step", result.steps,
                                 result.stages, result.ended, _share_cell)]
    return Group(*parts)


def steps_difference_view(result, log) -> RenderableType:
    """The ``cjm steps --by/--period`` summary: B - A, in percentage points."""
    a, b = result.a, result.b
    parts: list[RenderableType] = [reading_header(log), Text(
        f"{b.label} ({counted(b.journeys, 'journeys')}) less {a.label} "
        f"({counted(a.journeys, 'journeys')}): the change in the share of the journeys at "
        "each step, in percentage points. Blank: no change; *: fewer than --min-journeys on "
        "a side. Association, not cause."), Text()]
    parts.append(_step_grid(f"{escape(b.label)} - {escape(a.label)}, percentage points", a.steps,
                            result.stages, result.ended, _shift_cell))
    return Group(*parts)


def _time_to(quantile) -> tuple[str, ...]:
    """A quantile of the time to goal and its interval, as parts of a number cell."""
    def shown(seconds: float | None) -> str:
        return "not reached" if seconds is None else format_seconds(seconds)

    if quantile.seconds is None:
        return ("not reached",)
    return (shown(quantile.seconds), f"({shown(quantile.low)}", f"to {shown(quantile.high)})")


def timing_view(result, log) -> RenderableType:
    """The ``cjm timing`` summary."""
    goals = result.goals
    if goals.source == "outcome":
        what = f"the first event whose {escape(goals.outcome_column)} is true"
    else:
        names = ", ".join(escape(g) for g in goals.stages)
        what = f"the first event at {names}"
    how = {"flag": "", "outcome": "", "inferred": " [dim](goals inferred; set them with --goal "
           "STAGE)[/]"}[goals.source]
    curve = result.curve
    censored = "at its last event" if curve.censored == 1 else "at their last event"
    if result.still_active_seconds:
        censored += (f", or at the log's end when still active (last event within "
                     f"{format_seconds(result.still_active_seconds)} of it)")
    parts: list[RenderableType] = [reading_header(log), markup(
        f"[bold]Time to goal:[/] from a journey's first event to {what}{how}."), Text(
        f"{counted(curve.journeys, 'journeys')}: {count(curve.reached)} reached the goal, "
        f"{count(curve.censored)} not (yet): censored {censored}. Shares are of the journeys "
        "followed that long (Kaplan-Meier): a censored journey counts as one that might still "
        "get there.")]
    rows = [("all", curve), *((g.label.split(" = ", 1)[-1], g.curve) for g in result.groups)]
    grid = table("Time to goal (95% intervals)", escape(result.split or "group"), "journeys",
                 "reached", "median", "90% reached by", right=(1, 2, 3, 4))
    for label, c in rows:
        grid.add_row(escape(label), count(c.journeys), count(c.reached),
                     _time_to(c.quantile(0.5)), _time_to(c.quantile(0.9)))
    parts += [Text(), grid]
    if result.groups:
        headers = [escape(label) for label, _ in rows]
        grid = table("Share of journeys that reached the goal by each time", "by", *headers,
                     right=tuple(range(1, len(rows) + 1)))
        for point in result.checkpoints:
            grid.add_row(format_seconds(point.seconds), *(
                "–" if s is None else percent(s.share_reached)  # noqa: RUF001
                for s in point.steps))
    else:
        grid = table("Share of journeys that reached the goal by each time", "by", "reached",
                     "95% interval", "still waiting", right=(1, 2, 3))
        for point in result.checkpoints:
            s = point.steps[0]
            grid.add_row(format_seconds(point.seconds), percent(s.share_reached),
                         (percent(s.share_low), "to", percent(s.share_high)), count(s.waiting))
    parts += [Text(), grid]
    if result.logrank is not None:
        test = result.logrank
        verdict = ("they differ in how soon journeys reach the goal" if test.p_value < 0.05
                   else "no clear difference in how soon journeys reach the goal")
        parts += [Text(), Text(
            f"Log-rank test between the {len(result.groups)} groups: chi-square "
            f"{test.chi_square:.2f}, {test.df} df, p = {test.p_value:.3g}: {verdict} "
            "(association, not cause).")]
    return Group(*parts)


def personas_view(result, log) -> RenderableType:
    """The ``cjm personas`` summary: a table of the personas, then what sets each apart."""
    chosen = (f"k = {result.k}, the best silhouette of k = 2 to 8" if result.k_chosen == "auto"
              else f"k = {result.k}, as given")
    before = " before their first goal event" if result.before_goal else ""
    parts: list[RenderableType] = [reading_header(log), Text(
        f"{counted(result.journeys, 'journeys')} grouped by the stages and transitions they "
        f"take{before} ({chosen}). A description, not a cause: association only.")]
    if result.fitted_paths < result.paths:
        parts.append(Text(
            f"k-means fitted on the {count(result.fitted_paths)} most common of "
            f"{count(result.paths)} paths ({counted(result.fitted_journeys, 'journeys')}); "
            "the rarer paths joined the nearest persona."))
    if result.withheld:
        parts.append(Text(f"{counted(result.withheld, 'personas')} of fewer than "
                          f"{log.min_journeys} journeys not shown ("
                          f"{counted(result.withheld_journeys, 'journeys')}, --min-journeys)"))
    grid = table(None, "persona", "journeys", "share", "goal rate", "median duration",
                 right=(0, 1, 2, 3, 4))
    for p in result.personas:
        grid.add_row(str(p.number), count(p.journeys), percent(p.share),
                     percent(p.goals / p.journeys), format_seconds(p.median_seconds))
    parts += [Text(), grid]
    for p in result.personas:
        parts += [Text(), Text(f"Persona {p.number}: {counted(p.journeys, 'journeys')}",
                               style="bold")]
        if p.channels:
            events = sum(n for _, n in p.channels)
            parts.append(Text("  channels: " + ", ".join(
                f"{printable(short(c))} {percent(n / events)}" for c, n in p.channels[:4])))
        parts.append(Text("  sets it apart (share of its journeys vs of the others):"
                          + ("" if p.features else " nothing")))
        parts += [Text(f"    {_feature_name(f)}: {percent(f.share)} vs {percent(f.rest)}")
                  for f in p.features]
        parts.append(Text("  top paths:" + ("" if p.paths else " none of --min-journeys")))
        parts += [Text(f"    {counted(n, 'journeys')}: " + (
            printable(path_text(stages, PATH_WIDTH)) if stages else "(no event)"))
            for stages, n in p.paths]
    return Group(*parts)


def _feature_name(feature) -> str:
    if feature.kind == "stage":
        return printable(short(feature.name))
    source, target = feature.name.split(" -> ", 1)
    return printable(f"{short(source)} → {short(target)}")
