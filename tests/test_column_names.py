"""Columns named like the engine's own tables and aliases change no figure of any command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "shop.csv"
DESIGN = ROOT / "examples" / "designed-journey.yaml"

# The shop's columns by role, named neutrally and named like the engine's own columns, tables
# and aliases (a role's column named after another role, or after an internal alias).
ROLES = {  # role: (shop column, neutral name, clashing name)
    "case": ("journey_id", "jid", "ts"),
    "stage": ("stage", "act", "journey"),
    "timestamp": ("timestamp", "when", "stage"),
    "channel": ("channel", "chn", "cost"),
    "device": ("device", "dev", "hand"),
    "segment": ("segment", "grp", "channel"),
    "outcome": ("converted", "res", "n"),
    "cost": ("order_value", "price", "segment"),
}
# Unmapped columns named like what the engine's queries name (events, seq, jrn, their
# aliases and subqueries), and like roles already taken.
EXTRA = ("journey_id", "case_id", "_file", "_line", "ts_text", "keep", "reason", "pos",
         "next_stage", "wait", "next_hand", "success", "path", "duration", "last_ts",
         "last_stage", "count", "c", "starts", "ends", "status", "rank", "total", "y", "kind",
         "item", "raw", "v", "step", "t0", "prev", "prev_ts", "seq", "content", "j", "outcome",
         "cjm_cost", "cjm_journey", "cjm_stage", "cjm_total", "visits", "events", "rejects",
         "tg", "us", "reached", "seconds", "a", "b", "x", "open")
# --by and --where name roles: "channel" is the channel role, whatever column is so named.
COMMANDS = {
    "inspect": (),
    "discover": ("--no-map", "--journey-gap", "30m", "--drop-duplicates", "--by", "channel"),
    "funnel": ("--steps", "View Product,Add to Cart,Checkout,Purchase", "--by", "channel"),
    "channels": (),
    "moments": ("--min-count", "5", "--before-goal", "--goal", "Purchase"),
    "attribution": ("--goal", "Purchase", "--by-channel", "--resamples", "100"),
    "timing": ("--goal", "Purchase", "--by", "channel", "--still-active", "7d"),
    "compare": ("--by", "channel", "--values", "web,app", "--where", "segment=new",
                "--no-map"),
    "check": ("--design", str(DESIGN), "--no-map"),
}


def _write(path: Path, clashing: bool) -> list[str]:
    """The first rows of the shop log with its columns renamed; the options that map them."""
    pick = 2 if clashing else 1
    with SHOP.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))[:3000]
    extra = EXTRA if clashing else tuple(f"x{i}" for i in range(len(EXTRA)))
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([names[pick] for names in ROLES.values()] + list(extra))
        for i, row in enumerate(rows):
            writer.writerow([row[names[0]] for names in ROLES.values()]
                            + [f"{i % 7}" for _ in extra])
    return [part for role, names in ROLES.items() for part in (f"--{role}", names[pick])]


COLUMN_KEYS = ("column", "outcome_column", "label")  # the JSON's keys that name a column


def _figures(data: object, names: dict[str, str]) -> object:
    """The JSON with each column name (whole, or before ' = ' in a label) put as ``names``."""
    if isinstance(data, list):
        return [_figures(v, names) for v in data]
    if not isinstance(data, dict):
        return data

    def named(text: str) -> str:  # "segment = new, channel = web"
        parts = (part.partition(" = ") for part in text.split(", "))
        return ", ".join(names.get(head, head) + sep + tail for head, sep, tail in parts)

    return {k: named(v) if k in COLUMN_KEYS and isinstance(v, str) else _figures(v, names)
            for k, v in data.items()}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_columns_named_like_the_engines_own(tmp_path, monkeypatch, command):
    figures = []
    for clashing in (False, True):
        folder = tmp_path / ("clashing" if clashing else "neutral")
        folder.mkdir()
        monkeypatch.chdir(folder)  # the same file name in the JSON
        mapping = _write(folder / "log.csv", clashing)
        result = run_cli(command, "log.csv", *mapping, *COMMANDS[command], "--json", "out.json")
        assert result.exit_code == 0, result.output
        names = {columns[2 if clashing else 1]: role for role, columns in ROLES.items()}
        figures.append(_figures(json.loads(Path("out.json").read_text(encoding="utf-8")),
                                names))
    assert figures[1] == figures[0]
