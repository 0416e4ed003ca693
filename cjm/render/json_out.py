"""JSON output: deterministic text (sorted keys where order carries no meaning, fixed floats)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cjm.safety import write_text


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(data: Any, target: str | Path) -> None:
    """Write to a file atomically, or to stdout when ``target`` is ``-``."""
    text = dumps(data)
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text(Path(target), text)
