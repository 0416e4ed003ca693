"""Graphviz SVG made fit to share an HTML page with other drawings: the report's maps and
the explorer's."""

from __future__ import annotations

import html
import re

_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.S)
_ID = re.compile(r'\bid="([^"]*)"')
_REF = re.compile(r'\b(xlink:href|href)="#([^"]*)"')
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def inline_svg(svg: str, prefix: str, title: str) -> str:
    """Graphviz SVG fit for inlining: no prolog, DOCTYPE or comments; ids prefixed so that
    several drawings share a page; scaled to the page's width."""
    svg = _PROLOG.sub("", svg).strip()
    svg = _ID.sub(lambda m: f'id="{prefix}{m[1]}"', svg)
    svg = _REF.sub(lambda m: f'{m[1]}="#{prefix}{m[2]}"', svg)
    return _SIZE.sub(lambda m: f'<svg role="img" aria-label="{html.escape(title)}" '
                               f'style="width:{m[1]}pt"', svg, count=1)
