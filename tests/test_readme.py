"""README.md and the command line describe the same commands: nothing stale, nothing hidden."""

from __future__ import annotations

import re
from pathlib import Path

import typer.core
import typer.main
from typer.testing import CliRunner

from inspector.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"


def _cli_commands() -> set[str]:
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    found: set[str] = set()
    for name, command in root.commands.items():
        if isinstance(command, typer.core.TyperGroup):
            found.update(f"{name} {sub}" for sub in command.commands)
        else:
            found.add(name)
    return found


def _readme_commands() -> set[str]:
    text = README.read_text(encoding="utf-8")
    groups = {"catalog", "policy", "events", "cache"}
    found: set[str] = set()
    for match in re.finditer(r"\binspector ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", text):
        words = match.group(1).split()
        found.add(" ".join(words[:2]) if words[0] in groups and len(words) > 1 else words[0])
    return found


def test_every_command_is_documented_in_the_readme() -> None:
    missing = _cli_commands() - _readme_commands()
    assert not missing, f"commands without a word in README.md: {sorted(missing)}"


def test_every_command_the_readme_names_exists() -> None:
    stale = {
        c
        for c in _readme_commands()
        if c not in _cli_commands() and c not in {"catalog", "policy", "cache"}
    }
    assert not stale, f"README.md names commands the CLI does not have: {sorted(stale)}"


def test_readme_commands_show_help() -> None:
    runner = CliRunner()
    for command in sorted(_cli_commands()):
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, (command, result.output)
