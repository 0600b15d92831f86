"""Signer rules from certificates: trust a catalog's (or a certificate's) signer in a WDAC policy.

formats.md 6.2 and sipolicy.md 2.2: a ``Signer`` names a CA by the TBS hash of its certificate
(``CertRoot Type="TBS"``) and, at the Publisher level, the leaf's common name (``CertPublisher``).
Levels (Microsoft's rule-level table): Publisher = issuing CA + leaf CN; PcaCertificate = issuing
CA; LeafCertificate = the leaf itself. The rule is about one certificate: a signed catalog's signer
(its SignerInfo names it by issuer and serial number; the issuers are found by name among the
embedded certificates), or the FIRST certificate of a certificate file, the one the user means (as
ConfigCI's Add-SignerRule trusts the certificate of the .cer it is given; Microsoft's Package
Inspector page: export the leaf, "or the intermediate or root issuer certificate" to trust that
instead). When that certificate is itself a CA (basicConstraints cA), PcaCertificate and
LeafCertificate name it, not its issuer; Publisher needs a signing (leaf) certificate.
WDAC signer rules work with RSA only, and TBS values are 20/32/48/64-byte digests (SHA-1/2), so
ECDSA signers and other TBS algorithms are refused instead of producing a rule that never matches.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass

from catalog import CatalogInputError
from catalog.asn1 import CertificateInfo, certificate_info, certificates_in, tbs_hash_of
from catalog.cms import find_certificate, signer_reference
from catalog.ctl import parse_catalog
from policy.errors import PolicyInputError
from policy.model import CertRoot, Signer

_WDAC_TBS_HASHES = ("sha1", "sha256", "sha384", "sha512")


class SignerLevel(enum.Enum):
    PUBLISHER = "Publisher"
    PCA_CERTIFICATE = "PcaCertificate"
    LEAF_CERTIFICATE = "LeafCertificate"

    @classmethod
    def parse(cls, text: str) -> SignerLevel:
        for level in cls:
            if level.value.lower() == text.strip().lower():
                return level
        raise PolicyInputError(
            f"unknown signer level {text!r}; use Publisher, PcaCertificate or LeafCertificate"
        )


@dataclass(frozen=True, slots=True)
class SignerChain:
    """The certificate a rule is about (``leaf``: a catalog's signer, or the first certificate of
    a file) and the certificates that issued it, its issuer first."""

    leaf: bytes
    issuers: tuple[bytes, ...]
    source: str


def _cert(der: bytes, source: str) -> CertificateInfo:
    try:
        return certificate_info(der, source)
    except CatalogInputError as exc:
        raise PolicyInputError(str(exc)) from None


def subject_cn(cert: CertificateInfo) -> str:
    """The subject's (first) common name, ``""`` when it has none: what CertPublisher names."""
    return cert.common_name


def _common_name(cert: CertificateInfo) -> str:
    return subject_cn(cert) or cert.subject


def _build_chain(leaf: bytes, pool: list[bytes], source: str) -> SignerChain:
    issuers: list[bytes] = []
    current = _cert(leaf, source)
    seen = {leaf}
    while not current.self_issued:
        parent = next(
            (
                der
                for der in pool
                if der not in seen and _cert(der, source).subject_key == current.issuer_key
            ),
            None,
        )
        if parent is None:
            break
        issuers.append(parent)
        seen.add(parent)
        current = _cert(parent, source)
    return SignerChain(leaf, tuple(issuers), source)


def chain_from_catalog(data: bytes, source: str) -> SignerChain:
    """The signer chain of a signed catalog (or any PKCS#7 SignedData with one SignerInfo)."""
    parsed = parse_catalog(data, source)
    if not parsed.signer_infos:
        raise PolicyInputError(
            f"{source}: the catalog has no signature, so there is no signer to trust; sign it "
            "first (inspector sign) or give the signing certificate instead"
        )
    try:
        ref = signer_reference(parsed.signer_infos[0])
    except CatalogInputError as exc:
        raise PolicyInputError(f"{source}: {exc}") from None
    pool = list(parsed.certificates)
    leaf = find_certificate(pool, ref.issuer, ref.serial)
    if leaf is not None:
        return _build_chain(leaf, pool, source)
    raise PolicyInputError(
        f"{source}: the signing certificate is not embedded in the catalog; give it (with its "
        "issuing CA) as a PEM file instead"
    )


