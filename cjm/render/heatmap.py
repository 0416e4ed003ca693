"""A heat map as SVG text: rows by columns of shares, each cell shaded by its share.

For the step matrix in reports: no script, no external reference, the same bytes for the
same figures. It computes nothing: the caller gives every value and label.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from cjm.render.terminal import short

CELL_WIDTH, CELL_HEIGHT, LABEL_WIDTH, HEADER = 56, 20, 220, 24
NAME_CHARS = 34  # a row's label is shortened in its middle beyond this; its title is whole
FONT = "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\""


def _shade(share: float, most: float) -> str:
    """White for 0, deep blue for the largest share shown."""
    level = 0.0 if most <= 0 else min(share / most, 1.0)
    r, g, b = (round(255 - level * (255 - c)) for c in (33, 102, 172))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(title: str, columns: Sequence[str],
                rows: Sequence[tuple[str, Sequence[float | None]]]) -> str:
    """``rows`` are (label, a share or None per column); None is drawn as withheld."""
    shown = [s for _, shares in rows for s in shares if s is not None]
    most = max(shown, default=0.0)
    width = LABEL_WIDTH + CELL_WIDTH * len(columns)
    height = HEADER + CELL_HEIGHT * len(rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>"]
    for k, column in enumerate(columns):
        x = LABEL_WIDTH + CELL_WIDTH * k + CELL_WIDTH // 2
        out.append(f'<text x="{x}" y="{HEADER - 8}" text-anchor="middle" {FONT}>'
                   f"{escape(column)}</text>")
    for i, (label, shares) in enumerate(rows):
        y = HEADER + CELL_HEIGHT * i
        name = short(label, NAME_CHARS)
        out.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end" {FONT}>'
                   f"<title>{escape(label)}</title>{escape(name)}</text>")
        for k, share in enumerate(shares):
            x = LABEL_WIDTH + CELL_WIDTH * k
            fill = "#eeeeee" if share is None else _shade(share, most)
            out.append(f'<rect x="{x}" y="{y}" width="{CELL_WIDTH - 1}" '
                       f'height="{CELL_HEIGHT - 1}" fill="{fill}"/>')
            if share is None or share > 0:
                text = "*" if share is None else f"{share * 100:.1f}%"
                dark = share is not None and most > 0 and share / most > 0.55
                out.append(f'<text x="{x + CELL_WIDTH // 2}" y="{y + 14}" text-anchor="middle" '
                           f'fill="{"#ffffff" if dark else "#222222"}" {FONT}>{text}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
