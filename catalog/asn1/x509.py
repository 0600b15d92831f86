"""TBS hash of a certificate, the value WDAC signer rules carry (formats.md 6.2).

WDAC's ``CertRoot Type="TBS"`` value is the hash of the DER ``TBSCertificate`` (the first element
of the Certificate SEQUENCE) computed with the hash algorithm of that certificate's OWN
``signatureAlgorithm`` - SHA256 for a sha256WithRSAEncryption CA, SHA1 for an old sha1WithRSA CA -
printed as uppercase hex. RSASSA-PSS-signed certificates use the hash named in the PSS parameters;
that case has never been checked against Windows and is reported as unverified.

Also finds the certificates embedded in a container (PEM, DER certificate, PKCS#7 such as a .cat
or .p7b, or a signed PE's certificate table) so ``inspector catalog tbs`` can list them. Pure: bytes
in, records out.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, x509

from catalog.errors import CatalogInputError

# signatureAlgorithm OID -> (readable name, hash algorithm); the hashlib name is the TBS hash.
_SIGNATURE_HASHES: dict[str, tuple[str, str]] = {
    "1.2.840.113549.1.1.2": ("md2WithRSAEncryption", "md2"),
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "md5"),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "sha1"),
    "1.3.14.3.2.29": ("sha1WithRSASignature", "sha1"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "sha512"),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "sha512"),
    "1.2.840.10040.4.3": ("dsa-with-sha1", "sha1"),
    "2.16.840.1.101.3.4.3.2": ("dsa-with-sha256", "sha256"),
}
_RSASSA_PSS = "1.2.840.113549.1.1.10"
_PSS_NOTE = (
    "RSASSA-PSS certificate: TBS hashed with the PSS hash parameter; Windows behaviour for PSS is "
    "unverified"
)
_PEM_CERT = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(.+?)"
    rb"-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class TbsHash:
    """One certificate's identity and its WDAC TBS value."""

    subject: str
    issuer: str
    serial_number: int
    signature_algorithm: str
    """Readable name of the certificate's signatureAlgorithm (or its dotted OID when unknown)."""
    hash_algorithm: str
    """hashlib name of the hash used for the TBS value (``sha256``, ``sha1``, ...)."""
    tbs_hash: str
    """Uppercase hex digest of the DER TBSCertificate."""
    note: str | None = None
    """Caveat about the value (RSASSA-PSS is unverified on Windows)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial_number": f"{self.serial_number:X}",
            "signature_algorithm": self.signature_algorithm,
            "hash_algorithm": self.hash_algorithm,
            "tbs_hash": self.tbs_hash,
            "note": self.note,
        }


def _load_certificate(der: bytes, source: str) -> x509.Certificate:
    try:
        cert = x509.Certificate.load(der)
        # Force a parse of the parts we use: asn1crypto parses lazily.
        _ = cert["tbs_certificate"]["subject"].human_friendly
        _ = cert["signature_algorithm"]["algorithm"].dotted
    except (ValueError, TypeError, KeyError) as exc:
        raise CatalogInputError(
            f"{source}: not a DER X.509 certificate ({exc}); give a PEM/DER certificate, a "
            "catalog (.cat), a PKCS#7 (.p7b) or a signed PE"
        ) from exc
    return cert


def _hash_for(cert: x509.Certificate, source: str) -> tuple[str, str, str | None]:
    """(signature algorithm name, hashlib name, note) for the certificate's own signature."""
    alg = cert["signature_algorithm"]
    oid = alg["algorithm"].dotted
    if oid == _RSASSA_PSS:
        params = alg["parameters"]
        # RFC 4055: the hashAlgorithm parameter defaults to SHA1 when absent.
        hash_name = "sha1"
        if params.native is not None:
            hash_name = params["hash_algorithm"]["algorithm"].native
        return "rsassa-pss", hash_name, _PSS_NOTE
    known = _SIGNATURE_HASHES.get(oid)
    if known is None:
        raise CatalogInputError(
            f"{source}: certificate signature algorithm {oid} is not one WDAC hashes "
            "(RSA or ECDSA with md5/sha1/sha2); its TBS value cannot be computed"
        )
    return known[0], known[1], None


def tbs_hash_of(cert_der: bytes, source: str = "certificate") -> TbsHash:
    """TBS hash of one DER certificate (formats.md 6.2); ``source`` names it in errors."""
    cert = _load_certificate(cert_der, source)
    sig_name, hash_name, note = _hash_for(cert, source)
    try:
        hasher = hashlib.new(hash_name)
    except ValueError as exc:
        raise CatalogInputError(
            f"{source}: this Python cannot compute {hash_name} (certificate signed with "
            f"{sig_name}); its TBS value is unavailable here"
        ) from exc
    # dump() returns the bytes as parsed (asn1crypto keeps the original encoding of an unmodified
    # value), so a non-DER quirk in a real certificate is hashed as Windows sees it.
    hasher.update(cert["tbs_certificate"].dump())
    return TbsHash(
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        serial_number=cert.serial_number,
        signature_algorithm=sig_name,
        hash_algorithm=hash_name,
        tbs_hash=hasher.hexdigest().upper(),
        note=note,
    )


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What signer rules and policy signing read from a certificate (asn1crypto-decoded)."""

    der: bytes
    subject: str
    """The subject, human-friendly (``Common Name: X, Organization: Y``)."""
    issuer: str
    """The issuer, human-friendly."""
    issuer_common_name: str
    """The issuer's first common name, ``""`` when it has none."""
    common_name: str
    """The subject's first common name, ``""`` when it has none (what CertPublisher names)."""
    subject_key: str
    """The subject Name normalised for comparison (RFC 5280 7.1 matching)."""
    issuer_key: str
    """The issuer Name normalised the same way: ``a.issuer_key == b.subject_key`` chains names."""
    self_issued: bool
    """Subject equals issuer (a root, or a self-signed leaf)."""
    ca: bool
    """basicConstraints says cA (a CA certificate)."""
    key_algorithm: str
    """``rsa``, ``ec``, ``dsa``, ..."""
    utf8_name_fields: tuple[str, ...]
    """Subject/issuer attribute types stored as UTF8String (Windows refuses them in policy
    signers)."""


