"""Helpers shared by the unit, oracle and integration tests of inspector (hash_cli)."""

from __future__ import annotations

from typer.testing import CliRunner

runner = CliRunner()
