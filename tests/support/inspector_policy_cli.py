"""Helpers for the inspector policy_cli tests that more than one lane uses."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from inspector.cli import app
from inspector.cli.exit_codes import exit_code_for

runner = CliRunner()


def invoke(args: list[str]) -> tuple[int, Result]:
    """Run like ``inspector.cli.main``: package errors become the documented exit codes."""
    result = runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return int(exit_code_for(result.exception)), result
    return result.exit_code, result
