"""``inspector policy`` with the inputs issue 11 found broken (items 11, 12, 13, 16).

UTF-16 policy XML works in every command that loads a policy; hostile XML is bad input (exit 3);
bad option values are usage errors (exit 2) listing the valid values; README's signed-policy recipe
(``--update-signer ca-chain.pem`` ... ``policy sign --chain``) works and its pre-flight error names
what is missing. Expected TBS values come from cryptography + hashlib, signatures from OpenSSL.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fixtures.pki import PKI_DIR
from tests.conftest import require_tool
from tests.support.inspector_policy_cli_inputs import invoke, message, tbs_sha256

# -- item 16: README's signed-policy recipe -------------------------------------------------------


def test_readme_update_signer_recipe_signs_and_names_what_is_missing(
    base_xml: Path, tmp_path: Path
) -> None:
    ca_chain = PKI_DIR / "issuing-ca-chain.pem"  # README's ca-chain.pem: issuing CA, then root
    code, result = invoke(["policy", "set", str(base_xml), "--option", "3", "--remove-option",
                           "6", "--update-signer", str(ca_chain)])  # fmt: skip
    assert code == 0, message(result)
    shown = json.loads(invoke(["policy", "show", str(base_xml), "--json"])[1].stdout)
    (signer,) = shown["signers"]
    assert signer["root"] == tbs_sha256("issuing-ca.pem")  # the CA given, not its root
    cip = tmp_path / "base.cip"
    assert invoke(["policy", "compile", str(base_xml), "-o", str(cip)])[0] == 0
    key = ["--cert", str(PKI_DIR / "leaf.pem"), "--key", str(PKI_DIR / "leaf.key.pem")]

    # Without --chain the CA's TBS value cannot be compared: the error says so and what to do.
    signed = tmp_path / "signed.cip"
    code, result = invoke(["policy", "sign", str(cip), *key, "-o", str(signed)])
    assert code == 3
    text = message(result)
    assert tbs_sha256("issuing-ca.pem") in text  # what the policy trusts
    assert tbs_sha256("leaf.pem") in text  # what would accept the certificate as it was given
    assert "'Inspector Test Issuing CA' was not given (--chain)" in text
    assert "inspector policy set POLICY.xml --update-signer" in text
    assert not signed.exists()

    code, result = invoke(["policy", "sign", str(cip), *key, "--chain", str(ca_chain),
                           "-o", str(signed)])  # fmt: skip
    assert code == 0, message(result)
    openssl = require_tool("openssl")
    out = subprocess.run(
        [openssl, "cms", "-verify", "-inform", "DER", "-binary", "-noverify", "-in", signed],
        check=True,
        capture_output=True,
    )
    assert out.stdout == cip.read_bytes()
