"""The report as one self-contained HTML file: styles and maps inline, no script, no request.

Every value from the data goes through ``html.escape``; the maps are Graphviz SVG, which
escapes its own text, stripped of the parts a browser could fetch or that clash when several
drawings share one page (the DOCTYPE, comments, element ids).
"""

from __future__ import annotations

import html

from cjm import __version__
from cjm.render.inline import inline_svg
from cjm.report.build import Report
from cjm.report.content import (
    Figures,
    Heading,
    Heatmap,
    Map,
    Notes,
    Section,
    Share,
    Table,
    map_caption,
    sections,
    subtitle,
)

_STYLE = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9e2ec; --accent: #2f6fad;
        --bar: #c6dbef; --soft: #f5f7fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
header { background: var(--ink); color: #fff; padding: 28px 40px 22px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header p { margin: 0; color: #cbd2d9; }
nav { padding: 10px 40px; border-bottom: 1px solid var(--line); background: var(--soft);
      position: sticky; top: 0; }
nav a { color: var(--accent); margin-right: 18px; text-decoration: none; font-size: 14px; }
main { padding: 8px 40px 40px; max-width: 1200px; }
section { margin-top: 30px; }
h2 { font-size: 20px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 26px 0 8px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr));
           gap: 12px; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.figure .label { color: var(--muted); font-size: 13px; }
.figure .value { font-size: 24px; font-weight: 600; }
.figure .detail { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 18px; font-size: 14px; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; white-space: pre-wrap; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
.share { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.share .bar { display: inline-block; height: 10px; background: var(--bar);
              border: 1px solid #9ecae1; min-width: 1px; }
figure.map { margin: 10px 0; overflow-x: auto; border: 1px solid var(--line);
             border-radius: 6px; padding: 8px; }
figure.map svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
ul.notes { color: var(--muted); padding-left: 20px; }
iframe.explorer { display: block; width: 100%; height: 90vh; border: 1px solid var(--line);
                 border-radius: 6px; }
footer { color: var(--muted); font-size: 12px; padding: 0 40px 30px; }
@media print {
  nav, section#explorer { display: none; }
  header { background: none; color: var(--ink); padding: 0 0 10px; }
  header p { color: var(--muted); }
  main, footer { padding: 0; max-width: none; }
  section { break-before: page; }
  section#overview { break-before: avoid; }
  figure.map { border: none; overflow: visible; break-inside: avoid; }
  figure.map svg { max-height: 24cm; }
  table, .figures { break-inside: auto; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
@page { margin: 1.4cm; }
"""


def h(value: object) -> str:
    """Text from the data as HTML: never markup."""
    return html.escape(str(value), quote=True)


def to_html(report: Report) -> str:
    """The report as a standalone HTML page: same report, same bytes. With the explorer, its
    page is the last section, in a frame of its own."""
    parts = sections(report)
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    if report.explorer is not None:
        from cjm.explore import script_source

        # The frame's page inherits this policy: it must let the explorer's script run.
        policy += f"; script-src {script_source()}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No request may leave the page: not even for a favicon.
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        '<link rel="icon" href="data:,">',
        f"<title>{h(report.title)} - journey report</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{h(report.title)}</h1><p>{h(subtitle(report.journey))}</p></header>",
        "<nav>" + "".join(f'<a href="#{s.anchor}">{h(s.title)}</a>' for s in parts)
        + ('<a href="#explorer">Explore the map</a>' if report.explorer else "") + "</nav>",
        "<main>",
    ]
    maps = iter(range(1, 1000))
    for section in parts:
        out.append(_section(section, maps))
    if report.explorer is not None:
        # A frame keeps the explorer's ids, style and script apart from the report's; the
        # sandbox gives it no origin: it can reach nothing of the report's. In single quotes,
        # which its page hardly has, the attribute needs only ' and & escaped: the drawings'
        # many double quotes stay one byte each.
        srcdoc = report.explorer.replace("&", "&amp;").replace("'", "&#39;")
        out.append('<section id="explorer"><h2>Explore the map</h2><iframe class="explorer" '
                   "title=\"Journey explorer\" sandbox=\"allow-scripts\" "
                   f"srcdoc='{srcdoc}'></iframe></section>")
    out += ["</main>",
            f"<footer>Made with cjm {h(__version__)}: process mining of customer journeys. "
            "Figures as in <code>cjm discover --json</code>.</footer>",
            "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _section(section: Section, maps) -> str:
    out = [f'<section id="{section.anchor}">', f"<h2>{h(section.title)}</h2>"]
    for block in section.blocks:
        if isinstance(block, Heading):
            out.append(f"<h3>{h(block.text)}</h3>")
        elif isinstance(block, Figures):
            out.append('<div class="figures">' + "".join(
                f'<div class="figure"><div class="label">{h(label)}</div>'
                f'<div class="value">{h(value)}</div><div class="detail">{h(detail)}</div>'
                "</div>" for label, value, detail in block.items) + "</div>")
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Map):
            number = next(maps)
            out.append(f'<figure class="map" id="map-{number}">'
                       f"{inline_svg(block.figure.svg, f'm{number}-', block.figure.title)}"
                       f"<figcaption>{h(map_caption(block, block.figure.graph))}</figcaption>"
                       "</figure>")
        elif isinstance(block, Heatmap):
            out.append(f'<figure class="heatmap">{block.svg}'
                       f"<figcaption>{h(block.table.caption or '')}</figcaption></figure>")
        elif isinstance(block, Notes):
            out.append('<ul class="notes">' + "".join(f"<li>{h(line)}</li>"
                                                     for line in block.lines) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def _table(table: Table) -> str:
    if not table.rows:
        caption = f"{table.caption}: none" if table.caption else "None"
        return f'<ul class="notes"><li>{h(caption)}</li></ul>'
    out = ["<table>"]
    if table.caption:
        out.append(f"<caption>{h(table.caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th{_num(i, table)} scope="col">{h(text)}</th>'
        for i, text in enumerate(table.headers)) + "</tr></thead><tbody>")
    for row in table.rows:
        out.append("<tr>" + "".join(f"<td{_num(i, table)}>{_cell(cell)}</td>"
                                    for i, cell in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _num(index: int, table: Table) -> str:
    return ' class="num"' if index in table.numeric else ""


def _cell(cell: str | Share) -> str:
    if isinstance(cell, Share):
        if cell.value is None:
            return "–"  # noqa: RUF001
        width = max(0.0, min(1.0, cell.value)) * 120
        return (f'<span class="share"><span class="bar" style="width:{width:.0f}px"></span>'
                f"{cell.value * 100:.1f}%</span>")
    return h(cell)
