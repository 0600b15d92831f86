"""Authenticode hashing, Windows catalog (CTL) building, signing and verification.

Implements ../shared/docs/formats.md. May import ``cdf`` (a catalog is built from a definition),
never ``tracer`` or ``inspector``. Sub-packages (each with its face, ``__all__`` in its
``__init__``): ``catalog.pe`` (files and digests), ``catalog.asn1`` (DER, OIDs, certificate and
PKCS#7 readers), ``catalog.cms`` (signing, timestamps, chain validation), ``catalog.ctl`` (the
catalog). Inside catalog, imports go pe -> asn1, cms -> asn1, ctl -> pe, cms, asn1; the errors and
records below are shared by all of them. This face is deliberately light: it does not import the
sub-packages.
"""

from __future__ import annotations

from catalog.errors import (
    CatalogEnvironmentError,
    CatalogError,
    CatalogInputError,
    CatalogVerificationError,
)
from catalog.records import (
    ALL_ALGORITHMS,
    EmbeddedSignature,
    FileDigests,
    FileFailure,
    FileKind,
    HashAlgorithm,
    HashResult,
    PageHashTable,
    PeMetadata,
    file_digests_from_dict,
)

__all__ = [
    "ALL_ALGORITHMS",
    "CatalogEnvironmentError",
    "CatalogError",
    "CatalogInputError",
    "CatalogVerificationError",
    "EmbeddedSignature",
    "FileDigests",
    "FileFailure",
    "FileKind",
    "HashAlgorithm",
    "HashResult",
    "PageHashTable",
    "PeMetadata",
    "file_digests_from_dict",
]