def _first_cn(name: Any) -> str:
    cn = name.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[0]
    return cn if isinstance(cn, str) else ""


def certificate_info(der: bytes, source: str) -> CertificateInfo:
    """Decode ``der`` fully; ``CatalogInputError`` naming ``source`` when it is no certificate."""
    try:
        cert = x509.Certificate.load(der)
        cert.native  # noqa: B018 - force a full parse so malformed input fails here
        cn = _first_cn(cert.subject)
        issuer_cn = _first_cn(cert.issuer)
        utf8 = [
            attr["type"].native
            for name in (cert.subject, cert.issuer)
            for rdn in name.chosen
            for attr in rdn
            if attr["value"].name == "utf8_string"
        ]
        return CertificateInfo(
            der=der,
            subject=str(cert.subject.human_friendly),
            issuer=str(cert.issuer.human_friendly),
            issuer_common_name=issuer_cn,
            common_name=cn,
            subject_key=cert.subject.hashable,
            issuer_key=cert.issuer.hashable,
            self_issued=cert.self_signed != "no",
            ca=bool(cert.ca),
            key_algorithm=str(cert.public_key.algorithm),
            utf8_name_fields=tuple(utf8),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise CatalogInputError(f"{source}: unreadable certificate: {exc}") from None


def _pe_certificate_table(data: bytes) -> bytes | None:
    """The PKCS#7 blob of a signed PE (first WIN_CERTIFICATE of type PKCS_SIGNED_DATA), or None."""
    if len(data) < 0x40 or data[:2] != b"MZ":
        return None
    (e_lfanew,) = struct.unpack_from("<I", data, 0x3C)
    if e_lfanew + 24 + 2 > len(data) or data[e_lfanew : e_lfanew + 4] != b"PE\0\0":
        return None
    opt = e_lfanew + 24
    (magic,) = struct.unpack_from("<H", data, opt)
    # Data directory 4 (security) sits at optional-header offset 128 (PE32) or 144 (PE32+).
    dir_offset = opt + (128 if magic == 0x10B else 144 if magic == 0x20B else -1)
    if dir_offset < opt or dir_offset + 8 > len(data):
        return None
    offset, size = struct.unpack_from("<II", data, dir_offset)
    if offset == 0 or size < 8 or offset + size > len(data):
        return None
    length, _revision, cert_type = struct.unpack_from("<IHH", data, offset)
    if cert_type != 0x0002 or length < 8 or offset + length > len(data):
        return None
    return data[offset + 8 : offset + length]


def _pkcs7_certificates(blob: bytes, source: str) -> list[bytes]:
    try:
        info = cms.ContentInfo.load(blob)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].dotted} is not signedData")
        certs = info["content"]["certificates"]
        if certs.native is None:
            return []
        return [c.chosen.dump() for c in certs if c.name == "certificate"]
    except (ValueError, TypeError, KeyError) as exc:
        raise CatalogInputError(
            f"{source}: not a readable PKCS#7 SignedData ({exc}); the file may be truncated"
        ) from exc


def certificates_in(data: bytes, source: str) -> list[bytes]:
    """Every DER certificate in ``data``: PEM (one or many), a DER certificate, PKCS#7, signed PE.

    Raises ``CatalogInputError`` naming ``source`` when nothing usable is found.
    """
    pems = _PEM_CERT.findall(data)
    if pems:
        return [base64.b64decode(b"".join(p.split())) for p in pems]
    pe_blob = _pe_certificate_table(data)
    if pe_blob is not None:
        return _pkcs7_certificates(pe_blob, source)
    if data[:2] == b"MZ":
        raise CatalogInputError(f"{source}: a PE without an Authenticode signature has no certs")
    # DER: a certificate is SEQUENCE { SEQUENCE tbs, ... }; a ContentInfo is SEQUENCE { OID, ... }.
    if len(data) > 4 and data[0] == 0x30:
        if _looks_like_cert(data):
            return [_load_certificate(data, source).dump()]
        return _pkcs7_certificates(data, source)
    raise CatalogInputError(
        f"{source}: no certificate found; give a PEM/DER certificate, a catalog (.cat), a PKCS#7 "
        "(.p7b) or a signed PE"
    )


def _looks_like_cert(data: bytes) -> bool:
    """True when the outer SEQUENCE's first element is a SEQUENCE (TBSCertificate), not an OID."""
    pos = 1
    first = data[pos]
    pos += 1 + (first & 0x7F if first & 0x80 else 0)
    return pos < len(data) and data[pos] == 0x30
