"""Signer EKU conditions: ``<EKU>`` values and ``CertEKU`` references (sipolicy.md 2.2, 3.7).

A Trusted Signing certificate profile stamps each certificate with the account's customer EKU
(``1.3.6.1.4.1.311.97.…``, what ``Get-AzCodeSigningCustomerEku`` returns); a policy trusts that
account only, not every certificate of Microsoft's Trusted Signing CA, by giving the signer a
``CertEKU`` naming an ``<EKU>`` whose value is that OID. The value is NOT a DER OID: it is the
byte 0x01, one length byte, then the OID's DER body (``010A2B0601040182370A0306`` =
1.3.6.1.4.1.311.10.3.6), copied verbatim into the binary policy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from catalog.asn1 import der_oid_content
from policy.errors import PolicyInputError
from policy.model import Eku, Ref, Signer, SiPolicy

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def oid_body(oid: str) -> bytes:
    """The DER contents octets of a dotted OID (X.690 8.19)."""
    if not _OID.match(oid.strip()):
        raise PolicyInputError(f"{oid!r} is not a dotted OID such as 1.3.6.1.4.1.311.97.1")
    arcs = [int(a) for a in oid.strip().split(".")]
    if arcs[0] < 2 and arcs[1] >= 40:
        raise PolicyInputError(f"{oid}: the second arc must be below 40 under 0 and 1")
    return der_oid_content(oid.strip())  # valid by the checks above: no ValueError


def eku_value(oid: str) -> str:
    """The ``<EKU Value>`` hex for ``oid``: 01, length, OID body (upper case, as Microsoft's)."""
    body = oid_body(oid)
    if len(body) > 255:
        raise PolicyInputError(f"{oid}: too long for an EKU value (over 255 bytes)")
    return (bytes((1, len(body))) + body).hex().upper()


def eku_oid(value: str) -> str | None:
    """The dotted OID of an ``<EKU Value>``; None when it is not in the 01-length-body form."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    if len(raw) < 3 or raw[0] != 1 or raw[1] != len(raw) - 2:
        return None
    arcs: list[int] = []
    current = 0
    for byte in raw[2:]:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    if not arcs or raw[-1] & 0x80:
        return None
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def signer_ekus(policy: SiPolicy, signer: Signer) -> tuple[str, ...]:
    """The dotted OIDs a signer's CertEKU references demand (unreadable values as their hex)."""
    by_id = {e.id: e for e in policy.ekus or ()}
    out = []
    for ref in signer.cert_ekus:
        eku = by_id.get(ref.id)
        if eku is not None:
            out.append(eku_oid(eku.value) or eku.value)
    return tuple(out)


def with_signer_eku(policy: SiPolicy, signer: Signer, oid: str) -> tuple[SiPolicy, Signer]:
    """Add (or reuse) the ``<EKU>`` for ``oid`` and make ``signer`` require it (a CertEKU).

    The signer's ID gains the EKU in its derivation, so the same certificate trusted with and
    without the EKU condition gives two distinct signers.
    """
    value = eku_value(oid)
    ekus = list(policy.ekus or ())
    existing = next((e for e in ekus if e.value.upper() == value), None)
    if existing is None:
        eku_id = "ID_EKU_E_" + hashlib.sha256(value.encode()).hexdigest()[:12].upper()
        existing = Eku(eku_id, value, friendly_name=oid.strip())
        ekus.append(existing)
    head, _, tail = signer.id.rpartition("_")
    digest = hashlib.sha256(f"{tail}|{value}".encode()).hexdigest()[:12].upper()
    updated = replace(
        signer, id=f"{head}_{digest}" if head else signer.id, cert_ekus=(Ref(existing.id),)
    )
    return replace(policy, ekus=tuple(ekus)), updated
