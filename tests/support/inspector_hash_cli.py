"""Helpers for the inspector hash_cli tests that more than one lane uses."""

from __future__ import annotations

from typer.testing import CliRunner

runner = CliRunner()
