"""The time-to-goal chart as SVG: the share of journeys that have reached the goal over time
(1 - survival), a step line per group with its 95% band. No script; same result, same bytes.

Time runs on a log scale (log(1 + minutes)): journeys that reach the goal in minutes and
those that take weeks both show. Text from the data is escaped; nothing is computed here but
where each figure is drawn.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from cjm.safety import printable
from cjm.survival import Curve
from cjm.units import format_seconds

WIDTH, HEIGHT = 760, 400
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 40, 48
LEGEND_ROW = 18
# Colour-blind-safe (Okabe-Ito), in the order groups are listed.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
TICKS = (0, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400,
         730 * 86400)


def _text(value: str) -> str:
    return html.escape(printable(value), quote=True)


def _scale(seconds: float) -> float:
    return math.log1p(seconds / 60)


def step_chart(series: Sequence[tuple[str, Curve]], title: str) -> str:
    """The chart of ``series`` ((label, curve) in legend order) under ``title``."""
    span = max((c.steps[-1].seconds for _, c in series if c.steps), default=0.0) or 60.0
    legend = LEGEND_ROW * len(series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    height = HEIGHT + legend

    def x(seconds: float) -> str:
        return f"{LEFT + plot_w * _scale(seconds) / _scale(span):.1f}"

    def y(share: float) -> str:
        return f"{TOP + plot_h * (1 - share):.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
           f"<title>{_text(title)}</title>",
           f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{_text(title)}</text>']
    for share in (0, 0.25, 0.5, 0.75, 1):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(share)}" y2="{y(share)}" '
                   'stroke="#dddddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(share)}" text-anchor="end" '
                   f'dominant-baseline="middle">{share * 100:.0f}%</text>')
    for tick in (t for t in TICKS if t <= span):
        out.append(f'<line x1="{x(tick)}" x2="{x(tick)}" y1="{TOP}" y2="{TOP + plot_h}" '
                   'stroke="#eeeeee"/>')
        out.append(f'<text x="{x(tick)}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                   f"{format_seconds(tick)}</text>")
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + 34}" '
               'text-anchor="middle">time since the journey\'s first event (log scale)</text>')
    for index, (label, curve) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        out.append(f"<g><title>{_text(label)}</title>")
        out.append(f'<path d="{_band(curve, x, y)}" fill="{colour}" fill-opacity="0.18" '
                   'stroke="none"/>')
        out.append(f'<path d="{_line(curve, x, y)}" fill="none" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append("</g>")
        row = HEIGHT + LEGEND_ROW * index
        out.append(f'<rect x="{LEFT}" y="{row - 10}" width="14" height="4" fill="{colour}"/>')
        out.append(f'<text x="{LEFT + 20}" y="{row - 4}">{_text(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _steps(curve: Curve, value, x, y) -> list[str]:
    """The points of a step line: flat until the next time, then up; repeats left out."""
    points: list[str] = []
    for i, step in enumerate(curve.steps):
        if i:
            points.append(f"{x(step.seconds)},{y(value(curve.steps[i - 1]))}")
        points.append(f"{x(step.seconds)},{y(value(step))}")
    return [p for i, p in enumerate(points) if not i or p != points[i - 1]]


def _line(curve: Curve, x, y) -> str:
    return "M" + " L".join(_steps(curve, lambda s: s.share_reached, x, y))


def _band(curve: Curve, x, y) -> str:
    upper = _steps(curve, lambda s: s.share_high, x, y)
    lower = _steps(curve, lambda s: s.share_low, x, y)
    return "M" + " L".join([*upper, *reversed(lower)]) + " Z"
