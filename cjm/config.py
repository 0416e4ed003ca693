"""Settings from ``cjm.toml`` or ``[tool.cjm]`` in ``pyproject.toml``, found from a folder upwards,
and from the ``CJM_*`` environment variables.

Resolved here, by the library, so that Python calls and the CLI agree: an argument (a flag)
wins over the variable, the variable over the file, and the file over auto-detection.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cjm.errors import UsageError, did_you_mean
from cjm.schema import ROLES

# The lifecycle role is set with "lifecycle_column", as its flag is; "lifecycle" is the mode.
ROLE_KEYS = tuple("lifecycle_column" if role == "lifecycle" else role for role in ROLES)
READ_KEYS = (
    "delimiter", "encoding", "timezone", "timestamp_format", "dayfirst", "monthfirst",
    "lifecycle", "journey_gap", "drop_duplicates", "memory_limit", "temp_dir", "stages",
    "database_password",
)
DISCOVER_KEYS = (
    "goals", "goal_share", "still_active", "handoff_column", "view", "top", "max_edges",
    "channel_cost",
)
KNOWN_KEYS = ROLE_KEYS + READ_KEYS + DISCOVER_KEYS
# The reading options as the flags (and a batch entry's keys) name them: read_arguments'.
READING_OPTIONS = (
    *ROLE_KEYS, "delimiter", "encoding", "timezone", "timestamp_format", "dayfirst", "lifecycle",
    "journey_gap", "drop_duplicates", "group", "rename", "collapse_repeats", "rejects",
    "strict", "pseudonymize", "salt",
    "min_journeys", "memory_limit", "temp_dir", "buckets", "table", "query",
)
_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(ROLE_KEYS, (str,)),
    **dict.fromkeys(("delimiter", "encoding", "timezone", "timestamp_format", "lifecycle",
                     "still_active", "handoff_column", "view", "memory_limit", "temp_dir",
                     "database_password"),
                    (str,)),
    **dict.fromkeys(("dayfirst", "monthfirst", "drop_duplicates"), (bool,)),
    "journey_gap": (str,), "goal_share": (str, float, int), "top": (int,), "max_edges": (int,),
    "goals": (list,), "channel_cost": (dict,), "stages": (dict,),
}
# Settings that an environment variable gives too (between the argument and the file).
ENVIRONMENT = {"memory_limit": "CJM_MEMORY_LIMIT", "temp_dir": "CJM_TEMP_DIR"}
ENGINES = ("duckdb", "spark")
ENGINE_VARIABLE = "CJM_ENGINE"
_EXAMPLES = {str: 'a string ("…")', bool: "true or false", int: "a whole number",
             float: "a number", list: 'a list (["…", "…"])',
             dict: "a table ({web = 0.1, phone = 6})"}


@dataclass
class Config:
    """Settings from a config file, with the file they came from (None when there is none)."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def setting(self, key: str, given: Any = None, default: Any = None) -> Any:
        """``given`` (an argument or flag) unless None, else $CJM_… for the keys that have
        one, else the file's value, else ``default``."""
        if given is not None:
            return given
        variable = os.environ.get(ENVIRONMENT.get(key, ""), "")
        return variable or self.values.get(key, default)

    @property
    def source(self) -> str:
        return f"config {self.path}" if self.path else "config"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the settings: {exc}") from None


def _check_keys(values: dict[str, Any], path: Path) -> dict[str, Any]:
    for key, value in values.items():
        if key not in KNOWN_KEYS:
            raise UsageError(
                f"{path}: unknown setting {key!r}.{did_you_mean(key, KNOWN_KEYS)}",
                "Known settings: " + ", ".join(KNOWN_KEYS),
            )
        types = _TYPES[key]
        # bool is an int in Python; a number where a flag belongs is still wrong.
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong or (key == "goals" and not all(isinstance(v, str) for v in value)):
            want = " or ".join(_EXAMPLES[t] for t in types)
            raise UsageError(f"{path}: setting {key!r} must be {want}, not {value!r}",
                             'Example: journey_gap = "30m", dayfirst = true, top = 20, '
                             'goals = ["Purchase"]')
        _check_value(key, value, path)
    return values


def _check_value(key: str, value: Any, path: Path) -> None:
    """Values the flags would refuse are refused here too, naming the file and the key."""
    from cjm.units import parse_share, parse_span

    allowed = {"view": ("frequency", "performance", "both"), "lifecycle": ("complete", "all")}
    try:
        if key in allowed and value not in allowed[key]:
            raise UsageError(f"must be one of {', '.join(allowed[key])}")
        if key == "top" and value < 1:
            raise UsageError("must be 1 or more")
        if key == "max_edges" and value < 0:
            raise UsageError("must be 0 (no limit) or more")
        if key in ("journey_gap", "still_active"):
            parse_span(value, key)
        if key == "goal_share":
            parse_share(value, key)
        if key == "stages":
            _check_stages(value)
        if key == "channel_cost" and not all(
                isinstance(p, (int, float)) and not isinstance(p, bool) and p >= 0
                for p in value.values()):
            raise UsageError("must give each channel a price of 0 or more")
    except UsageError as exc:
        reason = exc.message.split(": ", 1)[-1]
        raise UsageError(f"{path}: setting {key!r}: {reason}, not {value!r}", exc.hint) \
            from None


def _check_stages(table: dict[str, Any]) -> None:
    """The [stages] table: group and rename as lists of the flags' rules, collapse_repeats
    true or false."""
    from cjm.stage_rules import parse_rule

    for name, value in table.items():
        if name in ("group", "rename"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"[stages] {name} must be a list of rules, such as "
                                 '["product1,product2=product"]')
            for rule in value:
                parse_rule(rule, f"--{name}")
        elif name == "collapse_repeats":
            if not isinstance(value, bool):
                raise UsageError("[stages] collapse_repeats must be true or false")
        else:
            raise UsageError(f"[stages] has no setting {name!r}; it takes group, rename and "
                             "collapse_repeats")


def read_arguments(settings: Mapping[str, Any]) -> dict[str, Any]:
    """read_log's keyword arguments from READING_OPTIONS (``case``, ``lifecycle_column``,
    ``journey_gap``, …): the role columns go into ``columns``, unset (None) roles left out;
    ``strict`` is not read_log's (see cjm.gates.check_strict)."""
    columns = {("lifecycle" if key == "lifecycle_column" else key): settings[key]
               for key in ROLE_KEYS if settings.get(key)}
    return {"columns": columns, **{k: v for k, v in settings.items()
                                   if k not in ROLE_KEYS and k != "strict"}}


def chosen_engine(engine: str | None = None) -> str:
    """The engine to read and aggregate with: ``engine`` (--engine), else $CJM_ENGINE, else
    duckdb (cjm.read_log; cjm.engine.spark.read_spark_log for spark)."""
    value = (engine or os.environ.get(ENGINE_VARIABLE) or "duckdb").strip().lower()
    if value not in ENGINES:
        source = "--engine" if engine else ENGINE_VARIABLE
        raise UsageError(f"{source}: {value!r} is not one of {', '.join(ENGINES)}")
    return value


def find_config(start: Path | None = None) -> Config:
    """The first ``cjm.toml``, or ``pyproject.toml`` with a ``[tool.cjm]`` table, upwards."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        own = candidate / "cjm.toml"
        if own.is_file():
            return Config(_check_keys(_read_toml(own), own), own)
        project = candidate / "pyproject.toml"
        if project.is_file():
            table = _read_toml(project).get("tool", {}).get("cjm")
            if table is not None:
                return Config(_check_keys(table, project), project)
    return Config()
