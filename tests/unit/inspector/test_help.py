"""Every command's --help, walked: words a user types, no Python types, help for every option.

Issue 11 item 14: help showed ``<bool>``, ``<list[Path]>`` and ``{paths}``, ``-h`` was refused,
options had no help, ``catalog --help`` advertised a ``sign`` it does not have, and some reporting
commands had no ``--json``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from inspector.cli import app

# Python-looking type labels typer prints by default, and braces around argument names.
PYTHON_TYPE = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|[A-Za-z_]+\[[^\]]*\])>")
BRACED_ARGUMENT = re.compile(r"\{[a-z_]+\}")

# Commands whose output is a report: each must offer --json. ``demo`` reports too.
NOT_REPORTING: frozenset[str] = frozenset()


def _subcommands(command: Any) -> dict[str, Any]:
    found: dict[str, Any] = getattr(command, "commands", {})
    return found


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(_subcommands(command).items()):
        found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_command(app), ())
IDS = [" ".join(p) or "inspector" for p, _ in COMMANDS]


def _help(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
    return result.output


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_has_no_python_types_and_every_spelling_works(
    path: tuple[str, ...], command: Any
) -> None:
    text = _help([*path, "--help"])
    assert not PYTHON_TYPE.findall(text), f"Python types in help: {PYTHON_TYPE.findall(text)}"
    assert not BRACED_ARGUMENT.findall(text), BRACED_ARGUMENT.findall(text)
    for spelling in ("-h", "-?"):
        assert _help([*path, spelling]) == text, spelling


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_parameter_has_help(path: tuple[str, ...], command: Any) -> None:
    missing = [
        p.name
        for p in command.params
        if not (getattr(p, "help", None) or "").strip() and p.name != "help"
    ]
    assert not missing, f"{' '.join(path)}: no help for {missing}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_reporting_command_has_json(path: tuple[str, ...], command: Any) -> None:
    if _subcommands(command) or " ".join(path) in NOT_REPORTING:
        return
    options = {o for p in command.params for o in getattr(p, "opts", ())}
    assert "--json" in options, f"{' '.join(path)} has no --json"


def test_group_help_advertises_only_verbs_it_has() -> None:
    """``catalog --help`` said "Build, inspect and sign" with no ``catalog sign`` command."""
    root = _subcommands(typer.main.get_command(app))
    verbs_of_any_group = {"sign", "build", "show", "compile", "merge", "validate", "inspect"}
    for group_name in ("catalog", "policy"):
        group = root[group_name]
        verbs = set(_subcommands(group)) | {"inspect", "write"}
        # a verb the group lacks may only appear as a pointer to the top-level command
        claimed = set(re.findall(r"(?<!inspector )\b([a-z]+)\b", (group.help or "").lower()))
        wrong = (claimed & verbs_of_any_group) - verbs
        assert not wrong, f"{group_name} --help advertises {sorted(wrong)}; it has {sorted(verbs)}"
