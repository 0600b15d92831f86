"""RFC 3161 timestamping of a catalog signature (formats.md 6.1, unsigned attribute 3.3.1).

Windows catalogs carry an RFC 3161 TimeStampToken as the unauthenticated attribute
``1.3.6.1.4.1.311.3.3.1``; its message imprint is the hash of the SignerInfo's encryptedDigest
(the signature value bytes). This module builds the TimeStampReq (SHA256 imprint, nonce,
certReq=TRUE), sends it through an injectable transport (HTTP POST
``application/timestamp-query`` by default), and checks the reply before it is used: PKIStatus
granted, the token's own signature, the imprint, the nonce, and the TSA certificate's critical
timeStamping EKU (RFC 3161 2.3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from catalog.asn1 import (
    TAG_SEQUENCE,
    children,
    read_pki_status,
    read_tlv,
    read_tst_info,
    timestamp_request,
)
from catalog.cms.chain import eku_problem
from catalog.cms.signed_data import check_signer_info, parse_signed_data
from catalog.errors import CatalogEnvironmentError, CatalogInputError, CatalogVerificationError

OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"

Transport = Callable[[str, bytes], bytes]
"""POST ``body`` to ``url`` and return the response body (raise CatalogEnvironmentError)."""

DEFAULT_TIMEOUT = 30.0


def http_transport(url: str, body: bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The default transport: one HTTP(S) POST with the RFC 3161 media types, bounded in time."""
    if not url.lower().startswith(("http://", "https://")):
        raise CatalogEnvironmentError(f"timestamp URL {url!r} is not http(s)://; give a TSA URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise CatalogEnvironmentError(
            f"timestamp server {url} failed: {exc}; check the URL and the network, or sign "
            "without --timestamp-url"
        ) from exc


@dataclass(frozen=True, slots=True)
class TimestampInfo:
    """What a verified TimeStampToken asserts."""

    gen_time: dt.datetime
    tsa_subject: str
    tsa_certificate: bytes
    serial_number: int
    hash_algorithm: str
    token: bytes
    """The TimeStampToken (DER ContentInfo) as received."""


def build_request(data: bytes, nonce: int, hash_algorithm: str = "sha256") -> bytes:
    """DER TimeStampReq for ``data`` (the imprint is its hash) asking for the TSA certificate."""
    return timestamp_request(data, nonce, hash_algorithm)


def verify_token(
    token: bytes,
    data: bytes,
    source: str,
    nonce: int | None = None,
    extra_certificates: Sequence[bytes] = (),
) -> TimestampInfo:
    """Check a TimeStampToken over ``data``; ``CatalogVerificationError`` when anything is off."""
    parts = parse_signed_data(token, f"{source} (timestamp token)")
    if parts.content_type != OID_TST_INFO:
        raise CatalogVerificationError(
            f"{source}: timestamp token content is {parts.content_type}, not TSTInfo"
        )
    if len(parts.signer_infos) != 1:
        raise CatalogVerificationError(f"{source}: timestamp token must have one signer")
    certificates = (*parts.certificates, *extra_certificates)
    # eContent is an OCTET STRING holding the DER TSTInfo; its contents octets are what is signed.
    checked = check_signer_info(
        parts.signer_infos[0], parts.content_octets, certificates, f"{source} (timestamp)"
    )
    if checked.content_type != OID_TST_INFO:
        raise CatalogVerificationError(f"{source}: timestamp contentType attribute is not TSTInfo")
    try:
        info = read_tst_info(parts.content_octets)
    except CatalogInputError as exc:
        raise CatalogVerificationError(f"{source}: {exc}") from exc
    hash_name, hashed, token_nonce = info.hash_algorithm, info.hashed_message, info.nonce
    gen_time, serial = info.gen_time, info.serial_number
    try:
        expected = hashlib.new(hash_name, data).digest()
    except (ValueError, TypeError) as exc:
        raise CatalogVerificationError(
            f"{source}: timestamp imprint uses unsupported hash {hash_name}"
        ) from exc
    if hashed != expected:
        raise CatalogVerificationError(
            f"{source}: the timestamp's message imprint does not match the signature it stamps"
        )
    if nonce is not None and token_nonce != nonce:
        raise CatalogVerificationError(
            f"{source}: timestamp nonce {token_nonce} differs from the request's {nonce} "
            "(replayed or misrouted reply)"
        )
    cert = x509.load_der_x509_certificate(checked.certificate)
    if eku_problem(cert, ExtendedKeyUsageOID.TIME_STAMPING) is not None:
        raise CatalogVerificationError(
            f"{source}: the TSA certificate {cert.subject.rfc4514_string()!r} lacks the "
            "timeStamping extended key usage; use another timestamp server"
        )
    return TimestampInfo(
        gen_time=gen_time,
        tsa_subject=cert.subject.rfc4514_string(),
        tsa_certificate=checked.certificate,
        serial_number=serial,
        hash_algorithm=hash_name,
        token=token,
    )


def parse_response(response: bytes, data: bytes, nonce: int, source: str) -> TimestampInfo:
    """Check a TimeStampResp for ``data`` and ``nonce``; return the verified token's facts."""
    # Parsed by hand at the top level: asn1crypto's TimeStampResp insists on a token, which a
    # rejection (status only) does not carry.
    try:
        outer = read_tlv(response, 0, what="TimeStampResp")
        if outer.tag != TAG_SEQUENCE:
            raise CatalogInputError("not a SEQUENCE")
        kids = children(response, outer, what="TimeStampResp")
        if not kids:
            raise CatalogInputError("empty")
        status, status_text = read_pki_status(response[kids[0].start : kids[0].end])
    except (CatalogInputError, ValueError, TypeError, KeyError) as exc:
        raise CatalogVerificationError(
            f"{source}: the reply is not an RFC 3161 TimeStampResp ({exc}); check the URL "
            "points at a timestamp server"
        ) from exc
    if status not in ("granted", "granted_with_mods"):
        detail = f": {'; '.join(status_text)}" if status_text else ""
        raise CatalogVerificationError(f"{source}: timestamp request refused ({status}{detail})")
    if len(kids) < 2:
        raise CatalogVerificationError(f"{source}: timestamp reply granted but carries no token")
    token = response[kids[1].start : kids[1].end]
    return verify_token(token, data, source, nonce=nonce)


@dataclass(frozen=True, slots=True)
class Rfc3161Timestamper:
    """A ``pkcs7.Timestamper``: stamps a SignerInfo's encryptedDigest at ``url``."""

    url: str
    transport: Transport = http_transport
    nonce_source: Callable[[], int] = lambda: secrets.randbits(63)

    def __call__(self, encrypted_digest: bytes) -> bytes:
        nonce = self.nonce_source()
        reply = self.transport(self.url, build_request(encrypted_digest, nonce))
        return parse_response(reply, encrypted_digest, nonce, self.url).token
