"""Build unsigned Windows catalogs (v1 SHA1, v2 SHA256) exactly as MakeCat does (formats.md 2.3, 4).

A pure builder: ``build_catalog(CatalogSpec)`` takes digests that were already computed (by
``catalog.pe.hashing``) and returns the DER of an unsigned catalog - a PKCS#7 SignedData with empty
``digestAlgorithms``/``signerInfos`` whose content is the CertificateTrustList SEQUENCE directly
under ``[0]`` (formats.md 4.1). Signing adds a SignerInfo over the CTL later (``catalog.cms.keys``).

Byte-level choices, each mirroring MakeCat's own output (oracle ``makecat/unsigned.cat``):

* v1: subject identifier = UTF-16LE uppercase hex of the SHA1 SIP digest + NUL; attribute
  CAT_MEMBERINFO (SIP GUID string, certVersion 0x200); SHA1 digest; V1 page hashes.
* v2: identifier = raw SHA256 SIP digest; CAT_MEMBERINFO2 (``80 00`` PE, ``82 00`` flat); SHA256
  digest; V2 page hashes; plus one SHA1 compatibility subject per file (raw SHA1 id, MEMBERINFO2 and
  the member attributes not flagged 0x01000000, no indirect data).
* Attributes form a DER SET (sorted encodings); subjects are sorted by identifier bytes; duplicate
  identifiers (byte-identical files) collapse to one subject.
* Catalog attributes become Extensions (no ``critical``) inside ``ctlExtensions [0]`` in the given
  order; ``[0]`` is omitted when there are none. The CTL version (DEFAULT 0) is omitted.

Member kinds: only PE and flat. A CAB file is catalogued with the flat SIP (flat hash, MEMBERINFO2
``82 00``). MakeCat uses the CAB SIP (``81 00``, a CAB-specific digest and an undocumented moniker),
so Windows' CAB SIP will not find such a member; WDAC never needs one.

Determinism: the list identifier defaults to the first 16 bytes of a SHA256 over the encoded
subjects and attributes (MakeCat uses a random GUID), and ``this_update`` is always an explicit
argument; the same spec therefore yields the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from catalog.asn1 import der, oids
from catalog.errors import CatalogInputError
from catalog.pe import encode_page_hash_link
from catalog.records import HashAlgorithm, PageHashTable

FLAG_NO_REPLICATE = 0x01000000
"""CDF-only flag: do not copy the attribute to the SHA1 compat entries; never stored."""
FLAG_AUTHENTICATED = 0x10000000
FLAG_TEXT = 0x00010000
FLAG_BASE64 = 0x00020000
FLAG_NAME_TEXT = 0x00000001
DEFAULT_ATTRIBUTE_FLAGS = FLAG_AUTHENTICATED | FLAG_TEXT | FLAG_NAME_TEXT
"""``0x10010001``: authenticated, plain-text value, text name - what MakeCat samples use."""

SPC_PE_IMAGE_FLAGS = b"\x03\x02\x05\xa0"
"""SpcPeImageData.flags as MakeCat and Microsoft catalogs write them (formats.md 2.3)."""
EMPTY_FILE_LINK = b"\xa0\x04\xa2\x02\x80\x00"
"""``[0] { file [2] { unicode [0] "" } }``: SpcPeImageData's link when there are no page hashes."""
EMPTY_SPC_LINK = b"\xa2\x02\x80\x00"
"""The flat member's SpcLink ``file [2] { unicode [0] "" }``."""
CERT_VERSION = 0x200
"""CAT_MEMBERINFO certVersion in every v1 catalog sample (formats.md 4.3)."""


class MemberKind(enum.Enum):
    """Which SIP a member is hashed with: a conformant PE image or every byte (flat)."""

    PE = "pe"
    FLAT = "flat"


