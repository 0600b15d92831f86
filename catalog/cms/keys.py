"""Signing identities (certificate chain + private key) and pre-flight checks (formats.md 6.1).

Loads a PEM certificate (+ chain) and PEM/DER key, or a PFX/PKCS#12 file, from bytes (the CLI reads
the files and the password). Before anything is signed, ``preflight`` refuses what WDAC or
osslsigncode would reject later, each with an error naming the file and the remedy:
code-signing EKU, keyUsage digitalSignature, RSA 2048/3072/4096 only (WDAC signer rules are
RSA-only, MSD-RULES/MSD-CERT), validity at the signing time, key matching the certificate, and a
chain ordered leaf first with each certificate issued by the next (reordered when possible), and
that chain valid under the X.509 rules (``catalog.cms.chain``: every issuer a CA allowed to sign
certificates, path lengths, EKUs, critical extensions), with the top certificate given as anchor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from catalog.cms.chain import Purpose, eku_problem, issued_by, validate_chain, validity_problems
from catalog.errors import CatalogInputError

WDAC_RSA_SIZES = (2048, 3072, 4096)


class SigningIdentityError(CatalogInputError):
    """The certificate, key or PFX cannot sign a catalog WDAC will trust."""


class PasswordRequiredError(SigningIdentityError):
    """The key or PFX is encrypted and no password was given."""


class WrongPasswordError(SigningIdentityError):
    """The password does not decrypt the key or PFX."""


class KeyMismatchError(SigningIdentityError):
    """The private key does not belong to any given certificate."""


class UnsupportedKeyError(SigningIdentityError):
    """Not an RSA key of 2048, 3072 or 4096 bits."""


class CertificateUsageError(SigningIdentityError):
    """The signing certificate lacks the codeSigning EKU or the digitalSignature key usage."""


class CertificateValidityError(SigningIdentityError):
    """The signing time is outside a certificate's validity period."""


class ChainOrderError(SigningIdentityError):
    """The chain cannot be ordered leaf first, each certificate issued by the next."""


class ChainValidationError(SigningIdentityError):
    """The given chain breaks an X.509 rule (an issuer that is not a CA, path length, ...)."""


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """A leaf certificate, its issuers (leaf's issuer first) and the RSA private key."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    private_key: rsa.RSAPrivateKey
    source: str
    """Where the identity came from (file names), for messages."""

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def chain_der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)

    @property
    def backend(self) -> str:
        """The ``signer.Signer`` backend name: a key file."""
        return "file"

    @property
    def requires_timestamp(self) -> bool:
        return False

    def sign(self, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 over SHA256(data): deterministic, what Authenticode uses."""
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def sign_digest(self, digest: bytes, hash_name: str = "sha256") -> bytes:
        """RSASSA-PKCS1-v1_5 over an already computed digest (``signer.Signer``)."""
        algorithm: dict[str, type[hashes.HashAlgorithm]] = {
            "sha256": hashes.SHA256,
            "sha384": hashes.SHA384,
            "sha512": hashes.SHA512,
        }
        if hash_name not in algorithm:
            raise SigningIdentityError(f"{self.source}: unsupported digest {hash_name!r}")
        return self.private_key.sign(
            digest, padding.PKCS1v15(), utils.Prehashed(algorithm[hash_name]())
        )


def load_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle or one DER certificate."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise SigningIdentityError(
            f"{source}: no readable certificate ({exc}); give a PEM or DER X.509 certificate"
        ) from exc
    return certs


def _load_key(data: bytes, password: bytes | None, source: str) -> object:
    loader = (
        serialization.load_pem_private_key
        if b"-----BEGIN" in data
        else serialization.load_der_private_key
    )
    try:
        return loader(data, password)
    except TypeError as exc:
        # cryptography raises TypeError for "encrypted but no password" and the converse.
        if password is None:
            raise PasswordRequiredError(
                f"{source}: the private key is encrypted; name an environment variable holding "
                "its password with --password-env, or run interactively to be prompted"
            ) from exc
        raise SigningIdentityError(
            f"{source}: a password was given but the key is not encrypted; drop --password-env"
        ) from exc
    except ValueError as exc:
        if password is not None and b"ENCRYPTED" in data:
            raise WrongPasswordError(
                f"{source}: the password does not decrypt the private key; check the variable "
                "named by --password-env"
            ) from exc
        raise SigningIdentityError(
            f"{source}: not a readable private key ({exc}); give a PEM or DER RSA key"
        ) from exc


def _rsa_key(key: object, source: str) -> rsa.RSAPrivateKey:
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raise UnsupportedKeyError(
            f"{source}: ECDSA key ({key.curve.name}); WDAC signer rules only work with RSA "
            "(2048/3072/4096 bits) - issue an RSA code-signing certificate"
        )
    raise UnsupportedKeyError(
        f"{source}: {type(key).__name__} is not an RSA key; WDAC signer rules need RSA "
        "2048/3072/4096"
    )


