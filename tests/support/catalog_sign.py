"""Helpers for the catalog sign tests that more than one lane uses."""

from __future__ import annotations

from asn1crypto import cms

from catalog.cms.keys import SigningIdentity
from catalog.cms.signed_data import OID_CTL, SignOptions, resign


def _sign(data: bytes, ident: SigningIdentity, options: SignOptions | None = None) -> bytes:
    return resign(
        data,
        "test.cat",
        ident.certificate_der,
        ident.chain_der,
        ident.sign,
        options or SignOptions(),
        expected_content_type=OID_CTL,
    )


def _attrs(signer: cms.SignerInfo) -> dict[str, cms.CMSAttribute]:
    return {a["type"].dotted: a for a in signer["signed_attrs"]}