@dataclass(frozen=True, slots=True)
class NameValue:
    """A CAT_NAMEVALUE attribute (CDF ``ATTRn``/``CATATTRn``) with its value already in bytes.

    ``flags`` are the CDF flags; the 0x01000000 "do not replicate" bit is honoured for v2 compat
    entries and cleared when stored, as MakeCat does (``0x11010001`` is stored as ``0x10010001``).
    """

    name: str
    flags: int
    value: bytes

    @classmethod
    def text(cls, name: str, text: str, flags: int = DEFAULT_ATTRIBUTE_FLAGS) -> NameValue:
        """A plain-text value: stored as UTF-16LE with a trailing NUL (formats.md 4.3)."""
        return cls(name, flags, (text + "\0").encode("utf-16-le"))

    @classmethod
    def from_cdf(cls, name: str, flags: int, text: str) -> NameValue:
        """Interpret a CDF value by its flags: base64 (0x00020000) is decoded, anything else is text

        Raises ``ValueError`` for undecodable base64; callers add the CDF line to the message.
        """
        if flags & FLAG_BASE64:
            try:
                return cls(name, flags, base64.b64decode(text.strip(), validate=True))
            except binascii.Error as exc:
                raise ValueError(f"attribute {name!r}: value is not valid base64 ({exc})") from None
        return cls.text(name, text, flags)

    @property
    def replicated(self) -> bool:
        return not self.flags & FLAG_NO_REPLICATE

    @property
    def stored_flags(self) -> int:
        return self.flags & ~FLAG_NO_REPLICATE


