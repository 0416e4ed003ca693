"""The app as a whole: fast start-up, ``python -m cjm``, and help with an example everywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from conftest import CLI_ENV
from typer.testing import CliRunner

from cjm.cli import COMMANDS as NAMED
from cjm.cli import app, make_app

HEAVY = ("pandas", "pm4py", "duckdb", "graphviz", "pyarrow", "adbc_driver_manager")


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **CLI_ENV}
    return subprocess.run([sys.executable, *args, "-c", code] if code else
                          [sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_import_cli_loads_no_heavy_module():
    code = ("import sys, cjm.cli; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_loads_no_heavy_module():
    code = ("import sys\n"
            "from typer.testing import CliRunner\n"
            "from cjm.cli import app\n"
            "for args in (['--help'], ['inspect', '--help']):\n"
            "    assert CliRunner().invoke(app, args).exit_code == 0\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_python_m_cjm_help():
    done = _python("", "-m", "cjm", "--help")
    assert done.returncode == 0, done.stderr
    assert "inspect" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", [name for name, *_ in NAMED])
def test_a_command_run_alone_is_the_whole_app_s_command(name):
    # main() hands Typer the command named on the line alone, for a faster start: its help,
    # options and usage must be those it has in the whole app.
    env = {**CLI_ENV, "COLUMNS": "100"}
    whole = CliRunner().invoke(app, [name, "--help"], env=env)
    alone = CliRunner().invoke(make_app(name), [name, "--help"], env=env)
    assert whole.exit_code == alone.exit_code == 0
    assert alone.stdout == whole.stdout
    assert list(typer.main.get_command(make_app(name)).commands) == [name]


def test_main_runs_the_command_named_and_still_knows_every_other():
    ran = _python("", "-m", "cjm", "inspect", "--help")
    assert ran.returncode == 0, ran.stderr
    assert "Usage: python -m cjm inspect" in ran.stdout
    mistyped = _python("", "-m", "cjm", "discovr", "x.csv")
    assert mistyped.returncode == 2
    assert "No such command 'discovr'" in mistyped.stderr
    assert "discover" in mistyped.stderr  # the suggestion, from the whole app
    assert "Traceback" not in mistyped.stderr


def _commands(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, path)
        else:
            yield path, command


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_app_has_commands():
    assert ("inspect",) in [path for path, _ in COMMANDS]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path, command):
    assert command.help and "Example:" in command.help
    result = CliRunner().invoke(app, [*path, "--help"], env=CLI_ENV)
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "Traceback" not in result.output


def test_top_level_help_has_an_example():
    result = CliRunner().invoke(app, ["--help"], env=CLI_ENV)
    assert result.exit_code == 0
    assert "Example:" in result.stdout


@pytest.mark.parametrize("columns", [60, 71, 72, 80])
@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_names_every_option_in_full_at_any_width(path, command, columns):
    # Rich's option tables cut names on a narrow terminal (`--memory-lim…` at 60 columns):
    # there the help is click's plain text, which wraps them instead.
    result = CliRunner().invoke(app, [*path, "--help"], env={**CLI_ENV, "COLUMNS": str(columns)})
    assert result.exit_code == 0
    assert not re.findall(r"--?[\w-]+…", result.stdout), result.stdout
    for param in command.params:
        for option in param.opts + param.secondary_opts:
            assert option in result.stdout, (option, result.stdout)
    assert max(map(len, result.stdout.splitlines())) <= max(columns, 80)


def test_every_option_of_every_command_is_documented():

    reference = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"## cjm {name}" in reference, name
        for param in command.params:
            for option in param.opts + param.secondary_opts:
                if option.startswith("-"):
                    assert f"`{option}" in reference, f"cjm {name} {option}"


def test_top_level_help_lists_each_command_as_flowing_text():
    # A docstring's line breaks are not the terminal's: at 200 columns each command's summary
    # fits a line or two, never broken in mid-sentence ("(columns as text), in" / "file order").
    result = CliRunner().invoke(app, ["--help"], env={**CLI_ENV, "COLUMNS": "200"})
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "(columns as text)" in line)
    assert "(columns as text), in file order, with its original line" in row


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is a Unix device")
@pytest.mark.parametrize("columns", [60, 80])
def test_warnings_wrap_between_words_on_a_narrow_terminal(columns):
    """On a terminal, a warning longer than its width wraps at a space (the terminal itself
    would break a word); piped, it stays one line."""
    import fcntl
    import pty
    import struct
    import termios

    example = Path(__file__).resolve().parents[2] / "examples" / "shop.csv"
    command = [sys.executable, "-m", "cjm", "discover", str(example), "--no-map", "-q"]
    env = {**os.environ, **CLI_ENV}
    env.pop("COLUMNS", None)
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        run = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=secondary, env=env,
                             timeout=120, check=False)
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert run.returncode == 0
    # What the terminal shows of each line: what follows the last carriage return or erase
    # (the progress display draws itself over and over, then erases itself), uncoloured.
    lines = [re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", re.split(r"\r|\x1b\[2K", line)[-1])
             for line in shown.decode().replace("\r\n", "\n").split("\n")]
    lines = [line.rstrip() for line in lines if line.strip()]
    ties = ("Warning: 40 events share their timestamp with another event of the same journey "
            "(20 journeys); they keep file order")
    assert max(map(len, lines)) <= columns, lines
    assert " ".join(lines).count(ties) == 1, lines
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                           check=False)
    assert ties in piped.stderr.splitlines()
