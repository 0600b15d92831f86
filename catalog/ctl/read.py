"""Parse any Windows catalog (.cat) into frozen records (formats.md 4, with 2.3 and 6.1).

Reads MakeCat's, Microsoft's and our own catalogs, v1 and v2, signed or not: version, list
identifier, thisUpdate, catalog attributes, and every trusted subject with its SIP type,
indirect-data digest, page-hash table and name-value attributes; plus what the signing code
needs - the raw certificates and SignerInfos and the exact CTL contents octets a messageDigest
covers (6.1).

``parse_catalog`` is pure (bytes in, records out). Anything that is not a catalog, or is truncated,
raises ``CatalogInputError`` naming the byte offset and what was expected there. Unknown attributes
are kept raw rather than rejected: Microsoft catalogs carry attributes MakeCat never writes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.asn1 import (
    TAG_BIT_STRING,
    TAG_BMP_STRING,
    TAG_GENERALIZED_TIME,
    TAG_INTEGER,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    TAG_SET,
    TAG_UTC_TIME,
    DerError,
    Tlv,
    children,
    oids,
    read_oid,
    read_tlv,
)
from catalog.cms import certificate_names, find_certificate, signer_reference
from catalog.ctl.build import FLAG_BASE64, NameValue
from catalog.errors import CatalogInputError
from catalog.records import HashAlgorithm, PageHashTable


class MemberType(enum.Enum):
    """The SIP a trusted subject was made with."""

    PE = "pe"
    FLAT = "flat"
    CAB = "cab"
    UNKNOWN = "unknown"


_GUID_TYPES = {
    oids.SIP_GUID_PE: MemberType.PE,
    oids.SIP_GUID_FLAT: MemberType.FLAT,
    oids.SIP_GUID_CAB: MemberType.CAB,
}
_INFO2_TYPES = {
    oids.MEMBERINFO2_PE: MemberType.PE,
    oids.MEMBERINFO2_CAB: MemberType.CAB,
    oids.MEMBERINFO2_FLAT: MemberType.FLAT,
}
_DATA_TYPES = {
    oids.OID_SPC_PE_IMAGE_DATA: MemberType.PE,
    oids.OID_SPC_CAB_DATA: MemberType.FLAT,
    oids.OID_SPC_CAB_PAGE_DATA: MemberType.CAB,
}
_PAGE_ALGS = {
    oids.OID_PAGE_HASHES_V1: HashAlgorithm.SHA1,
    oids.OID_PAGE_HASHES_V2: HashAlgorithm.SHA256,
}
_VERSIONS = {oids.OID_CATALOG_LIST_MEMBER: 1, oids.OID_CATALOG_LIST_MEMBER2: 2}


def display_value(attr: NameValue) -> str:
    """A name-value attribute's value for humans: text when it is text, else uppercase hex."""
    value = attr.value
    if not attr.flags & FLAG_BASE64 and len(value) % 2 == 0:
        try:
            return value.decode("utf-16-le").rstrip("\0")
        except UnicodeDecodeError:
            pass
    if value.isascii() and value.decode("ascii").isprintable():
        return value.decode("ascii")
    return value.hex().upper()


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One TrustedSubject."""

    identifier: bytes
    member_type: MemberType
    file_name: str | None
    """The ``File`` name-value attribute, when present."""
    digest_algorithm: str | None
    """``sha1``/``sha256`` (or a dotted OID) from the SpcIndirectDataContent; None without one."""
    digest: bytes | None
    page_hashes: PageHashTable | None
    compat: bool
    """No SpcIndirectDataContent: a v2 SHA1 compatibility entry (formats.md 4.3)."""
    sip_guid: str | None
    """The v1 CAT_MEMBERINFO subject GUID string, when present."""
    attributes: tuple[NameValue, ...]
    """Every CAT_NAMEVALUE attribute, decoded, in stored order."""
    other_attributes: tuple[tuple[str, bytes], ...]
    """Attributes this reader does not interpret: ``(oid, DER of the values SET)``."""
    page_hash_type: str | None = None
    """The page-hash OID in the moniker (V1 or V2; any other OID leaves ``page_hashes`` None)."""

    @property
    def identifier_hex(self) -> str:
        return self.identifier.hex().upper()

    @property
    def identifier_text(self) -> str:
        """v1 identifiers are UTF-16LE hex strings (returned as text); others as uppercase hex."""
        ident = self.identifier
        if len(ident) % 2 == 0 and ident.endswith(b"\0\0"):
            try:
                text = ident.decode("utf-16-le").rstrip("\0")
            except UnicodeDecodeError:
                return self.identifier_hex
            if text.isprintable():
                return text
        return self.identifier_hex

    @property
    def has_page_hashes(self) -> bool:
        return self.page_hash_type is not None


@dataclass(frozen=True, slots=True)
class ParsedCatalog:
    """A whole catalog: the CTL decoded, the signature parts kept raw."""

    version: int
    """1 (SHA1, subjectAlgorithm 12.1.2) or 2 (SHA256, 12.1.3); 0 for any other algorithm."""
    subject_algorithm: str
    ctl_version: int
    list_identifier: bytes | None
    this_update: datetime
    attributes: tuple[NameValue, ...]
    """Catalog-level CAT_NAMEVALUE extensions, in stored order."""
    other_extensions: tuple[tuple[str, bytes], ...]
    members: tuple[CatalogEntry, ...]
    digest_algorithms: tuple[bytes, ...]
    """Raw AlgorithmIdentifiers of the SignedData (empty when unsigned)."""
    certificates: tuple[bytes, ...]
    """Raw DER certificates from SignedData.certificates."""
    signer_infos: tuple[bytes, ...]
    """Raw DER SignerInfos (empty when unsigned)."""
    ctl: bytes
    """The CTL SEQUENCE with its tag and length, exactly as stored."""
    ctl_contents: bytes
    """What a signer's messageDigest covers (formats.md 6.1): the CTL's contents octets, or the
    whole CTL SEQUENCE when it is wrapped in an OCTET STRING (the OCTET STRING's contents)."""

    @property
    def signed(self) -> bool:
        return bool(self.signer_infos)

    def find(self, identifier: bytes) -> CatalogEntry | None:
        for entry in self.members:
            if entry.identifier == identifier:
                return entry
        return None

    def find_digest(self, digest: bytes) -> CatalogEntry | None:
        """The member whose indirect-data digest (what verifiers match on) is ``digest``."""
        for entry in self.members:
            if entry.digest == digest:
                return entry
        return None


@dataclass(frozen=True, slots=True)
class _CtlHeader:
    items: list[Tlv]
    """The CTL SEQUENCE's elements."""
    next: int
    """Index in ``items`` of the element after subjectAlgorithm (trustedSubjects, if any)."""
    ctl_version: int
    list_identifier: bytes | None
    this_update: datetime
    subject_algorithm: str


class _Parser:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def expect_oid(self, offset: int, limit: int, oid: str, what: str) -> Tlv:
        found, tlv = read_oid(self.data, offset, limit, what)
        if found != oid:
            raise DerError(offset, f"expected {what} {oid}, found {found}: not a Windows catalog")
        return tlv

    def catalog(self) -> ParsedCatalog:
        d = self.data
        size = len(d)
        outer = read_tlv(d, 0, size, TAG_SEQUENCE, "PKCS#7 ContentInfo")
        if outer.end != size and any(d[outer.end :]):
            raise DerError(outer.end, "unexpected data after the PKCS#7 ContentInfo")
        oid_tlv = self.expect_oid(
            outer.content_start, outer.end, oids.OID_SIGNED_DATA, "SignedData"
        )
        explicit = read_tlv(d, oid_tlv.end, outer.end, 0xA0, "[0] content of ContentInfo")
        sd = read_tlv(d, explicit.content_start, explicit.end, TAG_SEQUENCE, "SignedData")
        version = read_tlv(d, sd.content_start, sd.end, TAG_INTEGER, "SignedData version")
        algs = read_tlv(d, version.end, sd.end, TAG_SET, "SignedData digestAlgorithms")
        eci = read_tlv(d, algs.end, sd.end, TAG_SEQUENCE, "SignedData contentInfo")
        ctype = self.expect_oid(eci.content_start, eci.end, oids.OID_CTL, "contentType szOID_CTL")
        wrapper = read_tlv(d, ctype.end, eci.end, 0xA0, "[0] CTL content")
        inner = read_tlv(d, wrapper.content_start, wrapper.end, what="CertificateTrustList")
        # messageDigest covers the contents octets of the [0] content's element (RFC 2315 9.3,
        # as pkcs7.SignedDataParts.content_octets): for a wrapped CTL, the whole CTL SEQUENCE.
        signed_contents = d[inner.content_start : inner.end]
        if inner.tag == TAG_OCTET_STRING:  # tolerate a CTL wrapped the PKCS#7 "data" way
            inner = read_tlv(d, inner.content_start, inner.end, TAG_SEQUENCE, "CTL")
        elif inner.tag != TAG_SEQUENCE:
            raise DerError(inner.start, "expected the CertificateTrustList SEQUENCE")
        pos = eci.end
        certificates: list[bytes] = []
        if pos < sd.end and d[pos] == 0xA0:
            certs = read_tlv(d, pos, sd.end, 0xA0, "certificates")
            certificates = [d[c.start : c.end] for c in children(d, certs)]
            pos = certs.end
        if pos < sd.end and d[pos] == 0xA1:
            pos = read_tlv(d, pos, sd.end, 0xA1, "crls").end
        signers = read_tlv(d, pos, sd.end, TAG_SET, "SignedData signerInfos")
        return self.ctl(
            inner,
            signed_contents=signed_contents,
            digest_algorithms=tuple(d[a.start : a.end] for a in children(d, algs)),
            certificates=tuple(certificates),
            signer_infos=tuple(d[s.start : s.end] for s in children(d, signers)),
        )

    def header(self, ctl: Tlv) -> _CtlHeader:
        """The CTL up to and including subjectAlgorithm; ``next`` indexes trustedSubjects."""
        d = self.data
        items = children(d, ctl)
        idx = 0

        def peek(tag: int) -> bool:
            return idx < len(items) and items[idx].tag == tag

        ctl_version = 0
        if peek(TAG_INTEGER):
            ctl_version = int.from_bytes(
                d[items[idx].content_start : items[idx].end], "big", signed=True
            )
            idx += 1
        if not peek(TAG_SEQUENCE):
            raise DerError(self._at(items, idx, ctl), "expected the CTL subjectUsage SEQUENCE")
        usage = [read_oid(d, c.start, c.end, "subjectUsage")[0] for c in children(d, items[idx])]
        if oids.OID_CATALOG_LIST not in usage:
            raise DerError(items[idx].start, f"CTL usage {usage} is not a catalog list (12.1.1)")
        idx += 1
        list_id = None
        if peek(TAG_OCTET_STRING):
            list_id = d[items[idx].content_start : items[idx].end]
            idx += 1
        if peek(TAG_INTEGER):
            idx += 1
        if not (peek(TAG_UTC_TIME) or peek(TAG_GENERALIZED_TIME)):
            raise DerError(self._at(items, idx, ctl), "expected the CTL thisUpdate time")
        this_update = self.time(items[idx])
        idx += 1
        if peek(TAG_UTC_TIME) or peek(TAG_GENERALIZED_TIME):
            idx += 1  # nextUpdate: catalogs never carry it
        if not peek(TAG_SEQUENCE):
            raise DerError(self._at(items, idx, ctl), "expected the CTL subjectAlgorithm")
        alg_tlv = items[idx]
        subject_alg = read_oid(d, alg_tlv.content_start, alg_tlv.end, "subjectAlgorithm")[0]
        return _CtlHeader(items, idx + 1, ctl_version, list_id, this_update, subject_alg)

    def ctl(
        self,
        ctl: Tlv,
        *,
        signed_contents: bytes,
        digest_algorithms: tuple[bytes, ...],
        certificates: tuple[bytes, ...],
        signer_infos: tuple[bytes, ...],
    ) -> ParsedCatalog:
        d = self.data
        head = self.header(ctl)
        items = head.items
        idx = head.next

        def peek(tag: int) -> bool:
            return idx < len(items) and items[idx].tag == tag

        members: list[CatalogEntry] = []
        if peek(TAG_SEQUENCE):
            members = [self.subject(s) for s in children(d, items[idx])]
            idx += 1
        attributes: list[NameValue] = []
        others: list[tuple[str, bytes]] = []
        if peek(0xA0):
            seq = read_tlv(d, items[idx].content_start, items[idx].end, TAG_SEQUENCE, "extensions")
            for ext in children(d, seq):
                oid, oid_tlv = read_oid(d, ext.content_start, ext.end, "extension id")
                value = read_tlv(d, oid_tlv.end, ext.end, what="extension value")
                if value.tag == 0x01:  # critical BOOLEAN: MakeCat omits it, others may not
                    value = read_tlv(d, value.end, ext.end, TAG_OCTET_STRING, "extnValue")
                elif value.tag != TAG_OCTET_STRING:
                    raise DerError(value.start, "expected the extension's OCTET STRING extnValue")
                if oid == oids.OID_CAT_NAMEVALUE:
                    nested = read_tlv(d, value.content_start, value.end, TAG_SEQUENCE, "NameValue")
                    attributes.append(self.name_value(nested))
                else:
                    others.append((oid, d[value.content_start : value.end]))
            idx += 1
        if idx < len(items):
            raise DerError(items[idx].start, "unexpected element at the end of the CTL")
        return ParsedCatalog(
            version=_VERSIONS.get(head.subject_algorithm, 0),
            subject_algorithm=head.subject_algorithm,
            ctl_version=head.ctl_version,
            list_identifier=head.list_identifier,
            this_update=head.this_update,
            attributes=tuple(attributes),
            other_extensions=tuple(others),
            members=tuple(members),
            digest_algorithms=digest_algorithms,
            certificates=certificates,
            signer_infos=signer_infos,
            ctl=d[ctl.start : ctl.end],
            ctl_contents=signed_contents,
        )

    @staticmethod
    def _at(items: list[Tlv], idx: int, parent: Tlv) -> int:
        return items[idx].start if idx < len(items) else parent.end

    def time(self, tlv: Tlv) -> datetime:
        text = self.data[tlv.content_start : tlv.end].decode("ascii", "replace")
        try:
            if tlv.tag == TAG_UTC_TIME:
                parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
                # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx (strptime pivots at 69).
                year = parsed.year % 100
                parsed = parsed.replace(year=(1900 if year >= 50 else 2000) + year)
            else:
                parsed = datetime.strptime(text.split(".")[0].rstrip("Z"), "%Y%m%d%H%M%S")
        except ValueError:
            raise DerError(tlv.start, f"unreadable time {text!r}") from None
        return parsed.replace(tzinfo=UTC)

    def name_value(self, seq: Tlv) -> NameValue:
        d = self.data
        tag = read_tlv(d, seq.content_start, seq.end, TAG_BMP_STRING, "NameValue tag")
        flags = read_tlv(d, tag.end, seq.end, TAG_INTEGER, "NameValue flags")
        value = read_tlv(d, flags.end, seq.end, TAG_OCTET_STRING, "NameValue value")
        try:
            name = d[tag.content_start : tag.end].decode("utf-16-be")
        except UnicodeDecodeError:
            raise DerError(tag.start, "NameValue tag is not valid UTF-16") from None
        return NameValue(
            name,
            int.from_bytes(d[flags.content_start : flags.end], "big"),
            d[value.content_start : value.end],
        )

    def subject(self, tlv: Tlv) -> CatalogEntry:
        d = self.data
        ident_tlv = read_tlv(d, tlv.content_start, tlv.end, TAG_OCTET_STRING, "subjectIdentifier")
        names: list[NameValue] = []
        others: list[tuple[str, bytes]] = []
        info_type = MemberType.UNKNOWN
        sip_guid: str | None = None
        digest_alg: str | None = None
        digest: bytes | None = None
        table: PageHashTable | None = None
        page_type: str | None = None
        data_type = MemberType.UNKNOWN
        compat = True
        if ident_tlv.end < tlv.end:
            attrs = read_tlv(d, ident_tlv.end, tlv.end, TAG_SET, "subjectAttributes")
            for attr in children(d, attrs):
                oid, oid_tlv = read_oid(d, attr.content_start, attr.end, "attribute type")
                values = read_tlv(d, oid_tlv.end, attr.end, TAG_SET, "attribute values")
                members = children(d, values)
                if not members:
                    raise DerError(values.start, f"attribute {oid} has no value")
                value = members[0]
                if oid == oids.OID_CAT_NAMEVALUE:
                    names.append(self.name_value(read_tlv(d, value.start, values.end, 0x30)))
                elif oid == oids.OID_CAT_MEMBERINFO:
                    guid = read_tlv(d, value.content_start, value.end, TAG_BMP_STRING, "SIP GUID")
                    sip_guid = d[guid.content_start : guid.end].decode("utf-16-be", "replace")
                    info_type = _GUID_TYPES.get(sip_guid.upper(), MemberType.UNKNOWN)
                elif oid == oids.OID_CAT_MEMBERINFO2:
                    if value.tag & 0xC0 == 0x80:
                        info_type = _INFO2_TYPES.get(value.tag & 0x1F, MemberType.UNKNOWN)
                elif oid == oids.OID_SPC_INDIRECT_DATA:
                    compat = False
                    data_type, digest_alg, digest, page_type, table = self.indirect(value)
                else:
                    others.append((oid, d[values.start : values.end]))
        member_type = info_type if info_type is not MemberType.UNKNOWN else data_type
        file_name = next((n for n in names if n.name.lower() == "file"), None)
        return CatalogEntry(
            identifier=d[ident_tlv.content_start : ident_tlv.end],
            member_type=member_type,
            file_name=None if file_name is None else display_value(file_name),
            digest_algorithm=digest_alg,
            digest=digest,
            page_hashes=table,
            compat=compat,
            sip_guid=sip_guid,
            attributes=tuple(names),
            other_attributes=tuple(others),
            page_hash_type=page_type,
        )

    def indirect(self, tlv: Tlv) -> tuple[MemberType, str, bytes, str | None, PageHashTable | None]:
        d = self.data
        if tlv.tag != TAG_SEQUENCE:
            raise DerError(tlv.start, "expected the SpcIndirectDataContent SEQUENCE")
        data = read_tlv(d, tlv.content_start, tlv.end, TAG_SEQUENCE, "SpcAttributeTypeAndValue")
        dtype, dtype_tlv = read_oid(d, data.content_start, data.end, "indirect data type")
        page_type: str | None = None
        table: PageHashTable | None = None
        if dtype == oids.OID_SPC_PE_IMAGE_DATA and dtype_tlv.end < data.end:
            page_type, table = self.pe_image_data(read_tlv(d, dtype_tlv.end, data.end, 0x30))
        info = read_tlv(d, data.end, tlv.end, TAG_SEQUENCE, "DigestInfo")
        alg = read_tlv(d, info.content_start, info.end, TAG_SEQUENCE, "digestAlgorithm")
        alg_oid = read_oid(d, alg.content_start, alg.end, "digest algorithm")[0]
        digest = read_tlv(d, alg.end, info.end, TAG_OCTET_STRING, "digest")
        return (
            _DATA_TYPES.get(dtype, MemberType.UNKNOWN),
            oids.DIGEST_NAMES.get(alg_oid, alg_oid),
            d[digest.content_start : digest.end],
            page_type,
            table,
        )

    def pe_image_data(self, tlv: Tlv) -> tuple[str | None, PageHashTable | None]:
        """SpcPeImageData: find the page-hash moniker, if any (formats.md 2.3)."""
        d = self.data
        flags = read_tlv(d, tlv.content_start, tlv.end, TAG_BIT_STRING, "SpcPeImageFlags")
        if flags.end >= tlv.end:
            return None, None
        explicit = read_tlv(d, flags.end, tlv.end, 0xA0, "SpcPeImageData file")
        link = read_tlv(d, explicit.content_start, explicit.end, what="SpcLink")
        if link.tag != 0xA1:  # url or file: no page hashes
            return None, None
        class_id = read_tlv(d, link.content_start, link.end, TAG_OCTET_STRING, "moniker classId")
        serialized = read_tlv(d, class_id.end, link.end, TAG_OCTET_STRING, "serializedData")
        if d[class_id.content_start : class_id.end] != oids.SPC_PAGE_HASH_CLASS_ID:
            return None, None
        outer = read_tlv(d, serialized.content_start, serialized.end, TAG_SET, "page-hash SET")
        attr = read_tlv(d, outer.content_start, outer.end, TAG_SEQUENCE, "page-hash attribute")
        oid, oid_tlv = read_oid(d, attr.content_start, attr.end, "page-hash type")
        values = read_tlv(d, oid_tlv.end, attr.end, TAG_SET, "page-hash values")
        raw = read_tlv(d, values.content_start, values.end, TAG_OCTET_STRING, "page-hash table")
        alg = _PAGE_ALGS.get(oid)
        if alg is None:
            return oid, None
        try:
            return oid, PageHashTable.from_bytes(alg, d[raw.content_start : raw.end])
        except ValueError as exc:
            raise DerError(raw.content_start, str(exc)) from None


def parse_catalog(data: bytes, source: str = "catalog") -> ParsedCatalog:
    """Decode a catalog; ``CatalogInputError`` names ``source``, the offset and what was expected.

    ``source`` (a path or name) is used in messages only.
    """
    if not data:
        raise CatalogInputError(f"{source}: empty file, not a catalog")
    try:
        return _Parser(bytes(data)).catalog()
    except DerError as exc:
        raise CatalogInputError(
            f"{source}: not a readable Windows catalog: {exc} "
            "(check that the file is a complete .cat; re-copy or rebuild it)"
        ) from None


def ctl_subject_count(content: bytes, source: str = "catalog") -> int:
    """Check a CTL's header is a catalog's and count its trusted subjects without decoding them.

    ``content`` is the CTL element of a SignedData (``pkcs7.SignedDataParts.content``). The header
    goes through the same steps as ``parse_catalog``; the subjects are only counted, because a full
    parse costs seconds on a 10,000-file catalog and signing does not need it.
    """
    parser = _Parser(bytes(content))
    try:
        ctl = read_tlv(parser.data, 0, len(parser.data), what="CertificateTrustList")
        if ctl.tag != TAG_SEQUENCE:
            raise DerError(ctl.start, "expected the CertificateTrustList SEQUENCE")
        head = parser.header(ctl)
        if head.next < len(head.items) and head.items[head.next].tag == TAG_SEQUENCE:
            return len(children(parser.data, head.items[head.next]))
        return 0
    except DerError as exc:
        raise CatalogInputError(
            f"{source}: not a readable Windows catalog: {exc} "
            "(check that the file is a complete .cat; re-copy or rebuild it)"
        ) from None


@dataclass(frozen=True, slots=True)
class SignerSummary:
    """Who signed: decoded from a SignerInfo and the certificate it names, for display."""

    subject: str | None
    """The signing certificate's subject (RFC 4514) when it is embedded, else None."""
    issuer_serial: str
    digest_algorithm: str


def signer_summaries(parsed: ParsedCatalog) -> tuple[SignerSummary, ...]:
    """One summary per SignerInfo (no verification: that is ``catalog.ctl.verify``'s job)."""
    out: list[SignerSummary] = []
    for raw in parsed.signer_infos:
        try:
            ref = signer_reference(raw)
        except CatalogInputError as exc:
            raise CatalogInputError(f"SignerInfo is malformed: {exc}") from None
        leaf = find_certificate(parsed.certificates, ref.issuer, ref.serial)
        subject = None
        if leaf is not None:
            try:
                subject = certificate_names(leaf).subject
            except ValueError:
                subject = None
        out.append(
            SignerSummary(
                subject=subject,
                issuer_serial=f"{ref.serial:X}",
                digest_algorithm=oids.DIGEST_NAMES.get(ref.digest_algorithm, ref.digest_algorithm),
            )
        )
    return tuple(out)
