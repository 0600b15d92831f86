"""Dual-signed files: the nested SHA-256 signature counts like the primary one.

Oracle: osslsigncode's ``verify`` lists every signature of Microsoft's sigcheck.exe (a SHA-1
primary signature under "Microsoft Code Signing PCA" and a nested SHA-256 one under "Microsoft
Code Signing PCA 2011") with the issuer of each signer certificate.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from policy.evaluate.engine import evaluate
from policy.evaluate.gather import gather_facts
from policy.evaluate.index import index_policy, policy_set
from policy.model import (
    BASE_POLICY,
    CertRoot,
    Signer,
    SignerGroup,
    SignerRef,
    SigningScenario,
    SiPolicy,
)
from tests.conftest import require_tool


def _issuer_cns(tool: str, path: Path) -> list[str]:
    out = subprocess.run(
        [tool, "verify", "-in", str(path)], capture_output=True, text=True, check=False
    ).stdout
    found = []
    for section in re.split(r"^Signature Index: \d+", out, flags=re.M)[1:]:
        issuer = re.search(r"Signer #0:\s*\n\s*Subject: .*\n\s*Issuer : .*?CN=([^/\n]+)", section)
        assert issuer is not None
        found.append(issuer.group(1).strip())
    return found


def test_nested_signature_is_verified_and_trusted(oracle_dir: Path) -> None:
    tool = require_tool("osslsigncode")
    path = oracle_dir / "microsoft" / "sigcheck.exe"
    facts = gather_facts(path.read_bytes(), str(path))
    assert [s.chain[0].issuer_cn for s in facts.signatures] == _issuer_cns(tool, path)
    assert all(s.valid for s in facts.signatures)
    # Only the nested signature chains to Microsoft Root Certificate Authority 2011 (Wellknown 07).
    group = SignerGroup(allowed=(SignerRef("ID_SIGNER_S_2011"),))
    policy = SiPolicy(
        version_ex="1.0.0.0",
        policy_type=BASE_POLICY,
        policy_id="{55555555-5555-5555-5555-555555555555}",
        base_policy_id="{55555555-5555-5555-5555-555555555555}",
        options=("Enabled:UMCI",),
        signers=(Signer("ID_SIGNER_S_2011", "Standard Root 2011", CertRoot("Wellknown", "07")),),
        signing_scenarios=(SigningScenario("ID_SIGNINGSCENARIO_W", 12, product_signers=group),),
    )
    v = evaluate(policy_set([index_policy(policy, "p")]), facts)
    assert v.verdict == "allowed"
    assert v.deciding is not None
    assert "root verified" in v.deciding.detail
