"""``cjm report --config reports.toml``: many reports from one file, going on past failures.

The file holds ``[[report]]`` entries and an optional ``[defaults]`` table that every entry
starts from. An entry's keys are the flags of ``cjm report`` and the reading options, with
underscores (``--goal-share`` is ``goal_share``), plus ``logs``, ``output`` and ``name``.
Relative paths are read from the config file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import typer

from cjm.cli.common import LogArgs, error, interrupted, stderr, stdout
from cjm.errors import CjmError, UsageError, did_you_mean
from cjm.resources import classify
from cjm.units import format_counted

_READING = {f.name for f in fields(LogArgs)} - {"paths", "debug"}
_LISTS = {"logs", "output", "goal", "where"}  # a single string is also accepted
_JOINED = {"funnel", "compare_values"}  # a list is joined with commas, as the flag takes it
_BOOLS = {"dayfirst", "drop_duplicates", "strict", "pseudonymize"}
_INTS = {"top_values", "top", "min_count", "max_edges", "min_journeys", "buckets"}
_PATHS = {"logs", "output", "assets", "design", "rejects"}
_REPORT = {
    "title", "goal", "goal_share", "still_active", "handoff_column", "funnel", "within",
    "order", "compare_by", "compare_period", "compare_values", "design", "by", "top_values",
    "period", "where", "since", "until", "top", "view", "stages", "paths", "min_count",
    "max_edges", "fail_on_dead_end_rate",
}
KEYS = sorted({"name", "logs", "output", "assets"} | _READING | _REPORT)


@dataclass
class Entry:
    name: str
    args: LogArgs
    values: dict[str, Any]
    outputs: list[Path]
    assets: str | None


def load_batch(path: Path) -> list[Entry]:
    """The entries of a batch file, checked before any report runs."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the batch file: {exc}") from None
    unknown = set(document) - {"defaults", "report"}
    if unknown:
        raise UsageError(f"{path}: unknown table {sorted(unknown)[0]!r}",
                         "A batch file has [defaults] and [[report]] entries.")
    defaults = document.get("defaults", {})
    entries = document.get("report", [])
    if not isinstance(defaults, dict):
        raise UsageError(f"{path}: [defaults] must be a table of keys")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{path}: each report is a [[report]] table of keys")
    if not entries:
        raise UsageError(f"{path}: no [[report]] entries",
                         'Example:\n[[report]]\nlogs = ["shop.csv"]\noutput = "shop.html"')
    folder = path.parent
    return [_entry({**defaults, **raw}, i, folder, path) for i, raw in enumerate(entries, 1)]


def _entry(raw: dict[str, Any], number: int, folder: Path, path: Path) -> Entry:
    where = f"{path}: report {number}" + (f" ({raw['name']})" if "name" in raw else "")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise UsageError(f"{where}: unknown key {key!r}.{did_you_mean(key, KEYS)}",
                             "Keys are the flags of cjm report with underscores.")
        values[key] = _value(key, value, where)
        if key in _PATHS and values[key] is not None:
            values[key] = ([str(folder / v) for v in values[key]] if isinstance(values[key], list)
                           else str(folder / values[key]))
    for required in ("logs", "output"):
        if not values.get(required):
            raise UsageError(f"{where}: {required!r} is missing")
    reading = {k: values.pop(k) for k in list(values) if k in _READING}
    return Entry(name=values.pop("name", None) or f"report {number}",
                 args=LogArgs(paths=values.pop("logs"), **reading),
                 values=values, outputs=[Path(o) for o in values.pop("output")],
                 assets=values.pop("assets", None))


def _value(key: str, value: Any, where: str) -> Any:
    def wrong(want: str) -> UsageError:
        return UsageError(f"{where}: {key!r} must be {want}, not {value!r}")

    if key in _BOOLS:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if key in _INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise wrong("a whole number, 1 or more")
        return value
    if key in _LISTS or key in _JOINED:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise wrong('a string or a list of strings (["…", "…"])')
        return ",".join(items) if key in _JOINED else items
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # goal_share = 0.8, fail_on_dead_end_rate = 0.3
    if not isinstance(value, str):
        raise wrong('a string ("…")')
    return value


def _announcer(name: str):
    def announce(written: list[Path]) -> None:
        stdout().print(f"{name}: wrote {format_counted(len(written), 'files')}: "
                       + ", ".join(str(p) for p in written), highlight=False, markup=False,
                       soft_wrap=True)
    return announce


def run_batch(path: Path, quiet: bool) -> None:
    """Run every entry; list the failures at the end and exit 1 if there were any."""
    from cjm import progress
    from cjm.cli.report_cmd import produce

    entries = load_batch(path)
    failures: list[tuple[str, str]] = []
    with progress.step(f"Reports from {path.name}", total=len(entries)) as advance:
        for done, entry in enumerate(entries):
            try:
                produce(entry.args, entry.values, entry.outputs, entry.assets,
                        None if quiet else _announcer(entry.name))
            except Exception as exc:  # one broken entry must not stop the others
                if interrupted():
                    raise  # but Ctrl-C stops the batch: reporting() exits 130
                known = exc if isinstance(exc, CjmError) else classify(exc)
                if known is not None:  # bad data, or the machine ran out of something
                    failures.append((entry.name, known.message))
                    error(f"{entry.name}: {known.message}", known.hint)
                else:
                    failures.append((entry.name, f"unexpected {type(exc).__name__}: {exc}"))
                    error(f"{entry.name}: unexpected {type(exc).__name__}: {exc}",
                          "This is a bug in cjm; run the entry alone with --debug.")
            advance(done + 1)
    if failures:
        stderr().print(f"{len(failures)} of {len(entries)} reports failed:", markup=False)
        for name, message in failures:
            stderr().print(f"  {name}: {message}", markup=False, highlight=False)
        raise typer.Exit(1)
