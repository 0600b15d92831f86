"""The pure half of ``--online`` (catalog/cms/revocation.py): which URLs a path names, which are
fetched, and which CRLs may decide a certificate's status.

Certificates and CRLs are made here with cryptography (tests/support/crl_server.py); the expected
URLs and serials are the ones the test put into them, not values the code computed.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from catalog.cms import (
    DistributionPoints,
    Fetched,
    RevocationSources,
    RevocationState,
    crl_urls,
    plan_fetches,
)
from catalog.cms.revocation import check_revocation
from tests.support.crl_server import NEXT_UPDATE, THIS_UPDATE, CrlPki, make_crl, make_pki

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LEAF_URLS = ("http://crl.example.test/ca.crl", "ldap://dir.example.test/cn=CA", "https://b/x.crl")
CA_URLS = ("http://crl.example.test/root.crl",)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _pki() -> CrlPki:
    return make_pki(LEAF_URLS, ca_urls=CA_URLS)


def _path(pki: CrlPki) -> list[x509.Certificate]:
    return [c for c, _ in pki.chain] + [pki.root]


def test_urls_per_certificate_below_the_root_in_order() -> None:
    pki = _pki()
    points = crl_urls([_der(c) for c in _path(pki)])
    assert [(p.serial, p.urls) for p in points] == [(0x3A5E, LEAF_URLS), (0x200, CA_URLS)]
    assert points[0].subject == pki.leaf.subject.rfc4514_string()


def test_a_certificate_without_distribution_points_lists_none() -> None:
    pki = make_pki(())
    assert crl_urls([_der(pki.leaf), _der(pki.root)]) == (
        DistributionPoints(pki.leaf.subject.rfc4514_string(), 0x3A5E, ()),
    )
    assert crl_urls([_der(pki.root)]) == ()  # a self-signed leaf trusted as a root


def test_plan_fetches_http_only_each_once_and_capped() -> None:
    urls = (
        "http://a/1.crl",
        "HTTPS://a/2.crl",
        "ldap://a/cn=x",
        "file:///etc/passwd",
        "ftp://a/3.crl",
        "http://a/1.crl",
        "nonsense",
        *(f"http://a/n{i}.crl" for i in range(20)),
    )
    wanted, refused = plan_fetches([DistributionPoints("CN=x", 1, urls)], 16)
    assert wanted == [
        "http://a/1.crl",
        "HTTPS://a/2.crl",
        *(f"http://a/n{i}.crl" for i in range(14)),
    ]
    reasons = {f.url: f.failure for f in refused}
    assert reasons["ldap://a/cn=x"] == "skipped: ldap URLs are not fetched"
    assert reasons["file:///etc/passwd"] == "skipped: file URLs are not fetched"
    assert reasons["ftp://a/3.crl"] == "skipped: ftp URLs are not fetched"
    assert reasons["nonsense"] == "skipped: no scheme URLs are not fetched"
    assert reasons["http://a/n19.crl"] == "not fetched: over the limit of 16 CRL URLs"
    assert len(refused) == 4 + 6


def _check(
    pki: CrlPki, crls: list[tuple[x509.CertificateRevocationList, str]], *, online: bool = True
) -> tuple[list[str], list[tuple[RevocationState, str, str]]]:
    sources = RevocationSources.of(
        [], [Fetched(url, body=c.public_bytes(serialization.Encoding.DER)) for c, url in crls],
        online=online,
        clock=WHEN,
    )  # fmt: skip
    _, problems, checks = check_revocation(_path(pki), sources, WHEN)
    return problems, [(c.state, c.source, c.detail) for c in checks]


def test_good_and_revoked_need_the_issuers_signature() -> None:
    pki = _pki()
    ca, ca_key = pki.chain[1]
    ca_crl = make_crl(ca.subject, ca_key, (0x3A5E,))
    root_crl = make_crl(pki.root.subject, pki.root_key)
    problems, checks = _check(pki, [(ca_crl, LEAF_URLS[0]), (root_crl, CA_URLS[0])])
    assert checks[0][:2] == (RevocationState.REVOKED, LEAF_URLS[0])
    assert checks[1][:2] == (RevocationState.GOOD, CA_URLS[0])
    assert len(problems) == 1
    assert "(serial 3A5E) was revoked on 2025-06-01 00:00:00Z (keyCompromise)" in problems[0]
    # The same CRL signed by the root's key (a key that is not the leaf's issuer's): unknown.
    forged = make_crl(ca.subject, pki.root_key, (0x3A5E,))
    problems, checks = _check(pki, [(forged, LEAF_URLS[0])])
    assert problems == []
    assert checks[0][0] is RevocationState.UNKNOWN
    assert "signature does not verify with the key of 'CN=CRL Test Issuing CA" in checks[0][2]


def test_offline_unknown_fails_online_unknown_is_reported() -> None:
    pki = _pki()
    problems, checks = _check(pki, [], online=False)
    assert [c[0] for c in checks] == [RevocationState.UNKNOWN] * 2
    assert len(problems) == 2
    assert all(p.startswith("revocation unknown for ") for p in problems)
    problems, checks = _check(pki, [])
    assert problems == []
    assert checks[0][2] == "no CRL from its distribution points covers it"


def test_revoked_after_the_validation_time_is_good_with_a_note() -> None:
    pki = make_pki(LEAF_URLS)
    later = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.root.subject)
        .last_update(THIS_UPDATE)
        .next_update(NEXT_UPDATE)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(0x3A5E).revocation_date(later).build()
        )
        .sign(pki.root_key, hashes.SHA256())
    )
    problems, checks = _check(pki, [(crl, LEAF_URLS[0])])
    assert problems == []
    assert checks[0][0] is RevocationState.GOOD
    assert "listed as revoked on 2026-03-01 00:00:00Z, after the validation time" in checks[0][2]


def _with_extension(pki: CrlPki, ext: x509.ExtensionType) -> x509.CertificateRevocationList:
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.root.subject)
        .last_update(THIS_UPDATE)
        .next_update(NEXT_UPDATE)
        .add_extension(ext, critical=True)
        .sign(pki.root_key, hashes.SHA256())
    )


def _idp(**kw: object) -> x509.IssuingDistributionPoint:
    args: dict[str, object] = {
        "full_name": None,
        "relative_name": None,
        "only_contains_user_certs": False,
        "only_contains_ca_certs": False,
        "only_some_reasons": None,
        "indirect_crl": False,
        "only_contains_attribute_certs": False,
    }
    args.update(kw)
    return x509.IssuingDistributionPoint(**args)  # type: ignore[arg-type]


def test_crls_that_do_not_cover_the_certificate_are_not_used() -> None:
    pki = make_pki(LEAF_URLS)
    url = LEAF_URLS[0]
    cases: list[tuple[x509.ExtensionType, str]] = [
        (x509.DeltaCRLIndicator(1), "it is a delta CRL"),
        (_idp(only_contains_ca_certs=True), "it covers CA certificates only"),
        (_idp(indirect_crl=True), "it is an indirect CRL"),
        (
            _idp(only_some_reasons=frozenset({x509.ReasonFlags.key_compromise})),
            "it covers only some revocation reasons",
        ),
        (
            _idp(full_name=[x509.UniformResourceIdentifier("http://elsewhere/x.crl")]),
            "its issuingDistributionPoint is none of the certificate's distribution points",
        ),
    ]
    for ext, why in cases:
        _, checks = _check(pki, [(_with_extension(pki, ext), url)])
        assert checks[0][0] is RevocationState.UNKNOWN, why
        assert why in checks[0][2]
    covering = _idp(full_name=[x509.UniformResourceIdentifier(url)], only_contains_user_certs=True)
    _, checks = _check(pki, [(_with_extension(pki, covering), url)])
    assert checks[0][:2] == (RevocationState.GOOD, url)


def test_stale_and_future_crls_are_not_used() -> None:
    pki = make_pki(LEAF_URLS)
    stale = make_crl(
        pki.root.subject,
        pki.root_key,
        this_update=dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
        next_update=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
    )
    future = make_crl(
        pki.root.subject, pki.root_key, this_update=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    )
    _, checks = _check(pki, [(stale, LEAF_URLS[0]), (future, LEAF_URLS[2])])
    assert checks[0][0] is RevocationState.UNKNOWN
    assert "it is stale (nextUpdate 2025-12-01 00:00:00Z" in checks[0][2]
    assert "it is not yet valid (thisUpdate 2026-02-01 00:00:00Z)" in checks[0][2]


def test_unreadable_bodies_and_fetch_failures_are_reasons() -> None:
    pki = make_pki(LEAF_URLS)
    sources = RevocationSources.of(
        [],
        [
            Fetched(LEAF_URLS[0], body=b"<html>"),
            Fetched(LEAF_URLS[2], failure="HTTP 500 Internal Server Error"),
            Fetched("http://other/x.crl", failure="HTTP 404 Not Found"),
        ],
        online=True,
        clock=WHEN,
    )
    _, _, checks = check_revocation(_path(pki), sources, WHEN)
    assert checks[0].detail == (
        f"{LEAF_URLS[0]}: the response is not a DER or PEM CRL; "
        f"{LEAF_URLS[2]}: HTTP 500 Internal Server Error"
    )
