"""Chain validation (issue 11 item 1): verify and sign refuse chains that break X.509 rules.

The broken chains are made at test time (tests/support/chains.py) so that each has exactly one
defect, known by construction: a certificate issued by a CA:false leaf, a CA without keyCertSign,
a pathLenConstraint exceeded, an intermediate expired at the signing time, an unknown critical
extension, and two signers of which the second is bad. tests/integration/test_chain_oracles.py asks
osslsigncode and ``openssl verify`` about the very same files.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog.cms.chain import Purpose, TrustStatus, validate_chain
from catalog.cms.keys import (
    ChainValidationError,
    SigningIdentity,
    SigningIdentityError,
    preflight,
)
from catalog.cms.revocation import REVOCATION_OFF
from catalog.ctl.read import parse_catalog
from catalog.ctl.verify import verify_signature
from tests.support.chains import (
    SIGNING_TIME,
    cases,
    signed_catalog,
    two_signer_catalog,
)
from tests.support.signing import pki, root_der

BAD = (
    "leaf-issued",
    "ca-no-keycertsign",
    "pathlen-exceeded",
    "expired-intermediate",
    "unknown-critical",
)
LIFETIME_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.13")
WHY = {
    "leaf-issued": "basicConstraints.cA",
    "ca-no-keycertsign": "keyCertSign",
    "pathlen-exceeded": "path length",
    "expired-intermediate": "Expired Intermediate CA,O=Inspector Test PKI' is expired",
    "unknown-critical": "1.3.6.1.4.1.55555.1",
}

CULPRIT = {
    "leaf-issued": "issuer at fault: 'CN=Inspector Test Code Signing,",
    "ca-no-keycertsign": "issuer at fault: 'CN=CA Without KeyCertSign,",
    "pathlen-exceeded": "issuer at fault: 'CN=Inspector Test Issuing CA,",
}


def test_good_chain_is_trusted_and_says_revocation_was_not_checked() -> None:
    verdict = verify_signature(
        parse_catalog(signed_catalog(cases()["good"]), "good.cat"), "good.cat", [root_der()]
    )
    assert verdict.trust is TrustStatus.TRUSTED, verdict.problems
    assert verdict.revocation == REVOCATION_OFF
    assert verdict.chain[-1].startswith("CN=Inspector Test Root CA")


@pytest.mark.parametrize("name", BAD)
def test_broken_chain_is_invalid_with_its_reason(name: str) -> None:
    case = cases()[name]
    data = signed_catalog(case)
    verdict = verify_signature(parse_catalog(data, f"{name}.cat"), name, [root_der()])
    assert verdict.trust is TrustStatus.INVALID, verdict
    assert not verdict.ok
    assert any(WHY[name] in p for p in verdict.problems), verdict.problems
    if name in CULPRIT:
        assert any(CULPRIT[name] in p for p in verdict.problems), verdict.problems


@pytest.mark.parametrize("name", BAD)
def test_broken_chain_is_refused_at_signing(name: str) -> None:
    case = cases()[name]
    identity = SigningIdentity(case.leaf, (*case.embedded, pki().root.cert), case.key, name)
    # The expired intermediate was already refused by the validity pre-flight; the others are new.
    with pytest.raises(SigningIdentityError, match=r"not a valid code-signing chain|is expired"):
        preflight(identity, SIGNING_TIME)


def test_signing_without_the_root_still_checks_the_issuers() -> None:
    """`sign --chain leaf.pem` for a certificate the leaf issued: the leaf stands as anchor."""
    case = cases()["leaf-issued"]
    identity = SigningIdentity(case.leaf, case.embedded[:1], case.key, "sub")
    with pytest.raises(ChainValidationError, match=r"basicConstraints\.cA"):
        preflight(identity, SIGNING_TIME)


def test_two_signers_one_bad_is_invalid_and_names_the_bad_signer() -> None:
    data = two_signer_catalog(cases()["good"], cases()["leaf-issued"])
    verdict = verify_signature(parse_catalog(data, "two.cat"), "two.cat", [root_der()])
    assert verdict.signer_count == 2
    assert verdict.signer_index == 2
    assert verdict.trust is TrustStatus.INVALID
    assert "Issued By The Leaf" in verdict.signer_subject
    assert [s.trust for s in verdict.signers] == [TrustStatus.TRUSTED, TrustStatus.INVALID]
    # The order does not matter: the bad one decides.
    swapped = two_signer_catalog(cases()["leaf-issued"], cases()["good"])
    again = verify_signature(parse_catalog(swapped, "two.cat"), "two.cat", [root_der()])
    assert (again.signer_index, again.trust) == (1, TrustStatus.INVALID)


def test_two_good_signers_are_trusted() -> None:
    data = two_signer_catalog(cases()["good"], cases()["good"])
    verdict = verify_signature(parse_catalog(data, "two.cat"), "two.cat", [root_der()])
    assert verdict.trust is TrustStatus.TRUSTED, verdict.problems
    assert verdict.signer_count == 2
    assert verdict.to_dict()["signers"][1]["trust"] == "trusted"


def test_untrusted_root_still_reports_structural_defects() -> None:
    case = cases()["leaf-issued"]
    verdict = verify_signature(parse_catalog(signed_catalog(case), "x.cat"), "x.cat", [])
    assert verdict.trust is TrustStatus.UNTRUSTED_ROOT
    assert "no --roots given" in verdict.problems[0]
    assert any("basicConstraints.cA" in p for p in verdict.problems[1:])


# --- EKU rules -----------------------------------------------------------------------------------


def _leaf_with(eku: list[x509.ObjectIdentifier] | None, cn: str, serial: int) -> x509.Certificate:
    from tests.support.chains import issue

    cert, _ = issue(pki().issuing, cn, serial, ca=False, eku=tuple(eku) if eku else None)
    return cert


def _der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("eku", "trusted"),
    [
        ([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING], True),
        ([x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE], True),
        (None, True),  # no EKU extension: every purpose (Windows)
        ([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH], False),
        (
            [
                x509.oid.ExtendedKeyUsageOID.CODE_SIGNING,
                x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.13"),
            ],
            True,
        ),
    ],
)
def test_leaf_eku_rules(eku: list[x509.ObjectIdentifier] | None, trusted: bool) -> None:
    leaf = _leaf_with(eku, f"EKU Case {len(eku or [])}{trusted}", 0x7100 + len(eku or []))
    verdict = validate_chain(
        _der(leaf), [_der(pki().issuing.cert)], [root_der()], SIGNING_TIME, Purpose.CODE_SIGNING
    )
    assert verdict.ok is trusted, verdict.problems


def test_lifetime_signing_is_reported() -> None:
    leaf = _leaf_with(
        [x509.oid.ExtendedKeyUsageOID.CODE_SIGNING, LIFETIME_SIGNING], "Lifetime", 0x7200
    )
    verdict = validate_chain(_der(leaf), [_der(pki().issuing.cert)], [root_der()], SIGNING_TIME)
    assert verdict.lifetime_signing


def test_ca_restricted_to_another_purpose_breaks_the_chain() -> None:
    from tests.support.chains import issue

    root = pki().root
    ca_cert, ca_key = issue(root, "Server Only CA", 0x7300, ca=True)
    restricted = (
        x509.CertificateBuilder()
        .subject_name(ca_cert.subject)
        .issuer_name(ca_cert.issuer)
        .public_key(ca_key.public_key())
        .serial_number(0x7301)
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(ca_cert.not_valid_after_utc)
    )
    for ext in ca_cert.extensions:
        restricted = restricted.add_extension(ext.value, ext.critical)
    restricted = restricted.add_extension(
        x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
    )
    assert isinstance(root.key, rsa.RSAPrivateKey)
    ca = restricted.sign(root.key, hashes.SHA256())
    leaf, _ = issue((ca, ca_key), "Leaf Under Server Only CA", 0x7302, ca=False)
    verdict = validate_chain(_der(leaf), [_der(ca)], [root_der()], SIGNING_TIME)
    assert verdict.trust is TrustStatus.INVALID
    assert any("codeSigning" in p for p in verdict.problems), verdict.problems


# --- revocation ----------------------------------------------------------------------------------


def _crl(
    issuer: x509.Certificate, key: object, revoked: list[tuple[int, dt.datetime]]
) -> x509.CertificateRevocationList:
    assert isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
        .next_update(dt.datetime(2046, 1, 1, tzinfo=dt.UTC))
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(key, hashes.SHA256())


def crls_for(revoked_leaf: dt.datetime | None) -> list[x509.CertificateRevocationList]:
    """The issuing CA's CRL (revoking the good leaf at ``revoked_leaf``) and the root's CRL."""
    p = pki()
    leaf_entries = [] if revoked_leaf is None else [(p.leaf.cert.serial_number, revoked_leaf)]
    return [_crl(p.issuing.cert, p.issuing.key, leaf_entries), _crl(p.root.cert, p.root.key, [])]


def test_revocation_checked_and_clean() -> None:
    verdict = verify_signature(
        parse_catalog(signed_catalog(cases()["good"]), "g.cat"),
        "g.cat",
        [root_der()],
        crls=crls_for(None),
    )
    assert verdict.trust is TrustStatus.TRUSTED, verdict.problems
    assert verdict.revocation.startswith("checked 2 of 2")


def test_revoked_leaf_is_invalid() -> None:
    revoked = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)  # before the signing time
    verdict = verify_signature(
        parse_catalog(signed_catalog(cases()["good"]), "g.cat"),
        "g.cat",
        [root_der()],
        crls=crls_for(revoked),
    )
    assert verdict.trust is TrustStatus.INVALID
    assert any("was revoked on 2025-06-01" in p for p in verdict.problems), verdict.problems


def test_revoked_after_the_signing_time_keeps_the_signature() -> None:
    later = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    verdict = verify_signature(
        parse_catalog(signed_catalog(cases()["good"]), "g.cat"),
        "g.cat",
        [root_der()],
        crls=crls_for(later),
    )
    assert verdict.trust is TrustStatus.TRUSTED, verdict.problems


def test_missing_crl_makes_revocation_unknown() -> None:
    only_root = crls_for(None)[1:]
    verdict = verify_signature(
        parse_catalog(signed_catalog(cases()["good"]), "g.cat"),
        "g.cat",
        [root_der()],
        crls=only_root,
    )
    assert verdict.trust is TrustStatus.INVALID
    assert any("revocation unknown" in p for p in verdict.problems)


def test_lifetime_signing_checks_validity_now_not_at_signing_time() -> None:
    """Windows: a lifetimeSigning leaf's signatures expire with it, whatever the signing time."""
    from tests.support.chains import ChainCase, issue

    ends = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # after SIGNING_TIME
    cert, key = issue(
        pki().issuing,
        "Lifetime Signing Leaf",
        0x7400,
        ca=False,
        eku=(x509.oid.ExtendedKeyUsageOID.CODE_SIGNING, LIFETIME_SIGNING),
        not_after=ends,
    )
    case = ChainCase("lifetime", cert, key, (pki().issuing.cert,), True)
    parsed = parse_catalog(signed_catalog(case), "l.cat")
    before = verify_signature(
        parsed, "l.cat", [root_der()], now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    )
    assert before.trust is TrustStatus.TRUSTED, before.problems
    assert before.time_source == "now (lifetime signing)"
    after = verify_signature(
        parsed, "l.cat", [root_der()], now=dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    )
    assert after.trust is TrustStatus.INVALID
    assert any("is expired" in p for p in after.problems), after.problems
