"""Names from the data print as written: ``:thumbs_up:`` never becomes an emoji, and
``[red]`` or ``[bold]x[/bold]`` never becomes (or breaks) Rich markup, in any command's
terminal output, at any width.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from typer.testing import CliRunner

from cjm.cli import app
from tests.journey_logs import BASE

STAGES = (":thumbs_up:", "[bold]x[/bold]", "[red]", ":snowflake:")
GOAL = "Buy[/]"  # a closing tag with nothing open: Rich would refuse it as markup
SEGMENTS = (":star:", "[blue]")
CHANNELS = ("web", ":phone:")
COLUMN = "[segment]"  # a column name from the data
BY = ["--segment", COLUMN, "--by", "segment"]
EMOJI_CODES = (*(n for n in (*STAGES, *SEGMENTS, *CHANNELS) if n.startswith(":")),)
DESIGN = "name: Odd names\nstages:\n" + "".join(f"  - '{s}'\n" for s in (*STAGES, GOAL))
WIDTHS = (60, 80, 120)
STEPS = ",".join([STAGES[0], STAGES[2], GOAL])
COMMANDS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "inspect": (["inspect", "log.csv"], (*STAGES, GOAL)),
    "discover": (["discover", "log.csv", "--no-map", "--goal", GOAL, "--segment", COLUMN],
                 (*STAGES, GOAL, COLUMN)),
    "discover --by": (["discover", "log.csv", "--no-map", "--goal", GOAL, *BY], SEGMENTS),
    "funnel": (["funnel", "log.csv", "--steps", STEPS], (STAGES[0], STAGES[2], GOAL)),
    "compare --by": (["compare", "log.csv", *BY, "--values", ",".join(SEGMENTS),
                      "--goal", GOAL, "--no-map"], SEGMENTS),
    "channels": (["channels", "log.csv"], (*STAGES, *CHANNELS)),
    "moments": (["moments", "log.csv", "--outcome", "converted"], ()),
    "attribution": (["attribution", "log.csv", "--goal", GOAL], STAGES),
    "steps": (["steps", "log.csv", "--goal", GOAL], (*STAGES, GOAL)),
    "steps --by": (["steps", "log.csv", "--goal", GOAL, *BY, "--values",
                    ",".join(SEGMENTS)],
                   (*STAGES, f"{COLUMN} = {SEGMENTS[1]} - {COLUMN} = {SEGMENTS[0]}")),
    "timing --by": (["timing", "log.csv", "--goal", GOAL, *BY], (GOAL, *SEGMENTS)),
    "personas": (["personas", "log.csv", "--k", "2"], CHANNELS),
    "check": (["check", "log.csv", "--design", "design.yaml", "--no-map"], ()),
}


def write_log(path: Path, journeys: int = 120) -> Path:
    """A deterministic log whose stage names, channels, segment values and one column name
    look like Rich emoji codes or markup."""
    rng = random.Random(3)
    lines = [f"case_id,stage,timestamp,channel,{COLUMN},converted"]
    for j in range(journeys):
        when = BASE + timedelta(hours=5 * j)
        stages = [STAGES[0], *rng.sample(STAGES[1:], rng.randint(1, 3))]
        converted = rng.random() < 0.4 + 0.3 * (j % 2)
        stages += [GOAL] if converted else []
        segment = SEGMENTS[j % 2]
        for stage in stages:
            when += timedelta(minutes=rng.randint(1, 600))
            lines.append(",".join([f"j{j:03d}", stage, when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   rng.choice(CHANNELS), segment, "yes" if converted else "no"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("names")
    write_log(folder / "log.csv")
    (folder / "design.yaml").write_text(DESIGN, encoding="utf-8")
    return folder


def test_the_codes_are_emoji_to_rich():
    """The log's names are ones Rich would turn into emoji, were it asked to."""
    for code in EMOJI_CODES:
        assert Text.from_markup(code).plain != code


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_names_print_as_written(folder, command, width, monkeypatch):
    args, names = COMMANDS[command]
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    for code in EMOJI_CODES:
        assert Text.from_markup(code).plain not in text, f"{command} at {width}:\n{text}"
    assert "\\[" not in text, f"{command} at {width} shows an escape:\n{text}"
    missing = [name for name in names if name not in text]
    assert not missing, f"{command} at {width} lacks {missing}:\n{text}"


def test_every_markup_string_is_parsed_without_emoji():
    """Rich markup becomes text in one place, render.grid.markup, which turns emoji codes
    off: Text.from_markup anywhere else would turn :thumbs_up: from the data into an emoji."""
    package = Path(__file__).parents[2] / "cjm"
    calls = {str(path.relative_to(package)): path.read_text(encoding="utf-8").count(
        "from_markup(") for path in package.rglob("*.py")}
    assert {path: n for path, n in calls.items() if n} == {"render/grid.py": 1}
