"""Every command's terminal output at 60, 80, 100 and 120 columns, on a log with long stage
names: numbers are never cut, and a name is whole (perhaps over several lines) or visibly
shortened.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from cjm.cli import app
from cjm.render.grid import Grid
from cjm.render.terminal import path_text, short
from cjm.units import format_count as count
from cjm.units import format_seconds
from tests.journey_logs import LONG_SEGMENTS, LONG_STAGES, long_names_log

WIDTHS = (60, 80, 100, 120)
STEPS = ",".join([LONG_STAGES[0], LONG_STAGES[2], LONG_STAGES[3], LONG_STAGES[-1]])
DESIGN = f"""name: Appeals
stages:
  - {LONG_STAGES[0]}
  - {{name: {LONG_STAGES[1]}, optional: true}}
  - {{name: {LONG_STAGES[2]}, optional: true}}
  - {{name: {LONG_STAGES[3]}, optional: true}}
  - {{name: {LONG_STAGES[4]}, optional: true}}
  - {LONG_STAGES[-1]}
"""
# Every word the log's values hold, and every form short() may give them.
NAMES = (*LONG_STAGES, *LONG_SEGMENTS, "web", "phone", "email")
PUNCTUATION = "()[],;:"
WORDS = {w.strip(PUNCTUATION) for name in NAMES for w in name.split()}
SHORTENED = {w.strip(PUNCTUATION) for name in NAMES for width in range(4, 61)
             for w in short(name, width).split() if "…" in w}


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def points(change: float) -> str:
    return f"{change * 100:+.1f} pp"


def p_value(value: float | None) -> str:
    return "too few" if value is None else "<0.001" if value < 0.001 else f"{value:.3f}"


def inspect_numbers(out: dict) -> Iterator[str]:
    for s in out["stages"][:20]:
        yield from (count(s["events"]), percent(s["share"]), count(s["journeys"]))


def discover_numbers(out: dict) -> Iterator[str]:
    for t in out["transitions"][:10]:
        yield from (count(t["count"]), percent(t["share"]), format_seconds(t["median_seconds"]))
    for p in out["paths"][:10]:
        yield from (count(p["journeys"]), percent(p["share"]), percent(p["coverage"]))
    for d in out["dead_ends"]["stages"][:10]:
        yield from (count(d["journeys"]), percent(d["share_of_reaching"]),
                    percent(d["share_of_dead_ends"]))
    for g in out["gaps"]["slowest"][:5]:
        yield from (format_seconds(g["median_seconds"]), count(g["count"]))
    for h in out["handoffs"]["matrix"][:10]:
        yield from (count(h["count"]), format_seconds(h["median_seconds"]))


def slices_numbers(out: dict) -> Iterator[str]:
    for part in [*out["slices"], out["all"]]:
        yield from (count(part["journeys"]), percent(part["goals"]["rate"]),
                    percent(part["dead_ends"]["rate"]),
                    format_seconds(part["duration_seconds"]["median"]))


def funnel_numbers(out: dict) -> Iterator[str]:
    for s in out["steps"]:
        yield from (count(s["journeys"]), percent(s["step_conversion"]),
                    percent(s["overall_conversion"]))
        if s["median_seconds"] is not None:
            yield format_seconds(s["median_seconds"])
        if s["dropped"]:
            yield count(s["dropped"])
        yield from (f"({count(w['journeys'])})" for w in s["went_instead"])


def compare_numbers(out: dict) -> Iterator[str]:
    shown = [t for t in out["transitions"] if t["significant"]] or out["transitions"]
    for t in shown[:10]:
        yield from (percent(t["share_a"]), f"({count(t['count_a'])})", percent(t["share_b"]),
                    f"({count(t['count_b'])})", points(t["change"]), p_value(t["adjusted_p"]),
                    format_seconds(t["median_seconds_a"]), format_seconds(t["median_seconds_b"]))
    for d in [d for d in out["dead_ends"] if d["p_value"] is not None][:10]:
        yield from (percent(d["share_a"]), percent(d["share_b"]), points(d["change"]),
                    p_value(d["adjusted_p"]))


def channels_numbers(out: dict) -> Iterator[str]:
    for stage in out["mix"]:
        total = sum(c["events"] for c in stage["channels"])
        yield from (percent(c["events"] / total) for c in stage["channels"][:5])
    yield from (count(s["journeys"]) for s in out["sequences"][:10])
    for p in out["cost_by_path"][:10]:
        yield from (count(p["journeys"]), f"{p['total']:,.2f}", f"{p['median']:,.2f}")
    for s in out["cost_by_stage"][:10]:
        yield from (count(s["events"]), f"{s['total']:,.2f}")


def moments_numbers(out: dict) -> Iterator[str]:
    for m in out["items"][:10]:
        yield from (percent(m["with"]), f"({count(m['journeys_with'])})", percent(m["without"]),
                    f"({count(m['journeys_without'])})", points(m["difference"]),
                    points(m["low"]), points(m["high"]))


def attribution_numbers(out: dict) -> Iterator[str]:
    for t in out["touchpoints"][:10]:
        yield count(t["journeys"])
        for model in ("markov", "first_touch", "last_touch", "linear"):
            share = t[model]
            yield from (percent(share["share"]),
                        f"({share['low'] * 100:.1f}-{share['high'] * 100:.1f})")


def steps_numbers(out: dict) -> Iterator[str]:
    """The shares of the first five steps, which every width shows."""
    for row in [*out["stages"], *out["ended"]]:
        yield from (percent(s) for s in row["shares"][:5] if s)


def steps_difference_numbers(out: dict) -> Iterator[str]:
    for row in [*out["difference"]["stages"], *out["difference"]["ended"]]:
        yield from (f"{s * 100:+.1f}" for s in row["shares"][:5] if s)


def timing_numbers(out: dict) -> Iterator[str]:
    for curve in (out["all"], *out["groups"]):
        yield from (count(curve["journeys"]), count(curve["reached"]))
        if curve["median"]["seconds"] is not None:
            yield format_seconds(curve["median"]["seconds"])
        yield from (percent(point["reached"]) for point in curve["at"] if point)


def personas_numbers(out: dict) -> Iterator[str]:
    for p in out["personas"]:
        yield from (count(p["journeys"]), percent(p["share"]), percent(p["goal_rate"]))
        yield from (count(path["journeys"]) for path in p["top_paths"])
        yield from (percent(f["share"]) for f in p["apart"])


def check_numbers(out: dict) -> Iterator[str]:
    for d in out["deviations"][:10]:
        yield from (count(d["journeys"]), percent(d["journeys"] / out["journeys"]))


COMPARE = ["--values", "2024-01,2024-02", "--no-map"]
COMMANDS: dict[str, tuple[list[str], Callable[[dict], Iterator[str]] | None]] = {
    "inspect": (["inspect", "log.csv"], inspect_numbers),
    "discover": (["discover", "log.csv", "--no-map"], discover_numbers),
    "discover --by": (["discover", "log.csv", "--no-map", "--by", "segment"], slices_numbers),
    "discover --period": (["discover", "log.csv", "--no-map", "--period", "month"],
                          slices_numbers),
    "funnel": (["funnel", "log.csv", "--steps", STEPS], funnel_numbers),
    "compare --period": (["compare", "log.csv", "--period", "month", *COMPARE],
                         compare_numbers),
    "compare --by": (["compare", "log.csv", "--by", "segment", "--values",
                      ",".join(LONG_SEGMENTS), "--no-map"], compare_numbers),
    "channels": (["channels", "log.csv", "--channel-cost", "web=0.1,phone=6,email=3"],
                 channels_numbers),
    "moments": (["moments", "log.csv"], moments_numbers),
    "attribution": (["attribution", "log.csv", "--goal", LONG_STAGES[-1]], attribution_numbers),
    "steps": (["steps", "log.csv"], steps_numbers),
    "steps --by": (["steps", "log.csv", "--by", "segment", "--values",
                    ",".join(LONG_SEGMENTS)], steps_difference_numbers),
    "timing": (["timing", "log.csv", "--goal", LONG_STAGES[-1]], timing_numbers),
    "timing --by": (["timing", "log.csv", "--goal", LONG_STAGES[-1], "--by", "segment"],
                    timing_numbers),
    "personas": (["personas", "log.csv", "--k", "3"], personas_numbers),
    "personas auto": (["personas", "log.csv", "--before-goal", "--goal", LONG_STAGES[-1]],
                      personas_numbers),
    "check": (["check", "log.csv", "--design", "design.yaml", "--no-map"], check_numbers),
    "model": (["model", "log.csv", "-o", "model.pnml"], None),
    "report": (["report", "log.csv", "-o", "report.md"], None),
    "convert": (["convert", "log.csv", "-o", "log.parquet"], None),
}


JSON: dict[str, dict] = {}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("widths")
    long_names_log(folder / "log.csv")
    (folder / "design.yaml").write_text(DESIGN, encoding="utf-8")
    return folder


def run(folder: Path, args: list[str], width: int, monkeypatch) -> str:
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def whole(number: str, text: str) -> bool:
    """``number`` appears in ``text`` as whole tokens: not cut, not part of a longer number."""
    return re.search(r"(?<![\w.,+\-])" + re.escape(number) + r"(?![\w%]|[.,]\d)", text) \
        is not None


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_nothing_is_cut(folder, command, width, monkeypatch):
    args, numbers = COMMANDS[command]
    text = run(folder, args, width, monkeypatch)
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, f"{command} at {width} columns:\n{text}"
    for token in text.split():
        word = token.strip(PUNCTUATION)
        if "…" in word:
            assert word in SHORTENED or set(word) == {"…"}, \
                f"{command} at {width} columns cuts {token!r}:\n{text}"
        elif len(word) >= 3 and word not in WORDS:
            assert not any(w.startswith(word) for w in WORDS), \
                f"{command} at {width} columns cuts a name to {token!r}:\n{text}"
    if numbers is not None:
        if command not in JSON:  # the JSON does not depend on the width: read it once
            JSON[command] = json.loads(run(folder, [*args, "--json", "-"], width, monkeypatch))
        expected = list(numbers(JSON[command]))
        assert expected
        missing = [n for n in expected if not whole(n, text)]
        assert not missing, f"{command} at {width} columns lacks {missing}:\n{text}"


def test_a_shortened_path_keeps_its_last_stage():
    stages = [LONG_STAGES[0], LONG_STAGES[3], LONG_STAGES[4], LONG_STAGES[5], LONG_STAGES[-1]]
    text = path_text(stages, 60)
    assert text.startswith(f"{LONG_STAGES[0]} → {LONG_STAGES[3]} → … (+")
    assert text.endswith(short(LONG_STAGES[-1]))
    assert path_text(stages[:3], 60) == " → ".join(short(s) for s in stages[:3])


def test_numbers_stay_whole_however_long_the_names():
    grid = Grid("Transitions", ("from", "to", "A", "B", "wait"), frozenset({2, 3, 4}))
    for a, b in ((LONG_STAGES[1], LONG_STAGES[2]), (LONG_STAGES[4] * 3, LONG_STAGES[5])):
        grid.add_row(a, b, ("65.4%", "(1,393)"), ("100.0%", "(57)"), ("1d 4h →", "22h 57m"))
    for width in (40, 50, 60, 100):
        console = Console(width=width, file=io.StringIO(), color_system=None)
        console.print(grid)
        text = console.file.getvalue()
        assert max(cell_len(line) for line in text.splitlines()) <= width
        for number in ("65.4%", "(1,393)", "100.0%", "(57)", "1d 4h →", "22h 57m"):
            assert whole(number, text), text
        # Names wrap between words; only when the console is very narrow, within them.
        assert width < 50 or (whole("product1", text) and whole("product2", text)), text
