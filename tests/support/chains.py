"""Broken certificate chains, made at test time from the test PKI (fixtures.pki), and catalogs
signed through them without the signer's pre-flight checks (as another tool might sign).

Each case is a leaf with its private key and the certificates to embed; the oracles
(osslsigncode, ``openssl verify``) and ``catalog.cms.chain`` are then asked about the same files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from catalog.asn1.der import der_integer, der_oid, der_sequence, der_set_of, der_tlv
from catalog.cms.signed_data import OID_CTL, SignOptions, parse_signed_data, resign
from catalog.ctl.build import CatalogSpec, build_catalog
from fixtures.pki import VALID_FROM, VALID_UNTIL, Identity, TestPki
from tests.support.signing import NOW, pki

SIGNING_TIME = NOW
"""signingTime of every catalog signed here (2026-01-01)."""
EXPIRED_CA_UNTIL = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The expired intermediate's notAfter: before the signing time and before today."""


@dataclass(frozen=True, slots=True)
class ChainCase:
    """A signing leaf (with key) and the certificates that travel with its signature."""

    name: str
    leaf: x509.Certificate
    key: rsa.RSAPrivateKey
    embedded: tuple[x509.Certificate, ...]
    """Issuers to embed, nearest first (the root is never embedded)."""
    valid: bool
    """What RFC 5280 / Authenticode says: True for the control case only."""

    def leaf_der(self) -> bytes:
        return self.leaf.public_bytes(serialization.Encoding.DER)

    def embedded_der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.embedded)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


_KEY_CACHE: dict[str, rsa.RSAPrivateKey] = {}


def _key(name: str) -> rsa.RSAPrivateKey:
    if name not in _KEY_CACHE:
        _KEY_CACHE[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY_CACHE[name]


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Inspector Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ku(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    issuer: Identity | tuple[x509.Certificate, rsa.RSAPrivateKey],
    cn: str,
    serial: int,
    *,
    ca: bool,
    path_length: int | None = None,
    key_cert_sign: bool | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.CODE_SIGNING,),
    not_after: dt.datetime = VALID_UNTIL,
    critical_unknown: bool = False,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A certificate for ``cn`` issued by ``issuer`` (an Identity or a (cert, key) pair)."""
    issuer_cert, issuer_key = (issuer.cert, issuer.key) if isinstance(issuer, Identity) else issuer
    assert isinstance(issuer_key, rsa.RSAPrivateKey)
    key = _key(cn)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(VALID_FROM)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(_ku(cert_sign=ca if key_cert_sign is None else key_cert_sign), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if eku is not None and not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if critical_unknown:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


@cache
def cases() -> dict[str, ChainCase]:
    """Every chain case by name (keys are made once per test session)."""
    p: TestPki = pki()
    issuing = p.issuing
    root = p.root
    out: dict[str, ChainCase] = {}
    leaf_key = p.leaf.key
    assert isinstance(leaf_key, rsa.RSAPrivateKey)
    out["good"] = ChainCase("good", p.leaf.cert, leaf_key, (issuing.cert,), True)
    # A certificate issued by the code-signing leaf (basicConstraints CA:false).
    cert, key = issue(p.leaf, "Issued By The Leaf", 0x7001, ca=False)
    out["leaf-issued"] = ChainCase("leaf-issued", cert, key, (p.leaf.cert, issuing.cert), False)
    # A CA whose keyUsage lacks keyCertSign.
    no_sign = issue(root, "CA Without KeyCertSign", 0x7002, ca=True, key_cert_sign=False)
    cert, key = issue(no_sign, "Leaf Of CA Without KeyCertSign", 0x7003, ca=False)
    out["ca-no-keycertsign"] = ChainCase("ca-no-keycertsign", cert, key, (no_sign[0],), False)
    # The issuing CA has pathLenConstraint 0: a CA below it may not issue.
    sub = issue(issuing, "Sub CA Beyond Path Length", 0x7004, ca=True)
    cert, key = issue(sub, "Leaf Beyond Path Length", 0x7005, ca=False)
    out["pathlen-exceeded"] = ChainCase(
        "pathlen-exceeded", cert, key, (sub[0], issuing.cert), False
    )
    # An intermediate that expired before the signing time.
    old = issue(root, "Expired Intermediate CA", 0x7006, ca=True, not_after=EXPIRED_CA_UNTIL)
    cert, key = issue(old, "Leaf Of Expired Intermediate", 0x7007, ca=False)
    out["expired-intermediate"] = ChainCase("expired-intermediate", cert, key, (old[0],), False)
    # A leaf with a critical extension no verifier knows.
    cert, key = issue(
        issuing, "Leaf With Unknown Critical", 0x7008, ca=False, critical_unknown=True
    )
    out["unknown-critical"] = ChainCase("unknown-critical", cert, key, (issuing.cert,), False)
    return out


@cache
def unsigned_catalog() -> bytes:
    """A small unsigned catalog made by our builder (no members needed for chain questions)."""
    return build_catalog(CatalogSpec(2, dt.datetime(2025, 6, 1, tzinfo=dt.UTC), ())).der


def signed_catalog(case: ChainCase) -> bytes:
    """The catalog signed by ``case.leaf`` with its chain embedded, signingTime SIGNING_TIME."""
    return resign(
        unsigned_catalog(),
        "chain.cat",
        case.leaf_der(),
        case.embedded_der(),
        case.sign,
        SignOptions(signing_time=SIGNING_TIME),
        expected_content_type=OID_CTL,
    )


def two_signer_catalog(first: ChainCase, second: ChainCase) -> bytes:
    """One SignedData holding both cases' SignerInfos (in this order) and all their certs."""
    a = parse_signed_data(signed_catalog(first), "a.cat")
    b = parse_signed_data(signed_catalog(second), "b.cat")
    certs = sorted({*a.certificates, *b.certificates})
    signed_data = der_sequence(
        der_integer(1),
        der_set_of(list({*a.digest_algorithms, *b.digest_algorithms})),
        a.content_info,
        der_tlv(0xA0, b"".join(certs)),
        # Not DER-sorted on purpose: SignerInfo order is what "signer 1" and "signer 2" mean.
        der_tlv(0x31, a.signer_infos[0] + b.signer_infos[0]),
    )
    return der_sequence(der_oid("1.2.840.113549.1.7.2"), der_tlv(0xA0, signed_data))
