"""Helpers for the inspector catalog_cli tests that more than one lane uses."""

from __future__ import annotations

import pytest
import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)

from inspector.cli import main


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The console entry point (exception -> exit code mapping included)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
