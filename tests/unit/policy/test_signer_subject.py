"""Which certificate a signer rule names (issue 11 item 16).

The rule names the certificate the user gave: the first one of the file (ConfigCI's Add-SignerRule
trusts the certificate of its .cer). A CA given first is trusted itself, never its root; a signing
certificate given first is trusted through its issuing CA (PcaCertificate, Publisher) or itself
(LeafCertificate). Expected TBS values are computed here with cryptography + hashlib over each
certificate's tbsCertificate, not by the code under test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509

from fixtures.pki import PKI_DIR
from policy.errors import PolicyInputError
from policy.signers import SignerLevel, load_signer_chain, signer_rule


def tbs_sha256(name: str) -> str:
    cert = x509.load_pem_x509_certificate((PKI_DIR / name).read_bytes())
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest().upper()


def rule(path: Path, level: SignerLevel) -> tuple[str, str, str | None]:
    signer = signer_rule(load_signer_chain(path.read_bytes(), str(path)), level, "ID_SIGNER_S_X")
    return signer.cert_root.value, signer.name, signer.cert_publisher


@pytest.mark.parametrize("level", [SignerLevel.PCA_CERTIFICATE, SignerLevel.LEAF_CERTIFICATE])
def test_a_ca_chain_names_its_first_ca_not_the_root(level: SignerLevel) -> None:
    # issuing-ca-chain.pem = issuing CA, root: README's "ca-chain.pem". Before: the root's TBS.
    value, name, publisher = rule(PKI_DIR / "issuing-ca-chain.pem", level)
    assert value == tbs_sha256("issuing-ca.pem")
    assert value != tbs_sha256("root-ca.pem")
    assert (name, publisher) == ("Inspector Test Issuing CA", None)


def test_a_root_given_alone_is_trusted_itself() -> None:
    value, name, _ = rule(PKI_DIR / "root-ca.pem", SignerLevel.PCA_CERTIFICATE)
    assert (value, name) == (tbs_sha256("root-ca.pem"), "Inspector Test Root CA")


@pytest.mark.parametrize(
    ("level", "expected", "publisher"),
    [
        (SignerLevel.PCA_CERTIFICATE, "issuing-ca.pem", None),
        (SignerLevel.PUBLISHER, "issuing-ca.pem", "Inspector Test Code Signing"),
        (SignerLevel.LEAF_CERTIFICATE, "leaf.pem", None),
    ],
)
def test_a_signing_certificate_first_keeps_the_rule_levels(
    level: SignerLevel, expected: str, publisher: str | None
) -> None:
    value, _, got_publisher = rule(PKI_DIR / "leaf-chain.pem", level)
    assert (value, got_publisher) == (tbs_sha256(expected), publisher)


def test_order_in_the_file_decides(tmp_path: Path) -> None:
    # The same three certificates, CA first: the CA is what the user means.
    pem = tmp_path / "ca-then-leaf.pem"
    pem.write_bytes(b"".join((PKI_DIR / n).read_bytes() for n in ("issuing-ca.pem", "leaf.pem")))
    value, _, _ = rule(pem, SignerLevel.PCA_CERTIFICATE)
    assert value == tbs_sha256("issuing-ca.pem")


def test_publisher_level_needs_a_signing_certificate_first() -> None:
    path = PKI_DIR / "issuing-ca-chain.pem"
    with pytest.raises(PolicyInputError) as info:
        rule(path, SignerLevel.PUBLISHER)
    message = str(info.value)
    assert str(path) in message
    assert "'Inspector Test Issuing CA', is a CA certificate" in message
    assert "PcaCertificate" in message


def test_a_leaf_without_its_issuer_names_the_missing_ca() -> None:
    with pytest.raises(PolicyInputError) as info:
        rule(PKI_DIR / "leaf.pem", SignerLevel.PCA_CERTIFICATE)
    assert "Inspector Test Issuing CA" in str(info.value)
    assert "LeafCertificate" in str(info.value)
