"""``inspector policy ...`` as a user runs it: files, JSON, exit codes, no partial output."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fixtures.pki import PKI_DIR
from inspector.pipeline.policies import hashes_policy
from policy.errors import PolicyInputError
from tests.support.inspector_policy_cli import invoke


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"<SiPolicy xmlns='urn:schemas-microsoft-com:sipolicy'><Rules>", "malformed XML"),
        (b"not xml at all", "format version"),
    ],
)
def test_compile_bad_input_writes_nothing(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(content)
    out = tmp_path / "out.cip"
    code, _ = invoke(["policy", "compile", str(bad), "-o", str(out)])
    assert code == 3
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def _tbs_sha256(pem: Path) -> str:
    """TBS value computed here (cryptography + hashlib), not by the code under test."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


def test_supplemental_signer_end_to_end(tmp_path: Path) -> None:
    cert, key, chain = (PKI_DIR / n for n in ("leaf.pem", "leaf.key.pem", "leaf-chain.pem"))
    base_xml, supp_xml = tmp_path / "base.xml", tmp_path / "supp.xml"
    base_id = "{7A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}"
    new = ["policy", "new", "-o", str(base_xml), "--name", "B", "--policy-id", base_id]
    assert invoke(new)[0] == 0
    edit = [
        "policy", "set", str(base_xml), "--remove-option", "6",
        "--update-signer", str(chain), "--update-signer-level", "Publisher",
    ]  # fmt: skip
    assert invoke(edit)[0] == 0
    code, result = invoke(["policy", "supplemental", "--base-policy-id", base_id, "--signer",
                           str(chain), "-o", str(supp_xml)])  # fmt: skip
    assert code == 0, result.output
    assert invoke(["policy", "set", str(supp_xml), "--remove-option", "6",
                   "--update-signer", str(chain)])[0] == 0  # fmt: skip
    # Supplemental policies cannot carry the element: refused, file untouched.
    before = supp_xml.read_bytes()
    code, result = invoke(["policy", "set", str(supp_xml), "--supplemental-signer", str(chain)])
    assert code == 3
    assert "SupplementalPolicySigners" in str(result.exception)
    assert supp_xml.read_bytes() == before
    cip = tmp_path / "supp.cip"
    assert invoke(["policy", "compile", str(supp_xml), "-o", str(cip)])[0] == 0
    sign = ["policy", "sign", str(cip), "--cert", str(cert), "--key", str(key), "--chain",
            str(chain), "--base", str(base_xml), "-o", str(tmp_path / "signed.cip")]  # fmt: skip
    code, result = invoke(sign)
    assert code == 3
    message = str(result.exception)
    assert f"inspector policy set {base_xml} --supplemental-signer" in message
    assert not (tmp_path / "signed.cip").exists()
    add = ["policy", "set", str(base_xml), "--supplemental-signer", str(chain),
           "--supplemental-signer-level", "Publisher"]  # fmt: skip
    assert invoke(add)[0] == 0
    first = base_xml.read_bytes()
    assert invoke(add)[0] == 0
    assert base_xml.read_bytes() == first  # idempotent, deterministic
    code, result = invoke(["policy", "show", str(base_xml), "--json"])
    doc = json.loads(result.stdout)
    # Same certificate, same level as the UpdatePolicySigner: one Signer, two references.
    (signer,) = doc["signers"]
    assert doc["update_policy_signers"] == doc["supplemental_policy_signers"] == [signer["id"]]
    assert signer["root"] == _tbs_sha256(PKI_DIR / "issuing-ca.pem")
    code, result = invoke(sign)
    assert code == 0, result.output
    # The compiled base keeps the reference (block 6), and so does its decompiled XML.
    base_cip = tmp_path / "base.cip"
    assert invoke(["policy", "compile", str(base_xml), "-o", str(base_cip)])[0] == 0
    code, result = invoke(["policy", "show", str(base_cip), "--json"])
    shown = json.loads(result.stdout)
    (bin_signer,) = shown["signers"]
    assert shown["supplemental_policy_signers"] == [bin_signer["id"]]
    assert bin_signer["root"] == signer["root"]


def test_hashes_supplemental_without_base_is_refused_before_hashing(tmp_path: Path) -> None:
    missing = tmp_path / "not-there.dll"
    with pytest.raises(PolicyInputError, match="--supplemental needs --base-policy-id"):
        hashes_policy([missing], tmp_path / "out.xml", supplemental=True)
    assert not (tmp_path / "out.xml").exists()