def chain_from_certificates(data: bytes, source: str) -> SignerChain:
    """A PEM bundle / DER certificate / PKCS#7: the first certificate is the one the rule names;
    the others are only searched for its issuers."""
    ders = certificates_in(data, source)
    if not ders:
        raise PolicyInputError(f"{source}: no certificate found")
    for d in ders:
        _cert(d, source)
    return _build_chain(ders[0], ders, source)


def load_signer_chain(data: bytes, source: str) -> SignerChain:
    """A catalog (.cat: its signature's chain) or certificate file, by content."""
    if re.search(rb"-----BEGIN", data[:4096]) is None and data[:1] == b"\x30":
        try:
            return chain_from_catalog(data, source)
        except PolicyInputError:
            raise
        except Exception:  # noqa: BLE001, S110 - not a catalog: try it as certificates below
            pass
    return chain_from_certificates(data, source)


def _tbs(der: bytes, source: str) -> str:
    value = tbs_hash_of(der, source)
    if value.note is not None or value.hash_algorithm not in _WDAC_TBS_HASHES:
        raise PolicyInputError(
            f"{source}: certificate {value.subject!r} is signed with {value.signature_algorithm}; "
            "WDAC TBS values are SHA-1/SHA-256/SHA-384/SHA-512 digests of RSA or ECDSA-signed "
            "certificates, so no rule could match it - use a CA with a standard signature"
        )
    return value.tbs_hash


def _require_rsa(der: bytes, source: str) -> None:
    cert = _cert(der, source)
    algorithm = cert.key_algorithm
    if algorithm != "rsa":
        raise PolicyInputError(
            f"{source}: the signing certificate {_common_name(cert)!r} has a {algorithm.upper()} "
            "key; WDAC signer rules only work with RSA (2048-4096 bit) signatures - sign the "
            "catalog with an RSA certificate"
        )


def signer_rule(chain: SignerChain, level: SignerLevel, signer_id: str) -> Signer:
    """The ``Signer`` element for ``chain`` at ``level``."""
    leaf = _cert(chain.leaf, chain.source)
    if leaf.ca:
        # A CA certificate given on purpose: the rule trusts that CA (PcaCertificate) or that very
        # certificate (LeafCertificate), which is the same value; never its issuer or root.
        if level is SignerLevel.PUBLISHER:
            raise PolicyInputError(
                f"{chain.source}: the first certificate, {_common_name(leaf)!r}, is a CA "
                "certificate; a Publisher rule names the issuing CA and the signing certificate's "
                "CN, so put the signing (leaf) certificate first, or use level PcaCertificate to "
                "trust every certificate this CA issues"
            )
        return Signer(
            id=signer_id,
            name=_common_name(leaf),
            cert_root=CertRoot("TBS", _tbs(chain.leaf, chain.source)),
        )
    _require_rsa(chain.leaf, chain.source)
    if level is SignerLevel.LEAF_CERTIFICATE:
        return Signer(
            id=signer_id,
            name=_common_name(leaf),
            cert_root=CertRoot("TBS", _tbs(chain.leaf, chain.source)),
        )
    if chain.issuers:
        issuer_der = chain.issuers[0]
    elif leaf.self_issued:
        issuer_der = chain.leaf  # a self-signed leaf is its own issuing CA
    else:
        raise PolicyInputError(
            f"{chain.source}: the issuing CA of {_common_name(leaf)!r} "
            f"({leaf.issuer}) is not included; {level.value} rules need its TBS "
            "hash - embed the CA certificate in the catalog, pass a PEM bundle holding the leaf "
            "first and then its CA, or use level LeafCertificate to trust the leaf alone"
        )
    issuer = _cert(issuer_der, chain.source)
    return Signer(
        id=signer_id,
        name=_common_name(issuer),
        cert_root=CertRoot("TBS", _tbs(issuer_der, chain.source)),
        cert_publisher=_common_name(leaf) if level is SignerLevel.PUBLISHER else None,
    )


def stable_signer_id(signer: Signer, prefix: str = "ID_SIGNER_S_") -> str:
    """An ID derived from what the signer trusts, so regenerating a policy keeps its IDs."""
    material = f"{signer.cert_root.value.upper()}|{signer.cert_publisher or ''}".encode()
    return prefix + hashlib.sha256(material).hexdigest()[:12].upper()
