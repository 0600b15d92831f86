"""``inspector verify`` and ``sign`` on broken chains (issue 11 item 1), as a user runs them.

The catalogs come from tests/support/chains.py; osslsigncode's verdicts on the same files are
checked in tests/integration/test_chain_oracles.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fixtures.pki import PKI_DIR
from inspector.cli import main
from tests.support.chains import cases, signed_catalog, two_signer_catalog, unsigned_catalog
from tests.unit.catalog.test_chain import crls_for

ROOT = str(PKI_DIR / "root-ca.pem")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out.out, out.err


def test_verify_refuses_a_chain_through_the_leaf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = tmp_path / "sub.cat"
    cat.write_bytes(signed_catalog(cases()["leaf-issued"]))
    code, out, _ = run(["verify", str(cat), "--roots", ROOT], capsys)
    assert code == 1
    assert "trust     : invalid" in out
    assert "basicConstraints.cA" in out
    assert "revocation: not checked" in out
    assert out.rstrip().endswith("FAILED")


def test_verify_names_the_signer_that_decided(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = tmp_path / "two.cat"
    cat.write_bytes(two_signer_catalog(cases()["good"], cases()["leaf-issued"]))
    code, out, _ = run(["verify", str(cat), "--roots", ROOT], capsys)
    assert code == 1
    assert "verdict by signer #2 of 2" in out
    code, out, _ = run(["verify", str(cat), "--roots", ROOT, "--json"], capsys)
    doc = json.loads(out)["signature"]
    assert (doc["signer_index"], doc["signer_count"]) == (2, 2)
    assert [s["trust"] for s in doc["signers"]] == ["trusted", "invalid"]


def test_verify_with_crls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "good.cat"
    cat.write_bytes(signed_catalog(cases()["good"]))
    crl = tmp_path / "crls.pem"
    crl.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls_for(None)))
    code, out, _ = run(["verify", str(cat), "--roots", ROOT, "--crl", str(crl)], capsys)
    assert code == 0, out
    assert "revocation: checked 2 of 2" in out
    bad = tmp_path / "not-a-crl.pem"
    bad.write_bytes(b"not a CRL")
    code, _, err = run(["verify", str(cat), "--roots", ROOT, "--crl", str(bad)], capsys)
    assert code == 3, err


def test_sign_refuses_a_certificate_issued_by_the_leaf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = cases()["leaf-issued"]
    cert = tmp_path / "sub.pem"
    cert.write_bytes(case.leaf.public_bytes(serialization.Encoding.PEM))
    key = tmp_path / "sub.key.pem"
    key.write_bytes(
        case.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in case.embedded))
    cat = tmp_path / "app.cat"
    cat.write_bytes(unsigned_catalog())
    before = cat.read_bytes()
    code, _, err = run(
        ["sign", str(cat), "--cert", str(cert), "--key", str(key), "--chain", str(chain)], capsys
    )
    assert code == 3
    assert "not a valid code-signing chain" in err
    assert cat.read_bytes() == before
    assert isinstance(case.leaf, x509.Certificate)
