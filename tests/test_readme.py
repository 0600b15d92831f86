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


def test_readme_documents_every_switch_the_scripts_read() -> None:
    """Issue 11 item 18: what ``scripts/test`` does as root, and how to opt out, is in README."""
    text = README.read_text(encoding="utf-8")
    scripts = README.parent / "scripts"
    used: set[str] = set()
    for script in [*scripts.iterdir(), README.parent / ".ci" / "run"]:
        if script.is_file():
            used |= set(re.findall(r"\b(INSPECTOR_[A-Z_]+)\b", script.read_text(encoding="utf-8")))
    used.discard("INSPECTOR_STATE_DIR")  # the tracer's state folder: documented with start/stop
    missing = sorted(v for v in used if f"`{v}" not in text)
    assert not missing, f"README.md does not document {missing}"
    for fact in ("i386", "bookworm-backports", "dist-upgrade", "INSPECTOR_NO_WINE=1"):
        assert fact in text, f"README.md does not say what scripts/test does: {fact}"


def test_scripts_do_not_upgrade_the_host_by_default() -> None:
    """Only .ci/run (throwaway CI machines) may opt into a dist-upgrade; scripts/ never sets it."""
    root = README.parent
    for script in (root / "scripts").iterdir():
        body = script.read_text(encoding="utf-8")
        assignment = re.search(r"^\s*(export\s+)?INSPECTOR_ALLOW_DIST_UPGRADE=", body, re.M)
        assert assignment is None, f"{script.name} turns the dist-upgrade on"
    wine = (root / "scripts" / "wine-deps.sh").read_text(encoding="utf-8")
    assert '"${INSPECTOR_ALLOW_DIST_UPGRADE:-0}" = 1' in wine


def test_readme_exit_code_table_matches_the_cli() -> None:
    """The table lists exactly the codes inspector/cli/exit_codes.py defines."""
    from inspector.cli.exit_codes import ExitCode

    text = README.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert documented == {int(c) for c in ExitCode}
