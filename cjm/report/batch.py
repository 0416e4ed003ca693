"""What ``cjm report`` does, from its flags, and many reports from one file
(``cjm report --config reports.toml``), going on past failures.

The file holds ``[[report]]`` entries and an optional ``[defaults]`` table that every entry
starts from. An entry's keys are the flags of ``cjm report`` and the reading options, with
underscores (``--goal-share`` is ``goal_share``), plus ``logs``, ``output`` and ``name``.
Relative paths are read from the config file's folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cjm.accounting import LogInfo
from cjm.config import READING_OPTIONS
from cjm.errors import UsageError, did_you_mean
from cjm.report.build import Report

_LISTS = {"logs", "output", "goal", "where", "group", "rename"}  # a single string is also accepted
_JOINED = {"funnel", "compare_values"}  # a list is joined with commas, as the flag takes it
_BOOLS = {"dayfirst", "drop_duplicates", "strict", "pseudonymize", "timing", "interactive"}
_INTS = {"top_values", "top", "min_count", "max_edges", "min_journeys", "buckets",
         "step_matrix"}
_PATHS = {"logs", "output", "assets", "design", "rejects"}
REPORT_KEYS = (
    "title", "goal", "goal_share", "still_active", "handoff_column", "funnel", "within",
    "order", "attribution", "compare_by", "compare_period", "compare_values", "design",
    "timing", "step_matrix", "personas", "by", "top_values", "period", "where", "since",
    "until", "top", "view", "stages", "paths", "min_count", "max_edges", "fail_on_dead_end_rate",
    "interactive",
)
KEYS = sorted({"name", "logs", "output", "assets", *READING_OPTIONS, *REPORT_KEYS})

# How the files of a report are written: (targets, write one) -> the targets written. The
# default stops at the first that fails; the CLI's names it and writes the others.
WriteAll = Callable[[Iterable[Path], Callable[[Path], None]], Any]


@dataclass
class BatchEntry:
    """One ``[[report]]`` of a batch file, its [defaults] applied, its paths resolved."""

    name: str
    logs: list[str]
    outputs: list[Path]
    assets: str | None = None
    reading: dict[str, Any] = field(default_factory=dict)  # READING_OPTIONS given
    values: dict[str, Any] = field(default_factory=dict)  # REPORT_KEYS given


@dataclass
class ReportRun:
    """A report built and written: what to tell the reader, and the gates left to check."""

    report: Report
    log: LogInfo  # its files, notes, warnings and row accounting
    written: list[Path]
    dead_end_rate: float | None = None  # the gate asked for (fail_on_dead_end_rate)
    strict: bool = False

    @property
    def gate_notes(self) -> list[str]:
        from cjm.gates import gate_notes

        return gate_notes(self.report.journey_map, self.dead_end_rate)

    def check(self) -> None:
        """Raise at the first gate breached: the whole log's, then each segment's or
        period's (named in the error); then, with ``strict``, at rejected rows."""
        from cjm.gates import check_each, check_strict

        check_each([(None, self.report.journey_map),
                    *((s.label, s.journey_map) for s in self.report.slices)],
                   dead_end_rate=self.dead_end_rate)
        if self.strict:
            check_strict(self.log)


@dataclass
class BatchFailure:
    """A batch entry that failed: its name, the one-line reason and a hint."""

    name: str
    message: str
    hint: str | None
    error: BaseException


@dataclass
class BatchResult:
    """How many reports a batch file holds, and those that failed."""

    reports: int
    failures: list[BatchFailure]


def _write_in_turn(targets: Iterable[Path], write_one: Callable[[Path], None]) -> None:
    for target in targets:
        write_one(target)


@dataclass(frozen=True)
class EngineChoice:
    """Where reports read their logs: ``name`` 'duckdb' or 'spark' (None: $CJM_ENGINE, else
    duckdb); with Spark, a Spark Connect ``remote`` or a cluster's ``master``."""

    name: str | None = None
    remote: str | None = None
    master: str | None = None

    def read(self, logs: list[str], reading: Mapping[str, Any]):
        from cjm.config import chosen_engine, read_arguments

        if chosen_engine(self.name) == "spark":
            from cjm.engine.spark.read import read_spark_settings

            return read_spark_settings(logs, dict(reading), remote=self.remote,
                                       master=self.master)
        from cjm.engine.duckdb.eventlog import read_log

        return read_log(logs, **read_arguments(reading))


