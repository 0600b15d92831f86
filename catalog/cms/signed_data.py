"""PKCS#7 v1.5 SignedData: read the parts of one and assemble a signed one (formats.md 4.1, 6.1).

Generic over the inner content type: a catalog signs ``1.3.6.1.4.1.311.10.1`` (the CTL SEQUENCE
sits directly under ``[0]``, not in an OCTET STRING), a WDAC policy signs ``1.3.6.1.4.1.311.79.1``.
The inner ``contentInfo`` is carried over byte for byte; only digest algorithms, certificates and
signer infos are rebuilt. Everything is hand-encoded DER so the output is deterministic: the same
content, identity, options and clock give identical bytes (RSASSA-PKCS1-v1_5 is deterministic).

The messageDigest attribute is SHA256 over the CONTENTS OCTETS of the inner content (RFC 2315 9.3:
for a CTL, the bytes after the SEQUENCE's tag and length - VERIFIED against oem89.cat).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509 as crypto_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from catalog.asn1 import (
    DIGEST_NAMES,
    TAG_INTEGER,
    TAG_SEQUENCE,
    TAG_SET,
    SignerInfoFields,
    children,
    der_algorithm_identifier,
    der_attribute,
    der_integer,
    der_octet_string,
    der_oid,
    der_sequence,
    der_set_of,
    der_time,
    der_tlv,
    issuer_and_serial_number,
    issuer_and_serial_of,
    oid_of,
    read_signer_info,
    read_tlv,
)
from catalog.asn1 import OID_CONTENT_TYPE as OID_CONTENT_TYPE
from catalog.asn1 import OID_CTL as OID_CTL
from catalog.asn1 import OID_MESSAGE_DIGEST as OID_MESSAGE_DIGEST
from catalog.asn1 import OID_MS_RFC3161_TIMESTAMP as OID_MS_RFC3161_TIMESTAMP
from catalog.asn1 import OID_RSA_ENCRYPTION as OID_RSA_ENCRYPTION
from catalog.asn1 import OID_SHA256 as OID_SHA256
from catalog.asn1 import OID_SIGNED_DATA as OID_SIGNED_DATA
from catalog.asn1 import OID_SIGNING_TIME as OID_SIGNING_TIME
from catalog.asn1 import OID_SIPOLICY as OID_SIPOLICY
from catalog.asn1 import OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE as OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE
from catalog.asn1 import OID_SPC_SP_OPUS_INFO as OID_SPC_SP_OPUS_INFO
from catalog.asn1 import OID_SPC_STATEMENT_TYPE as OID_SPC_STATEMENT_TYPE
from catalog.errors import CatalogInputError, CatalogVerificationError

Signer = Callable[[bytes], bytes]
"""RSASSA-PKCS1-v1_5 with SHA256 over the given bytes (a key in memory today, PKCS#11 later)."""
Timestamper = Callable[[bytes], bytes]
"""Given the SignerInfo's encryptedDigest, return an RFC 3161 TimeStampToken (DER ContentInfo)."""


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedDataParts:
    """The pieces of an existing PKCS#7 SignedData, each as its original DER bytes."""

    content_type: str
    """Dotted OID of the inner content (1.3.6.1.4.1.311.10.1 for a catalog)."""
    content_info: bytes
    """The inner ``contentInfo`` SEQUENCE exactly as found (kept when re-signing)."""
    content: bytes
    """The inner content element (the CTL SEQUENCE of a catalog), tag and length included."""
    content_octets_offset: int
    """Offset of the content's contents octets inside ``content``."""
    certificates: tuple[bytes, ...]
    signer_infos: tuple[bytes, ...]
    digest_algorithms: tuple[bytes, ...]

    @property
    def content_octets(self) -> bytes:
        """What messageDigest covers: the content without its own tag and length (RFC 2315 9.3)."""
        return self.content[self.content_octets_offset :]


def parse_signed_data(data: bytes, source: str) -> SignedDataParts:
    """Split a DER PKCS#7 ContentInfo(SignedData); else ``CatalogInputError`` naming ``source``."""
    try:
        return _parse(data)
    except CatalogInputError as exc:
        raise CatalogInputError(
            f"{source}: not a PKCS#7 SignedData catalog: {exc}; check the file is a complete "
            ".cat (MakeCat or inspector output)"
        ) from exc


def _parse(data: bytes) -> SignedDataParts:
    n = len(data)
    if n == 0:
        raise CatalogInputError("the file is empty")
    if data[0] != 0x30:
        raise CatalogInputError(f"the first byte is 0x{data[0]:02X}, not a DER SEQUENCE (0x30)")
    outer = read_tlv(data, 0, n, what="ContentInfo")
    # Tools pad signatures to 8 bytes; tolerate trailing zeros, nothing else.
    if data[outer.end :].strip(b"\0"):
        raise CatalogInputError(f"{n - outer.end} unexpected bytes after the ContentInfo")
    kids = children(data, outer, what="ContentInfo")
    if len(kids) != 2 or oid_of(data, kids[0], "contentType") != OID_SIGNED_DATA:
        raise CatalogInputError("the ContentInfo is not signedData (1.2.840.113549.1.7.2)")
    if kids[1].tag != 0xA0:
        raise CatalogInputError("the signedData content is not [0] EXPLICIT")
    sd_items = children(data, kids[1], what="content")
    if len(sd_items) != 1 or sd_items[0].tag != TAG_SEQUENCE:
        raise CatalogInputError("the signedData content is not one SEQUENCE")
    fields = children(data, sd_items[0], what="SignedData")
    if (
        len(fields) < 4
        or fields[0].tag != TAG_INTEGER
        or fields[1].tag != TAG_SET
        or fields[2].tag != TAG_SEQUENCE
    ):
        raise CatalogInputError("SignedData lacks version/digestAlgorithms/contentInfo")
    digest_algs = tuple(
        data[t.start : t.end] for t in children(data, fields[1], what="digestAlgorithms")
    )
    ci = fields[2]
    ci_kids = children(data, ci, what="contentInfo")
    if not ci_kids:
        raise CatalogInputError("the inner contentInfo is empty")
    content_type = oid_of(data, ci_kids[0], "inner contentType")
    if len(ci_kids) < 2 or ci_kids[1].tag != 0xA0:
        raise CatalogInputError(f"the inner content ({content_type}) is absent (detached)")
    inner = children(data, ci_kids[1], what="inner content")
    if len(inner) != 1:
        raise CatalogInputError("the inner [0] content does not hold exactly one element")
    content_el = inner[0]
    rest = fields[3:]
    certificates: tuple[bytes, ...] = ()
    if rest and rest[0].tag == 0xA0:
        certificates = tuple(
            data[t.start : t.end] for t in children(data, rest[0], what="certificates")
        )
        rest = rest[1:]
    if rest and rest[0].tag == 0xA1:  # crls [1] IMPLICIT: dropped on re-signing
        rest = rest[1:]
    if len(rest) != 1 or rest[0].tag != TAG_SET:
        raise CatalogInputError("SignedData has no signerInfos SET where expected")
    signer_infos = tuple(data[t.start : t.end] for t in children(data, rest[0], what="signerInfo"))
    return SignedDataParts(
        content_type=content_type,
        content_info=data[ci.start : ci.end],
        content=data[content_el.start : content_el.end],
        content_octets_offset=content_el.content_start - content_el.start,
        certificates=certificates,
        signer_infos=signer_infos,
        digest_algorithms=digest_algs,
    )


# --- building ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignOptions:
    """What goes into the authenticated attributes besides contentType and messageDigest."""

    program_name: str | None = None
    """SpcSpOpusInfo programName (shown by Windows as the signature's description)."""
    more_info_url: str | None = None
    """SpcSpOpusInfo moreInfo URL."""
    signing_time: dt.datetime | None = None
    """signingTime attribute; omitted when None (as in Microsoft catalogs; stable output)."""


def _spc_opus_info(options: SignOptions) -> bytes | None:
    if options.program_name is None and options.more_info_url is None:
        return None
    parts: list[bytes] = []
    if options.program_name is not None:
        # [0] EXPLICIT SpcString, choice unicode [0] IMPLICIT BMPString (UTF-16BE).
        parts.append(der_tlv(0xA0, der_tlv(0x80, options.program_name.encode("utf-16-be"))))
    if options.more_info_url is not None:
        try:
            url = options.more_info_url.encode("ascii")
        except UnicodeEncodeError as exc:
            raise CatalogInputError(
                f"more-info URL {options.more_info_url!r} is not ASCII (SpcLink url is an "
                "IA5String); percent-encode it"
            ) from exc
        # [1] EXPLICIT SpcLink, choice url [0] IMPLICIT IA5String.
        parts.append(der_tlv(0xA1, der_tlv(0x80, url)))
    return der_sequence(*parts)


def authenticated_attributes(
    content_type: str, content_octets: bytes, options: SignOptions
) -> list[bytes]:
    """The DER Attribute elements of formats.md 6.1 (unsorted; ``der_set_of`` sorts them)."""
    attrs = [
        der_attribute(OID_CONTENT_TYPE, der_oid(content_type)),
        der_attribute(
            OID_MESSAGE_DIGEST, der_octet_string(hashlib.sha256(content_octets).digest())
        ),
        der_attribute(
            OID_SPC_STATEMENT_TYPE, der_sequence(der_oid(OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE))
        ),
    ]
    opus = _spc_opus_info(options)
    if opus is not None:
        attrs.append(der_attribute(OID_SPC_SP_OPUS_INFO, opus))
    if options.signing_time is not None:
        attrs.append(der_attribute(OID_SIGNING_TIME, der_time(options.signing_time)))
    return attrs


def issuer_and_serial(cert_der: bytes) -> bytes:
    """IssuerAndSerialNumber of a certificate, reusing its own issuer Name bytes."""
    return issuer_and_serial_number(cert_der)


def build_signed_data(
    content_info: bytes,
    content_type: str,
    content_octets: bytes,
    leaf: bytes,
    extra_certificates: Sequence[bytes],
    signer: Signer,
    options: SignOptions = SignOptions(),
    timestamper: Timestamper | None = None,
) -> bytes:
    """Assemble ContentInfo(SignedData) around an inner ``contentInfo`` kept byte for byte.

    ``content_octets`` is what messageDigest covers (``SignedDataParts.content_octets``).
    ``extra_certificates``: intermediates (and optionally the root); duplicates are dropped and the
    certificate SET is DER-sorted, as DER requires.
    """
    attrs = authenticated_attributes(content_type, content_octets, options)
    signed_attrs_set = der_set_of(attrs)  # the bytes that are signed: tag 0x31 (formats.md 6.1)
    signature = signer(signed_attrs_set)
    signer_info_parts = [
        der_integer(1),
        issuer_and_serial(leaf),
        der_algorithm_identifier(OID_SHA256),
        b"\xa0" + signed_attrs_set[1:],  # same contents, [0] IMPLICIT
        der_algorithm_identifier(OID_RSA_ENCRYPTION),
        der_octet_string(signature),
    ]
    if timestamper is not None:
        token = timestamper(signature)
        signer_info_parts.append(
            der_set_of([der_attribute(OID_MS_RFC3161_TIMESTAMP, token)], tag=0xA1)
        )
    signer_info = der_sequence(*signer_info_parts)
    certs = sorted({leaf, *extra_certificates})
    signed_data = der_sequence(
        der_integer(1),
        der_set_of([der_algorithm_identifier(OID_SHA256)]),
        content_info,
        der_tlv(0xA0, b"".join(certs)),
        der_set_of([signer_info]),
    )
    return der_sequence(der_oid(OID_SIGNED_DATA), der_tlv(0xA0, signed_data))


def content_info_for(content_type: str, content: bytes) -> bytes:
    """A fresh inner contentInfo: ``SEQUENCE { type, [0] EXPLICIT content }`` (content is a TLV)."""
    return der_sequence(der_oid(content_type), der_tlv(0xA0, content))


def resign(
    data: bytes | SignedDataParts,
    source: str,
    leaf: bytes,
    extra_certificates: Sequence[bytes],
    signer: Signer,
    options: SignOptions = SignOptions(),
    timestamper: Timestamper | None = None,
    expected_content_type: str | None = None,
) -> bytes:
    """Sign (or re-sign) an existing SignedData: signer infos and certificates are replaced.

    ``data`` is the DER, or its ``parse_signed_data`` parts when the caller has already parsed it.
    """
    parts = data if isinstance(data, SignedDataParts) else parse_signed_data(data, source)
    if expected_content_type is not None and parts.content_type != expected_content_type:
        raise CatalogInputError(
            f"{source}: inner content type is {parts.content_type}, expected "
            f"{expected_content_type}; this is not a catalog"
        )
    return build_signed_data(
        parts.content_info,
        parts.content_type,
        parts.content_octets,
        leaf,
        extra_certificates,
        signer,
        options,
        timestamper,
    )


# --- checking one SignerInfo ---------------------------------------------------------------------

_HASH_CLASSES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# digestEncryptionAlgorithm values seen in Authenticode: bare rsaEncryption (Windows, us), the
# sha*WithRSA OIDs (some tools) and ECDSA (osslsigncode with an EC key).
_RSA_SIGNATURE_OIDS = frozenset(
    {
        "1.2.840.113549.1.1.1",
        "1.2.840.113549.1.1.5",
        "1.2.840.113549.1.1.11",
        "1.2.840.113549.1.1.12",
        "1.2.840.113549.1.1.13",
    }
)
_ECDSA_SIGNATURE_OIDS = frozenset(
    {
        "1.2.840.10045.2.1",
        "1.2.840.10045.4.1",
        "1.2.840.10045.4.3.2",
        "1.2.840.10045.4.3.3",
        "1.2.840.10045.4.3.4",
    }
)


@dataclass(frozen=True, slots=True)
class CheckedSignerInfo:
    """What one verified SignerInfo says: the signer certificate and its attributes."""

    certificate: bytes
    """DER of the certificate that made the signature (found by issuer and serial number)."""
    digest_algorithm: str
    content_type: str
    message_digest: bytes
    encrypted_digest: bytes
    signing_time: dt.datetime | None
    unsigned_attributes: tuple[tuple[str, tuple[bytes, ...]], ...]
    """(dotted OID, DER values) of each unauthenticated attribute (timestamps live here)."""


def check_signer_info(
    signer_info: bytes,
    content_octets: bytes,
    certificates: Sequence[bytes],
    source: str,
) -> CheckedSignerInfo:
    """Verify one SignerInfo over ``content_octets``: messageDigest, then the signature.

    Raises ``CatalogVerificationError`` (naming ``source``) on any mismatch; the certificate chain
    is the caller's business.
    """
    try:
        fields: SignerInfoFields = read_signer_info(signer_info)
    except CatalogInputError as exc:
        raise CatalogVerificationError(f"{source}: {exc}") from exc
    if not fields.signed_attributes:
        raise CatalogVerificationError(
            f"{source}: SignerInfo has no authenticated attributes (Authenticode needs them)"
        )
    digest_oid, serial = fields.digest_algorithm, fields.serial
    hash_name = DIGEST_NAMES.get(digest_oid)
    if hash_name is None:
        raise CatalogVerificationError(f"{source}: unsupported digest algorithm {digest_oid}")
    cert_der = find_certificate(certificates, fields.issuer, serial)
    if cert_der is None:
        raise CatalogVerificationError(
            f"{source}: the signer's certificate (serial {serial:X}) is not among the "
            "certificates in the signature; re-sign including the leaf certificate"
        )
    content_types = fields.content_types
    digests = fields.message_digests
    if len(content_types) != 1 or len(digests) != 1:
        raise CatalogVerificationError(
            f"{source}: the signature must carry exactly one contentType and one messageDigest"
        )
    content_type = content_types[0]
    claimed = digests[0]
    computed = hashlib.new(hash_name, content_octets).digest()
    if claimed != computed:
        raise CatalogVerificationError(
            f"{source}: messageDigest mismatch: the signature covers {claimed.hex().upper()}, "
            f"the content hashes to {computed.hex().upper()} (the content was changed after "
            "signing)"
        )
    _check_signature(
        cert_der,
        fields.signature_algorithm,
        fields.encrypted_digest,
        fields.signed_attributes,
        hash_name,
        source,
    )
    return CheckedSignerInfo(
        certificate=cert_der,
        digest_algorithm=hash_name,
        content_type=content_type,
        message_digest=claimed,
        encrypted_digest=fields.encrypted_digest,
        signing_time=fields.signing_times[0] if fields.signing_times else None,
        unsigned_attributes=fields.unsigned_attributes,
    )


@dataclass(frozen=True, slots=True)
class SignerReference:
    """How a SignerInfo names its certificate (issuerAndSerialNumber) and its digest algorithm."""

    issuer: bytes
    """DER of the issuer Name, as stored in the SignerInfo."""
    serial: int
    digest_algorithm: str
    """Dotted OID of the SignerInfo's digestAlgorithm."""


def signer_reference(signer_info: bytes) -> SignerReference:
    """Decode a SignerInfo's issuerAndSerialNumber and digestAlgorithm (no verification).

    ``CatalogInputError`` when it names its certificate by key id or cannot be read.
    """
    fields = read_signer_info(signer_info)
    return SignerReference(
        issuer=fields.issuer, serial=fields.serial, digest_algorithm=fields.digest_algorithm
    )


def find_certificate(certificates: Sequence[bytes], issuer: bytes, serial: int) -> bytes | None:
    """The certificate with this issuer (Name DER) and serial number; None when none has them.

    Unreadable certificates are skipped: they cannot be the signer's.
    """
    for der in certificates:
        try:
            if issuer_and_serial_of(der) == (issuer, serial):
                return der
        except CatalogInputError:
            continue
    return None


def _check_signature(
    cert_der: bytes, sig_oid: str, signature: bytes, signed: bytes, hash_name: str, source: str
) -> None:
    try:
        public_key = crypto_x509.load_der_x509_certificate(cert_der).public_key()
    except ValueError as exc:
        raise CatalogVerificationError(f"{source}: signer certificate unreadable ({exc})") from exc
    algorithm = _HASH_CLASSES[hash_name]()
    try:
        if sig_oid in _RSA_SIGNATURE_OIDS and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed, padding.PKCS1v15(), algorithm)
        elif sig_oid in _ECDSA_SIGNATURE_OIDS and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed, ec.ECDSA(algorithm))
        else:
            raise CatalogVerificationError(
                f"{source}: signature algorithm {sig_oid} with a {type(public_key).__name__} is "
                "not supported"
            )
    except InvalidSignature as exc:
        raise CatalogVerificationError(
            f"{source}: the signature over the authenticated attributes does not verify with the "
            "signer certificate's key (tampered attributes or wrong certificate)"
        ) from exc
