"""Chain verdicts compared with two independent verifiers (issue 11 item 1).

Each catalog of tests/support/chains.py is given to ``osslsigncode verify -CAfile`` (which checks
the signature and builds the chain with OpenSSL's PKCS7_verify), and each signer's chain to
``openssl verify -x509_strict -attime <signingTime>``. Our verdict must be TRUSTED exactly when the
oracle accepts. Revocation: the same comparison with CRLs (``osslsigncode -CRLfile``,
``openssl verify -crl_check_all``).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from catalog.cms.chain import TrustStatus
from catalog.ctl.read import parse_catalog
from catalog.ctl.verify import verify_signature
from fixtures.pki import PKI_DIR
from tests.conftest import require_tool
from tests.support.chains import SIGNING_TIME, ChainCase, cases, signed_catalog, two_signer_catalog
from tests.support.signing import root_der
from tests.unit.catalog.test_chain import crls_for

ROOT_PEM = PKI_DIR / "root-ca.pem"
NAMES = sorted(cases())


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, check=False
    )


def _osslsigncode(cat: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    tool = require_tool("osslsigncode")
    return _run(tool, "verify", "-CAfile", ROOT_PEM, *extra, "-in", cat)


def _pem(certs: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _openssl_verify(
    case: ChainCase, folder: Path, *extra: str | Path
) -> subprocess.CompletedProcess[str]:
    tool = require_tool("openssl")
    leaf = folder / f"{case.name}-leaf.pem"
    leaf.write_bytes(_pem([case.leaf]))
    untrusted = folder / f"{case.name}-untrusted.pem"
    untrusted.write_bytes(_pem(case.embedded))
    at = str(int(SIGNING_TIME.timestamp()))
    return _run(
        tool, "verify", "-x509_strict", "-attime", at, "-CAfile", ROOT_PEM,
        "-untrusted", untrusted, *extra, leaf,
    )  # fmt: skip


def _ours(data: bytes, crls: list[x509.CertificateRevocationList] | None = None) -> TrustStatus:
    return verify_signature(parse_catalog(data, "c.cat"), "c.cat", [root_der()], crls=crls).trust


@pytest.mark.parametrize("name", NAMES)
def test_verdict_agrees_with_osslsigncode(name: str, tmp_path: Path) -> None:
    data = signed_catalog(cases()[name])
    cat = tmp_path / f"{name}.cat"
    cat.write_bytes(data)
    oracle = _osslsigncode(cat, "-ignore-crl")
    accepted = oracle.returncode == 0
    assert accepted is (_ours(data) is TrustStatus.TRUSTED), oracle.stdout + oracle.stderr
    assert accepted is cases()[name].valid  # the case is what it claims to be


@pytest.mark.parametrize("name", NAMES)
def test_chain_agrees_with_openssl_verify(name: str, tmp_path: Path) -> None:
    case = cases()[name]
    oracle = _openssl_verify(case, tmp_path)
    accepted = oracle.returncode == 0
    assert accepted is (_ours(signed_catalog(case)) is TrustStatus.TRUSTED), (
        oracle.stdout + oracle.stderr
    )


@pytest.mark.parametrize("bad_first", [False, True], ids=["bad-second", "bad-first"])
def test_two_signers_one_bad_fails_both_verifiers(bad_first: bool, tmp_path: Path) -> None:
    """``openssl smime -verify`` checks every signer's chain (PKCS7_verify) and names the error.

    osslsigncode 2.9 refuses any SignedData with more than one SignerInfo (PKCS7_get0_signers
    error), so it only confirms the refusal, not why.
    """
    good, bad = cases()["good"], cases()["leaf-issued"]
    data = two_signer_catalog(bad, good) if bad_first else two_signer_catalog(good, bad)
    cat = tmp_path / "two.cat"
    cat.write_bytes(data)
    tool = require_tool("openssl")
    smime = _run(
        tool, "smime", "-verify", "-inform", "DER", "-in", cat, "-CAfile", ROOT_PEM,
        "-purpose", "any", "-out", tmp_path / "content.der",
    )  # fmt: skip
    assert smime.returncode != 0
    assert "invalid CA certificate" in smime.stdout + smime.stderr
    assert _osslsigncode(cat, "-ignore-crl").returncode != 0
    verdict = verify_signature(parse_catalog(data, "two.cat"), "two.cat", [root_der()])
    assert verdict.trust is TrustStatus.INVALID
    assert verdict.signer_index == (1 if bad_first else 2)
    assert "Issued By The Leaf" in verdict.signer_subject


@pytest.mark.parametrize(
    ("revoked", "expect_ok"),
    [(None, True), (dt.datetime(2025, 6, 1, tzinfo=dt.UTC), False)],
    ids=["not-revoked", "revoked-before-signing"],
)
def test_revocation_agrees_with_openssl_and_osslsigncode(
    revoked: dt.datetime | None, expect_ok: bool, tmp_path: Path
) -> None:
    crls = crls_for(revoked)
    crl_file = tmp_path / "crls.pem"
    crl_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls))
    case = cases()["good"]
    data = signed_catalog(case)
    cat = tmp_path / "good.cat"
    cat.write_bytes(data)
    ours = _ours(data, crls) is TrustStatus.TRUSTED
    strict = _openssl_verify(case, tmp_path, "-crl_check_all", "-CRLfile", crl_file)
    assert (strict.returncode == 0) is ours is expect_ok, strict.stdout + strict.stderr
    signcode = _osslsigncode(cat, "-CRLfile", crl_file)
    assert (signcode.returncode == 0) is expect_ok, signcode.stdout + signcode.stderr