def run_report(logs: list[str], values: Mapping[str, Any], targets: list[Path],
               assets: str | None = None, *, reading: Mapping[str, Any] | None = None,
               write_all: WriteAll | None = None,
               engine: EngineChoice | None = None) -> ReportRun:
    """Read ``logs``, build the report ``values`` describe (named as the flags of ``cjm
    report``; see report_options), write it to every target (and with ``assets`` its maps);
    ``reading`` holds the reading options (READING_OPTIONS), ``engine`` where to read them
    (default: $CJM_ENGINE, else DuckDB). The gates are left to ``ReportRun.check``, so that
    what was written can be told first."""
    from cjm.report.build import build_report
    from cjm.report.options import report_options
    from cjm.report.write import report_format, write_report

    reading = dict(reading or {})
    for target in targets:
        report_format(target)
    options, gate = report_options(values)
    if reading.get("outcome") and not options.goals:  # the column that marks success
        options.use_outcome = True
    written: list[Path] = []
    with (engine or EngineChoice()).read(logs, reading) as log:
        report = build_report(log, options)
        (write_all or _write_in_turn)(
            targets, lambda target: written.extend(write_report(report, target, assets)))
    return ReportRun(report, log.info(), written, gate, bool(reading.get("strict")))


def run_batch(path: str | Path, *,
              on_report: Callable[[BatchEntry, ReportRun], None] | None = None,
              on_failure: Callable[[BatchFailure], None] | None = None,
              write_all: WriteAll | None = None,
              engine: EngineChoice | None = None) -> BatchResult:
    """Run every entry of the batch file; return how many there were and those that failed.

    The file is checked whole before any report runs (a UsageError). An entry that fails
    does not stop the others; ``on_report`` is called as each report is written (before its
    gates are checked), ``on_failure`` as each fails (it may raise to stop the batch)."""
    from cjm import progress
    from cjm.resources import classify

    path = Path(path)
    entries = load_batch(path)
    failures: list[BatchFailure] = []
    with progress.step(f"Reports from {path.name}", total=len(entries)) as advance:
        for done, entry in enumerate(entries):
            try:
                run = run_report(entry.logs, entry.values, entry.outputs, entry.assets,
                                 reading=entry.reading, write_all=write_all,
                                 engine=engine)
                if on_report:
                    on_report(entry, run)
                run.check()
            except Exception as exc:  # one broken entry must not stop the others
                known = classify(exc)
                failure = (BatchFailure(entry.name, known.message, known.hint, exc)
                           if known is not None  # bad data, or the machine ran short
                           else BatchFailure(entry.name, f"unexpected {type(exc).__name__}: "
                                             f"{exc}", "This is a bug in cjm; run the entry "
                                             "alone with --debug.", exc))
                if on_failure:
                    on_failure(failure)
                failures.append(failure)
            advance(done + 1)
    return BatchResult(len(entries), failures)


def load_batch(path: str | Path) -> list[BatchEntry]:
    """The entries of a batch file, checked before any report runs."""
    path = Path(path)
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


def _entry(raw: dict[str, Any], number: int, folder: Path, path: Path) -> BatchEntry:
    where = f"{path}: report {number}" + (f" ({raw['name']})" if "name" in raw else "")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise UsageError(f"{where}: unknown key {key!r}.{did_you_mean(key, KEYS)}",
                             "Keys are the flags of cjm report with underscores.")
        values[key] = _value(key, value, where)
        if key in _PATHS and values[key] is not None:
            values[key] = ([_beside(folder, v) for v in values[key]]
                           if isinstance(values[key], list) else _beside(folder, values[key]))
    for required in ("logs", "output"):
        if not values.get(required):
            raise UsageError(f"{where}: {required!r} is missing")
    reading = {k: values.pop(k) for k in list(values) if k in READING_OPTIONS}
    return BatchEntry(name=values.pop("name", None) or f"report {number}",
                      logs=values.pop("logs"), outputs=[Path(o) for o in values.pop("output")],
                      assets=values.pop("assets", None), reading=reading, values=values)


def _beside(folder: Path, path: str) -> str:
    """A path of the file, read from its folder; a database URL as it is."""
    from cjm.sources import is_database_url

    return path if is_database_url(path) else str(folder / path)


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
