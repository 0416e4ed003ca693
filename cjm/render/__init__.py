"""Renderers: each turns result objects into one output form; none computes anything.

The package is also callable, as ``cjm.render(dot, "svg")``: ``cjm.render`` names both this
package and the public function (cjm.render.graphviz.render), whichever was imported first.
"""

import sys
import types


class _Renderers(types.ModuleType):
    def __call__(self, dot: str, fmt: str, prefer_system: bool = True) -> bytes:
        """DOT drawn as SVG, PNG or PDF bytes (see cjm.render.graphviz.render)."""
        from cjm.render.graphviz import render

        return render(dot, fmt, prefer_system)


sys.modules[__name__].__class__ = _Renderers
