"""The report as Markdown: tables, and each map as a Mermaid flowchart, for job summaries,
pull-request comments and wikis on GitHub or GitLab.

Text from the data is escaped so that it shows literally: the characters Markdown, HTML and
GitHub give a meaning to (emphasis, links, tables, math, @mentions, :emoji:) are escaped.
"""

from __future__ import annotations

import re

from cjm import __version__
from cjm.report.build import Report
from cjm.report.content import (
    Figures,
    Heading,
    Heatmap,
    Map,
    Notes,
    Share,
    Table,
    map_caption,
    pct,
    sections,
    subtitle,
)

_SPECIAL = re.compile(r"([\\`*_\[\](){}~|!#@:$])")
_LEADING = re.compile(r"^([-+=]|\d+[.)])")  # would start a list or underline a heading


def md(value: object) -> str:
    """Text from the data as Markdown that renders literally, on one line."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _LEADING.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], text)


def to_markdown(report: Report, images: dict[str, str] | None = None) -> str:
    """The report as GitHub-flavoured Markdown; ``images`` maps a figure's name (see
    ``Report.figures``) to the path of its picture, linked under its diagram."""
    images = images or {}
    names = {id(figure): name for name, figure in report.figures}
    data = report.journey
    out = [f"# {md(report.title)}", "", md(subtitle(data)) + ".", ""]
    for section in sections(report):
        out += [f"## {md(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Heading):
                out += [f"### {md(block.text)}", ""]
            elif isinstance(block, Figures):
                out += _figures(block)
            elif isinstance(block, Table):
                out += _table(block)
            elif isinstance(block, Map):
                out += ["```mermaid", block.figure.mermaid().rstrip("\n"), "```", "",
                        f"*{md(map_caption(block, block.figure.small))}*", ""]
                picture = images.get(names.get(id(block.figure), ""))
                if picture:
                    out += [f"![{md(block.figure.title)}]({picture})", ""]
            elif isinstance(block, Heatmap):
                out += _table(block.table)
            elif isinstance(block, Notes):
                out += [f"- {md(line)}" for line in block.lines] + [""]
    out.append(f"<sub>Made with cjm {__version__}.</sub>")
    return "\n".join(out) + "\n"


def _figures(block: Figures) -> list[str]:
    return [
        "| " + " | ".join(md(label) for label, _, _ in block.items) + " |",
        "|" + "---|" * len(block.items),
        "| " + " | ".join(f"**{md(value)}**" for _, value, _ in block.items) + " |",
        "| " + " | ".join(md(detail) for _, _, detail in block.items) + " |",
        "",
    ]


def _table(table: Table) -> list[str]:
    if not table.rows:
        return [f"*{md(table.caption or '')}: none.*", ""]
    out = [f"*{md(table.caption)}*", ""] if table.caption else []
    out.append("| " + " | ".join(md(h) or " " for h in table.headers) + " |")
    out.append("|" + "".join("---:|" if i in table.numeric else "---|"
                             for i in range(len(table.headers))))
    for row in table.rows:
        out.append("| " + " | ".join(pct(c.value) if isinstance(c, Share) else md(c)
                                     for c in row) + " |")
    return [*out, ""]