def _same_key(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
    pub = cert.public_key()
    return isinstance(pub, rsa.RSAPublicKey) and pub.public_numbers() == (
        key.public_key().public_numbers()
    )


def _order_chain(
    certs: Sequence[x509.Certificate], key: rsa.RSAPrivateKey, source: str
) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """Pick the certificate of ``key`` as leaf and order the rest leaf's issuer first."""
    unique: list[x509.Certificate] = []
    for c in certs:
        if c not in unique:
            unique.append(c)
    leaves = [c for c in unique if _same_key(c, key)]
    if not leaves:
        subjects = "; ".join(c.subject.rfc4514_string() for c in unique) or "none"
        raise KeyMismatchError(
            f"{source}: the private key matches none of the certificates ({subjects}); give the "
            "key that belongs to the signing certificate"
        )
    leaf = leaves[0]
    return leaf, order_chain(
        leaf, unique, source, advice="Give only the leaf and its issuing CA(s)"
    )


def order_chain(
    leaf: x509.Certificate,
    certs: Sequence[x509.Certificate],
    source: str,
    *,
    advice: str = "Give only the leaf's issuing CA(s) with --chain",
) -> tuple[x509.Certificate, ...]:
    """``certs`` (leaf and root may be among them) ordered leaf's issuer first; strays refused
    (``ChainOrderError`` naming them, then ``advice``)."""
    rest = [c for i, c in enumerate(certs) if c != leaf and c not in certs[:i]]
    chain: list[x509.Certificate] = []
    current = leaf
    while rest:
        parent = next((c for c in rest if issued_by(current, c)), None)
        if parent is None:
            break
        chain.append(parent)
        rest.remove(parent)
        if parent.issuer == parent.subject:
            break  # a root ends the path
        current = parent
    if rest:
        stray = "; ".join(c.subject.rfc4514_string() for c in rest)
        raise ChainOrderError(
            f"{source}: these certificates are not in the signing certificate's issuer chain: "
            f"{stray}. {advice}"
        )
    return tuple(chain)


def identity_from_pem(
    cert_pem: bytes,
    key_data: bytes,
    *,
    chain_pem: bytes | None = None,
    password: bytes | None = None,
    cert_source: str = "certificate",
    key_source: str = "key",
    chain_source: str = "chain",
) -> SigningIdentity:
    """Build an identity from a certificate (+ chain) file and a key file's bytes."""
    certs = load_certificates(cert_pem, cert_source)
    if chain_pem is not None:
        certs += load_certificates(chain_pem, chain_source)
    key = _rsa_key(_load_key(key_data, password, key_source), key_source)
    source = f"{cert_source} + {key_source}"
    leaf, chain = _order_chain(certs, key, source)
    return SigningIdentity(leaf, chain, key, source)


def identity_from_pfx(
    pfx: bytes,
    *,
    password: bytes | None = None,
    source: str = "pfx",
    chain_pem: bytes | None = None,
    chain_source: str = "chain",
) -> SigningIdentity:
    """Build an identity from PKCS#12 bytes (key + certificate + optional CA certificates)."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(pfx, password)
    except ValueError as exc:
        text = str(exc).lower()
        if "password" in text or "mac" in text or "decrypt" in text:
            if password is None:
                raise PasswordRequiredError(
                    f"{source}: the PFX is password protected; name an environment variable "
                    "holding the password with --password-env, or run interactively"
                ) from exc
            raise WrongPasswordError(
                f"{source}: wrong PFX password; check the variable named by --password-env"
            ) from exc
        raise SigningIdentityError(
            f"{source}: not a readable PFX/PKCS#12 file ({exc}); export it again with its "
            "private key"
        ) from exc
    if key is None or cert is None:
        raise SigningIdentityError(
            f"{source}: the PFX holds no private key and certificate pair; export it with the "
            "private key included"
        )
    rsa_key = _rsa_key(key, source)
    certs = [cert, *extra]
    if chain_pem is not None:
        certs += load_certificates(chain_pem, chain_source)
    leaf, chain = _order_chain(certs, rsa_key, source)
    return SigningIdentity(leaf, chain, rsa_key, source)


def preflight(identity: SigningIdentity, signing_time: dt.datetime) -> None:
    """Refuse an identity WDAC or Authenticode verifiers would reject (formats.md 6.1)."""
    source = identity.source
    leaf = identity.certificate
    bits = identity.private_key.key_size
    if bits not in WDAC_RSA_SIZES:
        raise UnsupportedKeyError(
            f"{source}: RSA {bits}-bit key; WDAC accepts RSA 2048, 3072 or 4096 only - issue a "
            "new code-signing certificate with one of those sizes"
        )
    check_signing_certificate(
        leaf, identity.chain, identity.certificate_der, identity.chain_der, signing_time, source
    )


def check_signing_certificate(
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    certificate_der: bytes,
    chain_der: Sequence[bytes],
    signing_time: dt.datetime,
    source: str,
) -> None:
    """The certificate checks every signing backend shares (formats.md 6.1): Code Signing EKU,
    a key usage allowing digital signatures, validity at ``signing_time`` and a valid chain."""
    name = leaf.subject.rfc4514_string()
    if eku_problem(leaf, ExtendedKeyUsageOID.CODE_SIGNING) is not None:
        raise CertificateUsageError(
            f"{source}: certificate {name!r} has no Code Signing extended key usage "
            "(1.3.6.1.5.5.7.3.3); Windows and osslsigncode reject catalogs signed with it - "
            "issue a code-signing certificate"
        )
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if ku is not None and not ku.digital_signature:
        raise CertificateUsageError(
            f"{source}: certificate {name!r} has a key usage without digitalSignature; issue "
            "one that allows digital signatures"
        )
    problems = validity_problems((leaf, *chain), signing_time)
    if problems:
        raise CertificateValidityError(f"{source}: {problems[0]}; renew it or check the clock")
    if chain:
        # The root may be absent from what the signer holds: the top certificate given stands in
        # as the anchor, so every issuer below it is still held to the CA rules.
        ders = list(chain_der)
        verdict = validate_chain(
            certificate_der, ders[:-1], ders[-1:], signing_time, Purpose.CODE_SIGNING
        )
        if not verdict.ok:
            raise ChainValidationError(
                f"{source}: the certificate chain {' <- '.join(verdict.chain[::-1])} is not a "
                f"valid code-signing chain: {'; '.join(verdict.problems)}. Windows and "
                "osslsigncode would reject the signature; sign with a certificate issued by a CA"
            )
