"""The signing seam: one ``Signer`` interface for every place a private key lives (formats.md 6.1).

Catalog and policy signing only need two things from a key: the certificate chain that goes into
the SignedData, and an RSASSA-PKCS1-v1_5 signature over a SHA-256 digest. ``Signer`` is that
interface. The file backend (``keys.SigningIdentity``, a PEM/PFX key in memory) implements it
directly; every other backend (PKCS#11 token, Azure Key Vault, Trusted Signing, an external
command) hands a ``sign_digest`` function to ``RemoteSigner``, which checks each signature it gets
back against the certificate before it is used: a token, service or program that returns a
signature the certificate does not verify is refused (exit 1), never embedded.

``preflight_signer`` runs the checks of ``keys.preflight`` (RSA 2048/3072/4096, code-signing EKU,
digitalSignature, validity) from the certificate alone, then makes one test signature: a key that
does not belong to the certificate is found before anything is signed. ECDSA certificates are
refused, as for files (WDAC signer rules are RSA-only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from catalog.cms.keys import (
    WDAC_RSA_SIZES,
    SigningIdentity,
    UnsupportedKeyError,
    check_signing_certificate,
    load_certificates,
    preflight,
)
from catalog.errors import CatalogEnvironmentError, CatalogInputError, CatalogVerificationError

HASH_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# DER DigestInfo prefixes (RFC 8017 9.2 note 1): what a raw RSA PKCS#1 v1.5 operation signs.
DIGEST_INFO_PREFIX = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
KEY_CHECK_DIGEST = hashlib.sha256(b"inspector: does this key belong to the certificate?").digest()


class SignerEnvironmentError(CatalogEnvironmentError):
    """A key store failed: token or library missing, wrong PIN, service unreachable or silent."""


class SignerInputError(CatalogInputError):
    """A --key / --cert / --metadata value cannot be understood."""


class SignerVerificationError(CatalogVerificationError):
    """A signature from the key store does not verify with the certificate (wrong key or bad
    service)."""


class Signer(Protocol):
    """A certificate chain and a key that signs SHA-256 digests (RSA PKCS#1 v1.5)."""

    @property
    def backend(self) -> str:
        """``file``, ``pkcs11``, ``azure-keyvault``, ``trusted-signing`` or ``command``."""
        ...

    @property
    def source(self) -> str:
        """Where the key lives, for messages (never a secret)."""
        ...

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The leaf's issuers, leaf's issuer first."""
        ...

    @property
    def certificate_der(self) -> bytes: ...

    @property
    def chain_der(self) -> tuple[bytes, ...]: ...

    @property
    def requires_timestamp(self) -> bool:
        """Short-lived or cloud certificates: refuse to sign without an RFC 3161 timestamp."""
        ...

    def sign_digest(self, digest: bytes, hash_name: str = "sha256") -> bytes:
        """RSASSA-PKCS1-v1_5 signature over an already computed digest."""
        ...

    def sign(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 signature over SHA256(data)."""
        ...


DigestOperation = Callable[[bytes, str], bytes]
"""The backend's raw operation: (digest, hash name) -> signature bytes."""


def check_digest(digest: bytes, hash_name: str, backend: str) -> None:
    size = HASH_SIZES.get(hash_name)
    if size is None:
        raise SignerInputError(f"{backend}: unsupported digest algorithm {hash_name!r}")
    if len(digest) != size:
        raise SignerInputError(
            f"{backend}: a {hash_name} digest is {size} bytes, got {len(digest)}; this is a bug"
        )


def verify_digest_signature(
    certificate: x509.Certificate, signature: bytes, digest: bytes, hash_name: str
) -> bool:
    """Whether ``signature`` is the certificate key's PKCS#1 v1.5 signature of ``digest``."""
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        public_key.verify(
            signature, digest, padding.PKCS1v15(), utils.Prehashed(_HASHES[hash_name]())
        )
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class RemoteSigner:
    """A ``Signer`` whose key is elsewhere: every signature is checked before it is returned."""

    backend: str
    source: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    operation: DigestOperation
    requires_timestamp: bool = False
    fix: str = "check that the key belongs to the certificate"
    """What to tell the user when a signature does not verify."""

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def chain_der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)

    def sign_digest(self, digest: bytes, hash_name: str = "sha256") -> bytes:
        check_digest(digest, hash_name, self.backend)
        signature = self.operation(digest, hash_name)
        if not verify_digest_signature(self.certificate, signature, digest, hash_name):
            raise SignerVerificationError(
                f"{self.backend} ({self.source}): the signature it returned does not verify with "
                f"certificate {self.certificate.subject.rfc4514_string()!r}; {self.fix}"
            )
        return signature

    def sign(self, data: bytes) -> bytes:
        return self.sign_digest(hashlib.sha256(data).digest(), "sha256")


def load_chain(data: bytes | None, source: str) -> tuple[x509.Certificate, ...]:
    """The CA certificates of a ``--chain`` file (PEM bundle or DER); empty without one."""
    return () if data is None else tuple(load_certificates(data, source))


def certificate_ekus(signer: Signer) -> frozenset[str]:
    """Dotted OIDs of the signing certificate's extended key usages (empty when it has none)."""
    try:
        eku = signer.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(oid.dotted_string for oid in eku)


def _check_certificate(signer: Signer, when: dt.datetime) -> None:
    source = f"{signer.backend} ({signer.source})"
    leaf = signer.certificate
    name = leaf.subject.rfc4514_string()
    public_key = leaf.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        raise UnsupportedKeyError(
            f"{source}: certificate {name!r} has an ECDSA key ({public_key.curve.name}); WDAC "
            "signer rules only work with RSA (2048/3072/4096 bits) - use an RSA key"
        )
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UnsupportedKeyError(f"{source}: certificate {name!r} does not hold an RSA key")
    if public_key.key_size not in WDAC_RSA_SIZES:
        raise UnsupportedKeyError(
            f"{source}: RSA {public_key.key_size}-bit key; WDAC accepts RSA 2048, 3072 or 4096"
        )
    check_signing_certificate(
        leaf, signer.chain, signer.certificate_der, signer.chain_der, when, source
    )


def preflight_signer(signer: Signer, when: dt.datetime) -> None:
    """Refuse a signer WDAC or Authenticode would reject, before anything is signed.

    Files keep ``keys.preflight`` exactly; other backends get the same certificate checks and a
    test signature that must verify with the certificate (key/certificate mismatch, exit 1).
    """
    if isinstance(signer, SigningIdentity):
        preflight(signer, when)
        return
    _check_certificate(signer, when)
    try:
        signer.sign_digest(KEY_CHECK_DIGEST, "sha256")
    except SignerVerificationError as exc:
        raise SignerVerificationError(
            f"{signer.backend} ({signer.source}): the key does not belong to certificate "
            f"{signer.certificate.subject.rfc4514_string()!r} (a test signature did not verify); "
            "give the certificate of that key (--cert), or the key of that certificate"
        ) from exc


def require_timestamp(signer: Signer, timestamped: bool, allow_unstamped: bool) -> None:
    """Cloud keys sign with short-lived certificates: refuse to sign them without a timestamp."""
    if signer.requires_timestamp and not timestamped and not allow_unstamped:
        raise SignerInputError(
            f"{signer.backend}: signatures from this key need an RFC 3161 timestamp (its "
            "certificate may live only days); add --timestamp URL (e.g. "
            "http://timestamp.acs.microsoft.com), or --no-timestamp-required to sign without"
        )
