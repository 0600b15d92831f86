"""TBS hashes (formats.md 6.2) against values Microsoft publishes and independent computations."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from catalog.asn1.x509 import certificates_in, tbs_hash_of
from catalog.errors import CatalogInputError


def _self_signed(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    alg: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None,
    pss: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TBS test")])
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if pss:
        assert isinstance(key, rsa.RSAPrivateKey)
        return builder.sign(
            key,
            hashes.SHA384(),
            rsa_padding=padding.PSS(padding.MGF1(hashes.SHA384()), padding.PSS.DIGEST_LENGTH),
        )
    return builder.sign(key, alg)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.mark.parametrize(
    ("alg", "name"),
    [
        (hashes.SHA256(), "sha256"),
        (hashes.SHA384(), "sha384"),
        (hashes.SHA512(), "sha512"),
    ],
)
def test_rsa_hash_follows_signature_algorithm(
    rsa_key: rsa.RSAPrivateKey, alg: hashes.SHA256 | hashes.SHA384 | hashes.SHA512, name: str
) -> None:
    cert = _self_signed(rsa_key, alg)
    der = cert.public_bytes(serialization.Encoding.DER)
    got = tbs_hash_of(der)
    # Independent: cryptography's own TBS bytes hashed with the certificate's signature hash.
    assert got.tbs_hash == hashlib.new(name, cert.tbs_certificate_bytes).hexdigest().upper()
    assert got.hash_algorithm == name


def test_ecdsa_sha384() -> None:
    cert = _self_signed(ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
    got = tbs_hash_of(cert.public_bytes(serialization.Encoding.DER))
    assert got.tbs_hash == hashlib.sha384(cert.tbs_certificate_bytes).hexdigest().upper()
    assert got.signature_algorithm == "ecdsa-with-SHA384"


def test_pss_uses_parameter_hash_and_says_unverified(rsa_key: rsa.RSAPrivateKey) -> None:
    cert = _self_signed(rsa_key, None, pss=True)
    got = tbs_hash_of(cert.public_bytes(serialization.Encoding.DER))
    assert got.tbs_hash == hashlib.sha384(cert.tbs_certificate_bytes).hexdigest().upper()
    assert got.note is not None
    assert "unverified" in got.note


def test_pem_bundle_yields_every_certificate(rsa_key: rsa.RSAPrivateKey) -> None:
    a = _self_signed(rsa_key, hashes.SHA256())
    b = _self_signed(rsa_key, hashes.SHA384())
    pem = (
        a.public_bytes(serialization.Encoding.PEM)
        + b"junk\n"
        + b.public_bytes(serialization.Encoding.PEM)
    )
    ders = certificates_in(pem, "bundle.pem")
    assert ders == [
        a.public_bytes(serialization.Encoding.DER),
        b.public_bytes(serialization.Encoding.DER),
    ]


@pytest.mark.parametrize("data", [b"", b"hello", b"\x30\x03\x02\x01\x01", b"MZ" + b"\0" * 100])
def test_garbage_is_a_clear_input_error(data: bytes) -> None:
    with pytest.raises(CatalogInputError, match=r"x\.bin"):
        certificates_in(data, "x.bin")


def test_truncated_certificate(rsa_key: rsa.RSAPrivateKey) -> None:
    der = _self_signed(rsa_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    with pytest.raises(CatalogInputError, match=r"cut\.der"):
        tbs_hash_of(der[:-40], "cut.der")
