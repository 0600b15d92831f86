"""Helpers for the catalog ctl tests that more than one lane uses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import signify.asn1.ctl  # noqa: F401  (registers the CTL content type with asn1crypto)
from asn1crypto.cms import ContentInfo

from catalog.ctl.build import CatalogMember, MemberKind

T0 = datetime(2025, 6, 5, 8, 0, 48, tzinfo=UTC)


def oracle_ctl(der: bytes) -> Any:
    """The CTL of a catalog, decoded by asn1crypto/signify (independent of catalog.ctl.read)."""
    return ContentInfo.load(der)["content"]["encap_content_info"]["content"]


def oracle_subjects(der: bytes) -> dict[bytes, bytes]:
    """identifier -> the TrustedSubject's DER, as stored (asn1crypto keeps original encodings)."""
    return {s["subject_identifier"].native: s.dump() for s in oracle_ctl(der)["trusted_subjects"]}


# ---- encoding rules without an oracle file (formats.md 4.2/4.3 text) -------------------------


def member(n: int, kind: MemberKind = MemberKind.FLAT, **kw: Any) -> CatalogMember:
    return CatalogMember(
        f"file{n}",
        kind,
        hashlib.sha1(str(n).encode()).digest(),
        hashlib.sha256(str(n).encode()).digest(),
        **kw,
    )
