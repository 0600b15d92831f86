"""Signing a catalog's bytes (formats.md 6): check it is a catalog, pre-flight the signer, re-sign.

Pure apart from what ``stamper`` does (an RFC 3161 round trip, when given) and what a remote
signer does: bytes and a signer (``catalog.cms.KeySigner``) in, signed bytes out. ``inspector
sign`` (``inspector.pipeline.signing``) and the catalog benchmark both use it.
"""

from __future__ import annotations

import datetime as dt

from catalog.asn1 import OID_CTL
from catalog.cms import (
    KeySigner,
    SignOptions,
    Timestamper,
    parse_signed_data,
    preflight_signer,
    resign,
)
from catalog.ctl.read import ctl_subject_count
from catalog.errors import CatalogInputError


def sign_catalog_der(
    data: bytes,
    source: str,
    identity: KeySigner,
    *,
    now: dt.datetime,
    options: SignOptions | None = None,
    stamper: Timestamper | None = None,
) -> tuple[bytes, int]:
    """Pre-flight the signer at ``now`` (any backend), check ``data`` is a catalog, and
    (re-)sign it.

    Returns the signed bytes and the number of trusted subjects.
    """
    preflight_signer(identity, now)
    parts = parse_signed_data(data, source)
    if parts.content_type != OID_CTL:
        raise CatalogInputError(
            f"{source}: inner content type is {parts.content_type}, not a catalog ({OID_CTL})"
        )
    subjects = ctl_subject_count(parts.content, source)
    signed = resign(
        parts,
        source,
        identity.certificate_der,
        identity.chain_der,
        identity.sign,
        options or SignOptions(),
        stamper,
    )
    return signed, subjects


__all__ = ["sign_catalog_der"]
