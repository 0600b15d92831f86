"""Reading PKCS#7 / CMS and RFC 3161 structures with asn1crypto (formats.md 6.1).

The one place outside ``catalog.asn1.x509`` that decodes with asn1crypto: SignerInfos (which
certificate signed, with which algorithms, over which authenticated attributes), RFC 3161
TimeStampReq/TSTInfo/PKIStatusInfo, and the SignedData version. Writers that must be byte-stable
use ``catalog.asn1.der`` instead; signatures are checked in ``catalog.cms`` (cryptography).
Every reader raises ``CatalogInputError`` on malformed input; callers say what it means for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, cms, core, tsp, x509

from catalog.asn1.der import der_sequence
from catalog.asn1.oids import OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_TIME
from catalog.errors import CatalogInputError

_DECODE_ERRORS = (ValueError, TypeError, KeyError)


@dataclass(frozen=True, slots=True)
class SignerInfoFields:
    """What one SignerInfo says, decoded (nothing verified)."""

    issuer: bytes
    """DER of the signer certificate's issuer Name, as stored in issuerAndSerialNumber."""
    serial: int
    digest_algorithm: str
    """Dotted OID of digestAlgorithm."""
    signature_algorithm: str
    """Dotted OID of digestEncryptionAlgorithm."""
    encrypted_digest: bytes
    signed_attributes: bytes
    """The authenticated attributes re-tagged as a SET (0x31): the bytes the signature covers."""
    content_types: tuple[str, ...]
    """Dotted OIDs of every contentType attribute value."""
    message_digests: tuple[bytes, ...]
    signing_times: tuple[dt.datetime, ...]
    unsigned_attributes: tuple[tuple[str, tuple[bytes, ...]], ...]
    """(dotted OID, DER values) of each unauthenticated attribute (timestamps live here)."""


def read_signer_info(der: bytes) -> SignerInfoFields:
    """Decode a SignerInfo that names its certificate by issuer and serial number (Authenticode)."""
    try:
        si = cms.SignerInfo.load(der)
        sid = si["sid"]
        if sid.name != "issuer_and_serial_number":
            raise CatalogInputError(
                "the SignerInfo names its certificate by key id; only issuer and serial number "
                "(PKCS#7 v1.5, Authenticode) is supported"
            )
        signed_attrs = si["signed_attrs"]
        attrs: dict[str, list[Any]] = {}
        signed = b""
        if not isinstance(signed_attrs, core.Void):
            for attr in signed_attrs:
                attrs.setdefault(attr["type"].dotted, []).extend(attr["values"])
            signed = b"\x31" + signed_attrs.dump()[1:]
        unsigned: list[tuple[str, tuple[bytes, ...]]] = []
        if not isinstance(si["unsigned_attrs"], core.Void):
            for attr in si["unsigned_attrs"]:
                unsigned.append((attr["type"].dotted, tuple(v.dump() for v in attr["values"])))
        return SignerInfoFields(
            issuer=sid.chosen["issuer"].dump(),
            serial=sid.chosen["serial_number"].native,
            digest_algorithm=si["digest_algorithm"]["algorithm"].dotted,
            signature_algorithm=si["signature_algorithm"]["algorithm"].dotted,
            encrypted_digest=si["signature"].native,
            signed_attributes=signed,
            content_types=tuple(v.dotted for v in attrs.get(OID_CONTENT_TYPE, [])),
            message_digests=tuple(bytes(v.native) for v in attrs.get(OID_MESSAGE_DIGEST, [])),
            signing_times=tuple(v.native for v in attrs.get(OID_SIGNING_TIME, [])),
            unsigned_attributes=tuple(unsigned),
        )
    except _DECODE_ERRORS as exc:
        raise CatalogInputError(f"unreadable SignerInfo ({exc})") from None


def issuer_and_serial_of(cert_der: bytes) -> tuple[bytes, int]:
    """(issuer Name DER as stored, serial number) of a certificate."""
    try:
        tbs = x509.Certificate.load(cert_der)["tbs_certificate"]
        return tbs["issuer"].dump(), tbs["serial_number"].native
    except _DECODE_ERRORS as exc:
        raise CatalogInputError(f"unreadable certificate ({exc})") from None


def issuer_and_serial_number(cert_der: bytes) -> bytes:
    """IssuerAndSerialNumber of a certificate, reusing its own issuer Name and serial bytes."""
    try:
        tbs = x509.Certificate.load(cert_der)["tbs_certificate"]
        return der_sequence(tbs["issuer"].dump(), tbs["serial_number"].dump())
    except _DECODE_ERRORS as exc:
        raise CatalogInputError(f"unreadable certificate ({exc})") from None


def signed_data_version(der: bytes) -> int:
    """The version INTEGER of a ContentInfo(SignedData)."""
    try:
        native = str(cms.ContentInfo.load(der)["content"]["version"].native)  # "v1", "v3", ...
    except _DECODE_ERRORS as exc:
        raise CatalogInputError(f"unreadable SignedData ({exc})") from None
    return int(native.lstrip("v"))


# --- RFC 3161 ------------------------------------------------------------------------------------


def timestamp_request(data: bytes, nonce: int, hash_algorithm: str = "sha256") -> bytes:
    """DER TimeStampReq for ``data`` (the imprint is its hash) asking for the TSA certificate."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": hash_algorithm}),
                "hashed_message": hashlib.new(hash_algorithm, data).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    encoded: bytes = request.dump()
    return encoded


@dataclass(frozen=True, slots=True)
class TstInfo:
    """The fields of a TSTInfo a verifier compares."""

    hash_algorithm: str
    """hashlib-style name of the message imprint's hash (``sha256``)."""
    hashed_message: bytes
    gen_time: dt.datetime
    serial_number: int
    nonce: int | None


def read_tst_info(der: bytes) -> TstInfo:
    try:
        info = tsp.TSTInfo.load(der)
        imprint = info["message_imprint"]
        return TstInfo(
            hash_algorithm=imprint["hash_algorithm"]["algorithm"].native,
            hashed_message=imprint["hashed_message"].native,
            gen_time=info["gen_time"].native,
            serial_number=info["serial_number"].native,
            nonce=info["nonce"].native,
        )
    except _DECODE_ERRORS as exc:
        raise CatalogInputError(f"unreadable TSTInfo ({exc})") from None


def read_pki_status(der: bytes) -> tuple[str, tuple[str, ...]]:
    """(status name such as ``granted``, status strings) of a PKIStatusInfo."""
    try:
        status_info = tsp.PKIStatusInfo.load(der)
        status = str(status_info["status"].native)
        text = status_info["status_string"].native
    except _DECODE_ERRORS as exc:
        raise CatalogInputError(f"unreadable PKIStatusInfo ({exc})") from None
    return status, tuple(text or ())
