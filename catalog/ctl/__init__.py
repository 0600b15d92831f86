"""The catalog itself (CTL, formats.md 4): build, read, verify signature and membership. May
import ``catalog.pe``, ``catalog.cms`` and ``catalog.asn1``."""

from __future__ import annotations

from catalog.ctl.build import (
    FLAG_BASE64,
    BuiltCatalog,
    CatalogMember,
    CatalogSpec,
    MemberKind,
    NameValue,
    build_catalog,
)
from catalog.ctl.compare import (
    AttributeChange,
    CatalogDiff,
    MemberChange,
    MemberRef,
    MergeResult,
    diff_catalogs,
    merge_catalogs,
    trusted_subjects,
)
from catalog.ctl.members import (
    catalog_attributes,
    catalog_member,
    catalog_time,
    resolve_time,
)
from catalog.ctl.read import (
    CatalogEntry,
    ParsedCatalog,
    SignerSummary,
    ctl_subject_count,
    display_value,
    parse_catalog,
    signer_summaries,
)
from catalog.ctl.sign import sign_catalog_der
from catalog.ctl.verify import (
    MemberIndex,
    MembershipVerdict,
    MemberStatus,
    SignatureVerdict,
    TrustStatus,
    check_member,
    check_members,
    verify_signature,
)

__all__ = [
    "FLAG_BASE64",
    "AttributeChange",
    "BuiltCatalog",
    "CatalogDiff",
    "CatalogEntry",
    "CatalogMember",
    "CatalogSpec",
    "MemberChange",
    "MemberIndex",
    "MemberKind",
    "MemberRef",
    "MemberStatus",
    "MembershipVerdict",
    "MergeResult",
    "NameValue",
    "ParsedCatalog",
    "SignatureVerdict",
    "SignerSummary",
    "TrustStatus",
    "build_catalog",
    "catalog_attributes",
    "catalog_member",
    "catalog_time",
    "check_member",
    "check_members",
    "ctl_subject_count",
    "diff_catalogs",
    "display_value",
    "merge_catalogs",
    "parse_catalog",
    "resolve_time",
    "sign_catalog_der",
    "signer_summaries",
    "trusted_subjects",
    "verify_signature",
]
