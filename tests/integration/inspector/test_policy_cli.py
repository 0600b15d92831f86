"""``inspector policy ...`` as a user runs it: files, JSON, exit codes, no partial output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fixtures.pki import PKI_DIR
from tests.conftest import require_tool
from tests.support.inspector_policy_cli import invoke


def test_sign_end_to_end(tmp_path: Path) -> None:
    # The shared fixture PKI (PrintableString names); leaf-chain.pem is leaf, issuing CA, root.
    cert, key, chain = (PKI_DIR / n for n in ("leaf.pem", "leaf.key.pem", "leaf-chain.pem"))
    xml = tmp_path / "base.xml"
    code, result = invoke(
        ["policy", "new", "-o", str(xml), "--name", "S", "--template", "enforced"]
    )
    assert code == 0, result.output
    cip = tmp_path / "base.cip"
    assert invoke(["policy", "compile", str(xml), "-o", str(cip)])[0] == 0
    signed = tmp_path / "signed.cip"
    sign = [
        "policy",
        "sign",
        str(cip),
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--chain",
        str(chain),
    ]
    # Still "Enabled:Unsigned System Integrity Policy" and no UpdatePolicySigner: refused.
    code, result = invoke([*sign, "-o", str(signed)])
    assert code == 3
    assert not signed.exists()
    edit = ["policy", "set", str(xml), "--remove-option", "6", "--update-signer", str(chain)]
    code, result = invoke(edit)
    assert code == 0, result.output
    assert invoke(["policy", "compile", str(xml), "-o", str(cip)])[0] == 0
    code, result = invoke([*sign, "-o", str(signed)])
    assert code == 0, result.output
    code, result = invoke(["policy", "show", str(signed), "--json"])
    assert code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source_format"] == "signed"
    assert doc["signature"]["verified"] is True
    assert doc["signature"]["signed_data_version"] == 1
    assert doc["update_policy_signers"]
    # "verified" is our own reader's opinion: OpenSSL must agree, and hand back the compiled policy.
    openssl = require_tool("openssl")
    out = subprocess.run(
        [openssl, "cms", "-verify", "-inform", "DER", "-binary", "-noverify", "-in", signed],
        check=True,
        capture_output=True,
    )
    assert out.stdout == cip.read_bytes()
