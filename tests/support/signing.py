"""Shared helpers for the signing, verification and timestamp tests (test PKI from fixtures.pki)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from cryptography.hazmat.primitives import serialization

from catalog.cms.keys import SigningIdentity, identity_from_pem
from fixtures.pki import PKI_DIR, TestPki, load_pki

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
