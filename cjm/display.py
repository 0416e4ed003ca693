"""Results that show themselves in Jupyter: HTML, with one line of text as the fallback.

The classes take this mixin; the layout is cjm.render.notebook's, imported only when a
notebook asks, so that nothing here costs a command-line run anything.
"""

from __future__ import annotations

from typing import Any


class Displayable:
    def _repr_html_(self) -> str:
        from cjm.render.notebook import html

        return html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from cjm.render.notebook import html, text

        return {"text/plain": text(self), "text/html": html(self)}
