"""Signed policies (sipolicy.md 6, trap 10): structure checked with asn1crypto and OpenSSL.

No Microsoft- or signtool-signed policy exists in the oracle (policy-oracle README, "Not found"),
so the checks are structural: SignedData version 1, eContentType 1.3.6.1.4.1.311.79.1, the policy
as the OCTET STRING content, messageDigest = SHA-256 of the policy, and OpenSSL's verification.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from catalog.cms.keys import SigningIdentity
from policy.binary import compile_policy
from policy.sign import sign_policy_binary
from tests.conftest import require_tool
from tests.support.policy_sign import _signable


def test_openssl_verifies_and_returns_the_policy(identity: SigningIdentity, tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    raw = compile_policy(_signable(identity))
    signed = tmp_path / "signed.cip"
    signed.write_bytes(sign_policy_binary(raw, identity))
    out = subprocess.run(
        [openssl, "cms", "-verify", "-inform", "DER", "-binary", "-noverify", "-in", signed],
        check=True,
        capture_output=True,
    )
    assert out.stdout == raw
