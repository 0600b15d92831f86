"""Key options that cannot work together are refused up front (exit 3), naming the backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures.pki import PKI_DIR
from inspector.cli import app
from inspector.cli.exit_codes import exit_code_for

runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return int(exit_code_for(result.exception)), str(result.exception)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "azure-keyvault://v/keys/k", "--pfx", PKI_DIR / "leaf.pfx"], "--pfx"),
        (["--key", "exec:/bin/true"], "needs its certificate"),
        (["--key", "trusted-signing://e/a/p", "--cert", PKI_DIR / "leaf.pem"], "drop --cert"),
        (["--key", "trusted-signing://e/a"], "ENDPOINT/ACCOUNT/PROFILE"),
        (["--key", "azure-keyvault://v/secrets/k"], "VAULT/keys/NAME"),
        (["--key", PKI_DIR / "leaf.key.pem", "--cert", "pkcs11:token=t;object=c"], "pkcs11"),
        (["--key", "pkcs11:token=t;object=k;color=blue"], "not understood"),
    ],
)
def test_incompatible_key_options(tmp_path: Path, args: list[str | Path], message: str) -> None:
    cat = tmp_path / "app.cat"
    cat.write_bytes(b"not read: the key options fail first")
    out = tmp_path / "out.cat"
    code, text = invoke("sign", cat, "-o", out, *args)
    assert code == 3, text
    assert message in text
    assert not out.exists()


def test_eku_needs_a_signer(tmp_path: Path) -> None:
    xml = tmp_path / "p.xml"
    assert invoke("policy", "new", "-o", xml, "--name", "E")[0] == 0
    before = xml.read_bytes()
    code, text = invoke("policy", "set", xml, "--eku", "1.3.6.1.4.1.311.97.1")
    assert code == 3
    assert "--update-signer" in text
    assert xml.read_bytes() == before
