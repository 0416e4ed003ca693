"""cjm: process mining of customer journeys.

The public API, loaded lazily so that ``import cjm`` (and ``cjm --help``) stays fast::

    import cjm
    log = cjm.read_log("examples/shop.csv")
    journeys = cjm.discover(log)
    print(journeys.dead_end_rate, journeys.paths[0].stages)
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# name -> the module it lives in; a name that is a module's own (cjm.render, the renderers,
# callable as their render function) is that module, whichever is imported first.
_EXPORTS = {
    "CjmError": "cjm.errors",
    "DataError": "cjm.errors",
    "EventLog": "cjm.engine.duckdb.eventlog",
    "JourneyMap": "cjm.journeys",
    "LogDescription": "cjm.summary",
    "ResourceError": "cjm.errors",
    "ThresholdError": "cjm.errors",
    "UsageError": "cjm.errors",
    "build_map": "cjm.mapgraph",
    "check_gates": "cjm.gates",
    "describe": "cjm.summary",
    "discover": "cjm.journeys",
    "find_config": "cjm.config",
    "journey_json": "cjm.render.json_out",
    "read_log": "cjm.engine.duckdb.eventlog",
    "render": "cjm.render",
    "to_dot": "cjm.render.dot",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = import_module(_EXPORTS[name])
        value = module if module.__name__ == f"cjm.{name}" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cjm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if "IPython" in sys.modules:  # a notebook: results show themselves (cjm.render.notebook)
    import cjm.render.notebook  # noqa: F401
