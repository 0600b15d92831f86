"""Helpers for the inspector sign_cli tests that more than one lane uses."""

from __future__ import annotations

import pytest

from fixtures.pki import PKI_DIR
from inspector.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out.out, out.err


def _leaf_args(stem: str = "leaf") -> list[str]:
    return [
        "--cert",
        str(PKI_DIR / f"{stem}.pem"),
        "--key",
        str(PKI_DIR / f"{stem}.key.pem"),
        "--chain",
        str(PKI_DIR / "issuing-ca.pem"),
    ]
