"""Shared helpers for the signing, verification and timestamp tests (test PKI from fixtures.pki)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog.cms.keys import SigningIdentity, identity_from_pem
from fixtures.pki import (
    CODE_SIGNING_EKU,
    PKI_DIR,
    Identity,
    TestPki,
    _leaf_cert,
    _LeafSpec,
    load_pki,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""A clock inside the good leaves' validity (2024..2046)."""


@cache
def pki() -> TestPki:
    return load_pki()


def identity(stem: str = "leaf") -> SigningIdentity:
    """The named fixture identity with the issuing CA as chain (no root, like Microsoft)."""
    return identity_from_pem(
        (PKI_DIR / f"{stem}.pem").read_bytes(),
        (PKI_DIR / f"{stem}.key.pem").read_bytes(),
        chain_pem=(PKI_DIR / "issuing-ca.pem").read_bytes(),
        cert_source=f"{stem}.pem",
        key_source=f"{stem}.key.pem",
    )


def root_der() -> bytes:
    return pki().root.cert.public_bytes(serialization.Encoding.DER)


CUSTOMER_EKU = "1.3.6.1.4.1.311.97.990309390.766961637.194916062.941502583"
"""A Trusted Signing-style customer EKU (Get-AzCodeSigningCustomerEku's shape)."""


@cache
def customer_eku_leaf() -> Identity:
    """A code-signing leaf from the fixture issuing CA that also carries ``CUSTOMER_EKU``, as a
    Trusted Signing certificate profile issues them (fresh RSA 2048 key, test only)."""
    spec = _LeafSpec(
        "customer_eku",
        "leaf-customer-eku",
        "Inspector Test Trusted Signing",
        0x2001,
        "rsa2048",
        eku=(CODE_SIGNING_EKU, x509.ObjectIdentifier(CUSTOMER_EKU)),
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing = pki().issuing
    cert = _leaf_cert(spec, key, issuing)
    return Identity(spec.stem, cert, key, (issuing.cert, pki().root.cert))


def write_identity(ident: Identity, folder: Path) -> tuple[Path, Path, Path]:
    """``<stem>.pem``, ``<stem>.key.pem`` and ``<stem>-chain.pem`` (issuing CA only) in folder."""
    cert = folder / f"{ident.name}.pem"
    key = folder / f"{ident.name}.key.pem"
    chain = folder / f"{ident.name}-chain.pem"
    cert.write_bytes(ident.cert_pem())
    key.write_bytes(ident.key_pem())
    chain.write_bytes(ident.chain[0].public_bytes(serialization.Encoding.PEM))
    return cert, key, chain
