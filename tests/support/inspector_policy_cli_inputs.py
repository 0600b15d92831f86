"""Helpers for the inspector policy_cli_inputs tests that more than one lane uses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner, Result

from fixtures.pki import PKI_DIR
from inspector.cli import app
from inspector.cli.exit_codes import exit_code_for

runner = CliRunner()
BASE_ID = "{7A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}"


def invoke(args: list[str]) -> tuple[int, Result]:
    """Run like ``inspector.cli.main``: package errors become the documented exit codes."""
    result = runner.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return int(exit_code_for(result.exception)), result
    return result.exit_code, result


def message(result: Result) -> str:
    return result.output + ("" if result.exception is None else str(result.exception))


def tbs_sha256(name: str) -> str:
    cert = x509.load_pem_x509_certificate((PKI_DIR / name).read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


@pytest.fixture
def base_xml(tmp_path: Path) -> Path:
    xml = tmp_path / "base.xml"
    code, result = invoke(["policy", "new", "-o", str(xml), "--name", "B", "--policy-id", BASE_ID])
    assert code == 0, result.output
    return xml
