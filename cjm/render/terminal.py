"""Rich renderings of results for the terminal (plain text when not on a terminal)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cjm.units import format_seconds

NAME_WIDTH = 34


def short(name: str, width: int = NAME_WIDTH) -> str:
    """A stage name cut to ``width`` characters, keeping its start and its end."""
    name = " ".join(name.split())
    if len(name) <= width:
        return name
    keep = width - 1
    return name[: keep - keep // 3] + "…" + name[len(name) - keep // 3:]


def count(n: float) -> str:
    return f"{int(n):,}"


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def table(title: str, *columns: str, right: tuple[int, ...] = ()) -> Table:
    grid = Table(title=title, title_justify="left", title_style="bold", header_style="bold",
                 box=None, pad_edge=False, show_edge=False)
    for i, name in enumerate(columns):
        grid.add_column(name, justify="right" if i in right else "left",
                        no_wrap=i in right, overflow="fold")
    return grid


def reading_header(log) -> RenderableType:
    """Files, counts and the accounting line every command prints first."""
    lines = []
    for report in log.files:
        parts = [f"{count(report.rows)} rows", f"{count(report.events)} events"]
        if report.rejected:
            parts.append(f"[red]{count(report.rejected)} rejected[/]")
        if report.filtered:
            parts.append(f"{count(report.filtered)} filtered")
        detail = report.details.get("delimiter")
        fmt = report.format + (f" {_delimiter_name(detail)}" if detail else "")
        lines.append(f"[bold]{escape(report.path)}[/] ({fmt}): " + ", ".join(parts))
    span = ""
    if log.first_timestamp and log.last_timestamp:
        seconds = (log.last_timestamp - log.first_timestamp).total_seconds()
        span = (f", {log.first_timestamp:%Y-%m-%d} → {log.last_timestamp:%Y-%m-%d} "
                f"({format_seconds(seconds)})")
    lines.append(f"{count(log.journeys)} journeys, {count(log.events)} events, "
                 f"{count(log.stages)} stages{span}")
    if len(log.files) > 1:
        lines.append(f"rows read {count(log.rows)} = events {count(log.events)} + rejected "
                     f"{count(log.rejected)} + filtered {count(log.filtered)}")
    return Text.from_markup("\n".join(lines))


def _delimiter_name(delimiter: str) -> str:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    return names.get(delimiter, repr(delimiter)) + "-separated"


def mapping_table(log) -> Table:
    grid = table("Columns", "role", "column", "from")
    for role, choice in log.mapping.to_dict().items():
        grid.add_row(role, escape(choice["column"]), escape(choice["source"]))
    grid.add_row("timestamps", escape(log.timestamp_format.description), "detected")
    return grid


def notes_and_warnings(log) -> Iterator[RenderableType]:
    for note in log.notes:
        yield Text.from_markup(f"[cyan]Note:[/] {escape(note)}")
    for warning in log.warnings:
        example = f" (e.g. {', '.join(warning.examples[:2])})" if warning.examples else ""
        yield Text.from_markup(f"[yellow]Warning:[/] {escape(warning.message + example)}")


def rejects_table(reasons: list[dict[str, Any]]) -> Table:
    grid = table("Rejected rows", "rows", "reason", "first at", right=(0,))
    for item in reasons:
        grid.add_row(count(item["count"]), escape(item["reason"]),
                     escape(", ".join(item["examples"])))
    return grid


def inspect_view(description, top: int = 20) -> RenderableType:
    """The whole ``cjm inspect`` report."""
    log = description.log
    parts: list[RenderableType] = [reading_header(log), Text(), mapping_table(log), Text()]
    per = description.events_per_journey
    parts.append(Text(f"events per journey: min {per['min']}, median {per['median']:g}, "
                      f"mean {per['mean']:.1f}, max {per['max']}"))
    parts.append(Text())
    stages = table(f"Stages ({len(description.stages)})", "stage", "events", "share",
                   "journeys", right=(1, 2, 3))
    for stage in description.stages[:top]:
        stages.add_row(escape(short(stage.name)), count(stage.events), percent(stage.share),
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