@dataclass(frozen=True, slots=True)
class CatalogMember:
    """One file of the catalog: its SIP digests and attributes.

    ``sha1``/``sha256`` are SIP digests (padded Authenticode hash for a PE, flat hash otherwise).
    A v1 catalog needs ``sha1``; a v2 catalog needs both (SHA256 primary, SHA1 compat entry). A page
    table is written when present for the version's algorithm (V1 SHA1 in v1, V2 SHA256 in v2).
    ``name`` is for messages only; put a ``File`` attribute in ``attributes`` to store a name.
    """

    name: str
    kind: MemberKind
    sha1: bytes | None = None
    sha256: bytes | None = None
    page_table_sha1: PageHashTable | None = None
    page_table_sha256: PageHashTable | None = None
    attributes: tuple[NameValue, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    """Everything a catalog holds. ``list_identifier`` None derives it from the content."""

    version: int
    this_update: datetime
    members: tuple[CatalogMember, ...]
    attributes: tuple[NameValue, ...] = ()
    list_identifier: bytes | None = None


@dataclass(frozen=True, slots=True)
class BuiltCatalog:
    """The unsigned catalog and what went into it."""

    der: bytes
    """The whole unsigned catalog (ContentInfo SignedData)."""
    ctl: bytes
    """The CertificateTrustList SEQUENCE (tag and length included) as embedded in ``der``."""
    list_identifier: bytes
    subject_count: int
    collapsed: tuple[str, ...] = field(default=())
    """Names of members dropped because another member had the same identifier."""

    @property
    def ctl_contents(self) -> bytes:
        """The CTL's contents octets: what a SignerInfo's messageDigest covers (formats.md 6.1)."""
        tlv = der.read_tlv(self.ctl, 0, expected=der.TAG_SEQUENCE, what="CertificateTrustList")
        return self.ctl[tlv.content_start : tlv.end]


# Pre-encoded pieces that every member repeats.
_OID_MEMBERINFO2 = der.der_oid(oids.OID_CAT_MEMBERINFO2)
_MEMBERINFO2 = {
    MemberKind.PE: der.der_sequence(
        _OID_MEMBERINFO2, der.der_tlv(der.TAG_SET, bytes((0x80 | oids.MEMBERINFO2_PE, 0)))
    ),
    MemberKind.FLAT: der.der_sequence(
        _OID_MEMBERINFO2, der.der_tlv(der.TAG_SET, bytes((0x80 | oids.MEMBERINFO2_FLAT, 0)))
    ),
}
_MEMBERINFO = {
    kind: der.der_sequence(
        der.der_oid(oids.OID_CAT_MEMBERINFO),
        der.der_tlv(
            der.TAG_SET,
            der.der_sequence(der.der_bmp_string(guid), der.der_integer(CERT_VERSION)),
        ),
    )
    for kind, guid in ((MemberKind.PE, oids.SIP_GUID_PE), (MemberKind.FLAT, oids.SIP_GUID_FLAT))
}
_OID_NAMEVALUE = der.der_oid(oids.OID_CAT_NAMEVALUE)
_OID_INDIRECT = der.der_oid(oids.OID_SPC_INDIRECT_DATA)
_PE_DATA_OID = der.der_oid(oids.OID_SPC_PE_IMAGE_DATA)
_FLAT_DATA = der.der_sequence(der.der_oid(oids.OID_SPC_CAB_DATA), EMPTY_SPC_LINK)
_PE_DATA_NO_PAGES = der.der_sequence(
    _PE_DATA_OID, der.der_sequence(SPC_PE_IMAGE_FLAGS, EMPTY_FILE_LINK)
)
_DIGEST_ALG = {
    HashAlgorithm.SHA1: der.der_algorithm_identifier(oids.OID_SHA1),
    HashAlgorithm.SHA256: der.der_algorithm_identifier(oids.OID_SHA256),
}
_SUBJECT_ALG = {
    1: der.der_algorithm_identifier(oids.OID_CATALOG_LIST_MEMBER),
    2: der.der_algorithm_identifier(oids.OID_CATALOG_LIST_MEMBER2),
}
_SUBJECT_USAGE = der.der_sequence(der.der_oid(oids.OID_CATALOG_LIST))


def encode_name_value(attr: NameValue) -> bytes:
    """CAT_NAMEVALUE ``SEQUENCE { tag BMPString, flags INTEGER, value OCTET STRING }``."""
    return der.der_sequence(
        der.der_bmp_string(attr.name),
        der.der_integer(attr.stored_flags),
        der.der_octet_string(attr.value),
    )


def _name_value_attribute(attr: NameValue) -> bytes:
    return der.der_sequence(_OID_NAMEVALUE, der.der_tlv(der.TAG_SET, encode_name_value(attr)))


def encode_indirect_data(
    kind: MemberKind, alg: HashAlgorithm, digest: bytes, table: PageHashTable | None
) -> bytes:
    """SpcIndirectDataContent for one member (formats.md 2.3, 4.3)."""
    if kind is MemberKind.FLAT:
        data = _FLAT_DATA
    elif table is None:
        data = _PE_DATA_NO_PAGES
    else:
        data = der.der_sequence(
            _PE_DATA_OID, der.der_sequence(SPC_PE_IMAGE_FLAGS, encode_page_hash_link(table))
        )
    return der.der_sequence(data, der.der_sequence(_DIGEST_ALG[alg], der.der_octet_string(digest)))


def v1_identifier(sha1: bytes) -> bytes:
    """v1 subject identifier: UTF-16LE of the uppercase hex digest plus a NUL (formats.md 4.3)."""
    return (sha1.hex().upper() + "\0").encode("utf-16-le")


def _check_digest(member: CatalogMember, alg: HashAlgorithm, digest: bytes | None) -> bytes:
    if digest is None:
        raise CatalogInputError(
            f"member {member.name!r}: no {alg.value} digest, which this catalog version needs "
            "(hash the file with that algorithm too)"
        )
    if len(digest) != alg.digest_size:
        raise CatalogInputError(
            f"member {member.name!r}: {alg.value} digest is {len(digest)} bytes, "
            f"expected {alg.digest_size}"
        )
    return digest


def _page_table(member: CatalogMember, alg: HashAlgorithm) -> PageHashTable | None:
    table = member.page_table_sha1 if alg is HashAlgorithm.SHA1 else member.page_table_sha256
    if table is None:
        return None
    if member.kind is not MemberKind.PE:
        raise CatalogInputError(
            f"member {member.name!r}: only PE members carry page hashes, this one is flat"
        )
    if table.algorithm is not alg:
        raise CatalogInputError(
            f"member {member.name!r}: page table is {table.algorithm.value}, expected {alg.value}"
        )
    return table


def _subject(identifier: bytes, attributes: list[bytes]) -> bytes:
    return der.der_sequence(der.der_octet_string(identifier), der.der_set_of(attributes))


def _member_subjects(version: int, member: CatalogMember) -> list[tuple[bytes, bytes]]:
    """``(identifier, TrustedSubject DER)`` pairs for one member (two in v2: primary + compat)."""
    named = [_name_value_attribute(a) for a in member.attributes]
    if version == 1:
        sha1 = _check_digest(member, HashAlgorithm.SHA1, member.sha1)
        table = _page_table(member, HashAlgorithm.SHA1)
        ident = v1_identifier(sha1)
        attrs = [
            _MEMBERINFO[member.kind],
            *named,
            _indirect_attribute(member.kind, HashAlgorithm.SHA1, sha1, table),
        ]
        return [(ident, _subject(ident, attrs))]
    sha256 = _check_digest(member, HashAlgorithm.SHA256, member.sha256)
    sha1 = _check_digest(member, HashAlgorithm.SHA1, member.sha1)
    table = _page_table(member, HashAlgorithm.SHA256)
    info2 = _MEMBERINFO2[member.kind]
    primary = [
        info2,
        *named,
        _indirect_attribute(member.kind, HashAlgorithm.SHA256, sha256, table),
    ]
    compat = [info2] + [
        enc for a, enc in zip(member.attributes, named, strict=True) if a.replicated
    ]
    return [(sha256, _subject(sha256, primary)), (sha1, _subject(sha1, compat))]


def _indirect_attribute(
    kind: MemberKind, alg: HashAlgorithm, digest: bytes, table: PageHashTable | None
) -> bytes:
    return der.der_sequence(
        _OID_INDIRECT, der.der_tlv(der.TAG_SET, encode_indirect_data(kind, alg, digest, table))
    )


def encode_time(when: datetime) -> bytes:
    """UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), whole seconds, UTC."""
    if when.tzinfo is None:
        raise CatalogInputError("thisUpdate must be timezone-aware (UTC)")
    return der.der_time(when)


def _extensions(attributes: tuple[NameValue, ...]) -> bytes:
    if not attributes:
        return b""
    exts = [
        der.der_sequence(_OID_NAMEVALUE, der.der_octet_string(encode_name_value(a)))
        for a in attributes
    ]
    return der.der_tlv(0xA0, der.der_sequence(*exts))


def derive_list_identifier(version: int, subjects: bytes, extensions: bytes) -> bytes:
    """A content-derived 16-byte list identifier (MakeCat draws a random GUID instead)."""
    digest = hashlib.sha256()
    digest.update(b"inspector catalog list identifier\0")
    digest.update(bytes((version,)))
    digest.update(subjects)
    digest.update(extensions)
    return digest.digest()[:16]


def wrap_unsigned(ctl: bytes) -> bytes:
    """ContentInfo SignedData (version 1, no digest algorithms, no signers) around a CTL (4.1)."""
    content_info = der.der_sequence(der.der_oid(oids.OID_CTL), der.der_tlv(0xA0, ctl))
    signed_data = der.der_sequence(
        der.der_integer(1), der.der_tlv(der.TAG_SET, b""), content_info, der.der_set_of([])
    )
    return der.der_sequence(der.der_oid(oids.OID_SIGNED_DATA), der.der_tlv(0xA0, signed_data))


def build_catalog(spec: CatalogSpec) -> BuiltCatalog:
    """Encode ``spec`` as an unsigned catalog; ``CatalogInputError`` names the offending member."""
    if spec.version not in (1, 2):
        raise CatalogInputError(f"catalog version {spec.version} is not 1 (SHA1) or 2 (SHA256)")
    if spec.list_identifier is not None and len(spec.list_identifier) != 16:
        raise CatalogInputError(
            f"list identifier must be 16 bytes (a GUID), got {len(spec.list_identifier)}"
        )
    # identifier -> (encoded subject, member name); duplicates keep the smallest encoding so the
    # result does not depend on the order members were given in.
    chosen: dict[bytes, tuple[bytes, str]] = {}
    collapsed: list[str] = []
    for member in spec.members:
        for position, (ident, encoded) in enumerate(_member_subjects(spec.version, member)):
            previous = chosen.get(ident)
            if previous is None:
                chosen[ident] = (encoded, member.name)
                continue
            keep, drop = sorted((previous, (encoded, member.name)))
            chosen[ident] = keep
            if position == 0:  # report the file once, for its primary subject
                collapsed.append(drop[1])
    built = build_from_subjects(
        spec.version,
        spec.this_update,
        {ident: encoded for ident, (encoded, _name) in chosen.items()},
        spec.attributes,
        spec.list_identifier,
    )
    return BuiltCatalog(
        der=built.der,
        ctl=built.ctl,
        list_identifier=built.list_identifier,
        subject_count=built.subject_count,
        collapsed=tuple(sorted(set(collapsed))),
    )


def build_from_subjects(
    version: int,
    this_update: datetime,
    subjects: dict[bytes, bytes],
    attributes: tuple[NameValue, ...] = (),
    list_identifier: bytes | None = None,
) -> BuiltCatalog:
    """An unsigned catalog from already-encoded TrustedSubjects (identifier -> DER), sorted by
    identifier; used by ``build_catalog`` and to merge catalogs without re-encoding members."""
    body = b"".join(subjects[ident] for ident in sorted(subjects))
    trusted = der.der_tlv(der.TAG_SEQUENCE, body) if subjects else b""
    extensions = _extensions(attributes)
    list_id = list_identifier or derive_list_identifier(version, trusted, extensions)
    ctl = der.der_sequence(
        _SUBJECT_USAGE,
        der.der_octet_string(list_id),
        encode_time(this_update),
        _SUBJECT_ALG[version],
        trusted,
        extensions,
    )
    return BuiltCatalog(
        der=wrap_unsigned(ctl), ctl=ctl, list_identifier=list_id, subject_count=len(subjects)
    )
