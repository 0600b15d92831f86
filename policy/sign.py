"""Signed policies: wrap a binary policy in PKCS#7 SignedData, and unwrap/verify one.

sipolicy.md section 6 and trap 10: ContentInfo(signedData) with SignedData version 1, content type
1.3.6.1.4.1.311.79.1, the raw policy as an OCTET STRING eContent (``signtool sign -p7co
1.3.6.1.4.1.311.79.1`` with the content embedded), RSA 2048/3072/4096 with SHA-256,
IssuerAndSerialNumber. The SignedData assembly itself is
``catalog.cms.signed_data`` (generic over the content type). Before signing,
``preflight_policy_signing`` refuses what would brick an update path: a policy that still
carries "Enabled:Unsigned System Integrity Policy", one without an UpdatePolicySigner matching
the signing certificate, or certificate names in UTF8String;
``preflight_supplemental_signing`` refuses a supplemental policy whose base does not list the
signing certificate among its SupplementalPolicySigners.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from catalog import CatalogInputError, CatalogVerificationError
from catalog.asn1 import (
    TAG_OCTET_STRING,
    CertificateInfo,
    certificate_info,
    der_octet_string,
    read_tlv,
    signed_data_version,
    tbs_hash_of,
)
from catalog.cms import (
    OID_SIPOLICY,
    SignOptions,
    Timestamper,
    build_signed_data,
    certificate_ekus,
    check_signer_info,
    content_info_for,
    parse_signed_data,
)
from catalog.cms import KeySigner as SigningIdentity
from policy.eku import signer_ekus
from policy.errors import PolicyInputError, PolicyVerificationError
from policy.model import Signer, SiPolicy
from policy.options import UNSIGNED_OPTION
from policy.signers import subject_cn
from policy.validate import same_guid


def is_signed(data: bytes) -> bool:
    """A raw policy starts with its format version (7, 8, ...); PKCS#7 with 0x30 (trap 10)."""
    return data[:1] == b"\x30"


def _utf8_names(cert: CertificateInfo) -> list[str]:
    return list(cert.utf8_name_fields)


def preflight_policy_signing(policy: SiPolicy, identity: SigningIdentity) -> None:
    """Refuse to sign a policy that Windows would reject or that could never be updated."""
    if UNSIGNED_OPTION in policy.options:
        raise PolicyInputError(
            f"the policy still has option {UNSIGNED_OPTION!r}; remove it (rule option 6) before "
            "signing, or Windows treats the signed policy as unsigned"
        )
    cert = _SigningCert(identity)
    utf8 = _utf8_names(cert.leaf)
    if utf8:
        raise PolicyInputError(
            f"{identity.source}: certificate name fields {', '.join(utf8)} are UTF8String; "
            "Windows rejects signed policies from such certificates - reissue it with "
            "PrintableString names (openssl: -utf8 off, string_mask = default)"
        )
    signers = {s.id: s for s in policy.signers or ()}
    updaters = [signers[r.id] for r in policy.update_policy_signers or () if r.id in signers]
    if not updaters:
        raise PolicyInputError(
            "the policy has no UpdatePolicySigners: once deployed signed it could never be "
            "replaced; add the signing certificate's signer as an UpdatePolicySigner first"
        )
    if any(cert.accepted_by(s) and not cert.missing_ekus(policy, s) for s in updaters):
        return
    _refuse_missing_eku(cert, policy, updaters, "UpdatePolicySigner")
    raise PolicyInputError(_no_matching_signer(cert, updaters))


def _no_matching_signer(cert: _SigningCert, updaters: list[Signer]) -> str:
    """Say what the policy trusts, which TBS values would accept this certificate, what is
    missing, and the command that adds it."""
    cn = cert.common_name
    leaf_tbs, _ = cert.tbs_values
    trusted = "; ".join(
        f"{s.id} {s.name!r} ({s.cert_root.type} {s.cert_root.value}"
        + (f", publisher {s.cert_publisher!r})" if s.cert_publisher is not None else ")")
        for s in updaters
    )
    accepted = [f"{leaf_tbs} (the certificate itself, level LeafCertificate)"]
    accepted += [
        f"{tbs} (its CA {name!r}, level PcaCertificate, or Publisher with publisher {cn!r})"
        for name, tbs in cert.ca_values
    ]
    issuer = cert.issuer_name
    missing = (
        f" Its issuing CA {issuer!r} was not given (--chain), so no CA value could be compared; "
        "if the policy trusts that CA, pass its certificate with --chain."
        if not cert.ca_values and issuer
        else ""
    )
    return (
        f"no UpdatePolicySigner accepts the signing certificate {cn!r}: the policy trusts "
        f"{trusted}, but a signature by {cn!r} needs a Signer whose CertRoot TBS is "
        f"{' or '.join(accepted)}.{missing} Windows would refuse later updates of this policy. "
        "Run: inspector policy set POLICY.xml --update-signer SIGNER.pem (the signing "
        "certificate first, then its issuing CA), then compile and sign again"
    )


def _tbs_values(identity: SigningIdentity) -> tuple[str, set[str]]:
    """TBS hashes (upper-case hex) of the leaf and of the certificates that issued it."""
    leaf = tbs_hash_of(identity.certificate_der, identity.source).tbs_hash.upper()
    cas = {tbs_hash_of(d, identity.source).tbs_hash.upper() for d in identity.chain_der}
    return leaf, cas


class _SigningCert:
    """What the signer rules test about the signing certificate, each computed at most once."""

    def __init__(self, identity: SigningIdentity) -> None:
        self.identity = identity
        self.leaf = certificate_info(identity.certificate_der, identity.source)

    @cached_property
    def common_name(self) -> str:
        return subject_cn(self.leaf)

    @cached_property
    def tbs_values(self) -> tuple[str, set[str]]:
        return _tbs_values(self.identity)

    @cached_property
    def ca_values(self) -> list[tuple[str, str]]:
        """(CN, TBS value) of each CA certificate given with the signing certificate."""
        out = []
        for der in self.identity.chain_der:
            value = tbs_hash_of(der, self.identity.source)
            ca = certificate_info(der, self.identity.source)
            out.append((subject_cn(ca), value.tbs_hash.upper()))
        return out

    @cached_property
    def issuer_name(self) -> str:
        return self.leaf.issuer_common_name or self.leaf.issuer

    def missing_ekus(self, policy: SiPolicy, signer: Signer) -> list[str]:
        """The EKUs ``signer``'s CertEKU demands that the signing certificate lacks."""
        have = certificate_ekus(self.identity)
        return [oid for oid in signer_ekus(policy, signer) if oid not in have]

    def accepted_by(self, signer: Signer) -> bool:
        """Whether ``signer`` accepts a signature by this certificate, at the signer's level.

        Publisher (CertPublisher present): a CA of the chain has the CertRoot TBS and the leaf's CN
        is the publisher; PcaCertificate / LeafCertificate (no CertPublisher; the XML does not say
        which): the CertRoot TBS is the leaf's or a CA's. Well-known roots are Microsoft's, never
        ours.
        """
        if signer.cert_root.type != "TBS":
            return False
        root = signer.cert_root.value.upper()
        leaf_tbs, ca_tbs = self.tbs_values
        if signer.cert_publisher is not None:
            return root in ca_tbs and signer.cert_publisher == self.common_name
        return root == leaf_tbs or root in ca_tbs


def preflight_supplemental_signing(
    policy: SiPolicy, base: SiPolicy, identity: SigningIdentity, base_source: str
) -> None:
    """Refuse to sign a supplemental policy its base would reject (sipolicy.md 2.2, MSD-SIGN).

    Windows accepts a signed supplemental only when its signer is one of the base policy's
    SupplementalPolicySigners; signing anyway produces a .cip that silently never loads.
    """
    if not policy.is_supplemental:
        raise PolicyInputError(
            "a base policy was given for a policy that is not supplemental; --base only applies "
            "when signing a supplemental policy"
        )
    if base.is_supplemental or not same_guid(base.policy_id, policy.base_policy_id):
        raise PolicyInputError(
            f"{base_source}: is {base.policy_type or 'a legacy policy'} {base.policy_id}, not the "
            f"base policy {policy.base_policy_id} this supplemental policy names; give its base"
        )
    signers = {s.id: s for s in base.signers or ()}
    allowed = [signers[r.id] for r in base.supplemental_policy_signers or () if r.id in signers]
    cert = _SigningCert(identity)
    if any(cert.accepted_by(s) and not cert.missing_ekus(base, s) for s in allowed):
        return
    cn = cert.common_name
    _refuse_missing_eku(cert, base, allowed, "SupplementalPolicySigner of the base")
    listed = (
        f"none of its SupplementalPolicySigners ({', '.join(s.id for s in allowed)}) matches "
        f"the signing certificate {cn!r}"
        if allowed
        else f"the base policy has no SupplementalPolicySigners, so no signer ({cn!r} included)"
        " may sign its supplementals"
    )
    xml = base_source if base_source.lower().endswith(".xml") else "BASE.xml"
    raise PolicyInputError(
        f"{base_source}: {listed}; Windows would refuse this "
        "signed supplemental policy. Run: inspector policy set "
        f"{xml} --supplemental-signer CERT.pem --supplemental-signer-level PcaCertificate "
        f"(CERT.pem: {cn!r} and its issuing CA, or the catalog it signed), then compile, sign "
        "and deploy the base policy again"
    )


def _refuse_missing_eku(
    cert: _SigningCert, policy: SiPolicy, signers: list[Signer], role: str
) -> None:
    """A signer matches the certificate but demands an EKU it lacks: say which (Trusted Signing)."""
    for s in signers:
        missing = cert.missing_ekus(policy, s) if cert.accepted_by(s) else []
        if missing:
            raise PolicyInputError(
                f"{cert.identity.source}: {role} {s.id} requires EKU {', '.join(missing)} "
                f"(CertEKU) but certificate {cert.common_name!r} does not carry it; sign with "
                "the certificate profile whose customer EKU that is, or fix --eku in the policy"
            )


def sign_policy_binary(
    binary: bytes, identity: SigningIdentity, timestamper: Timestamper | None = None
) -> bytes:
    """PKCS#7 SignedData (version 1) holding ``binary`` under 1.3.6.1.4.1.311.79.1.

    ``timestamper`` adds an RFC 3161 token over the signature (unsigned attribute
    1.3.6.1.4.1.311.3.3.1, as for catalogs), verified before it is used.
    """
    if is_signed(binary):
        raise PolicyInputError("the policy is already signed; sign the unsigned .cip instead")
    content_info = content_info_for(OID_SIPOLICY, der_octet_string(binary))
    # Intermediates travel with the signature; self-signed roots stay out (signtool's default).
    chain = tuple(
        d for d, c in zip(identity.chain_der, identity.chain, strict=True) if c.issuer != c.subject
    )
    return build_signed_data(
        content_info,
        OID_SIPOLICY,
        binary,
        identity.certificate_der,
        chain,
        identity.sign,
        SignOptions(),
        timestamper,
    )


@dataclass(frozen=True, slots=True)
class SignedPolicy:
    """What a signed policy file holds."""

    policy: bytes
    """The raw binary policy inside."""
    signer_subjects: tuple[str, ...]
    signed_data_version: int
    digest_algorithm: str
    verified: bool


def unwrap_signed_policy(data: bytes, source: str, *, verify: bool = True) -> SignedPolicy:
    """Extract (and by default verify the signature over) the policy in a signed .cip/.p7b."""
    try:
        parts = parse_signed_data(data, source)
    except CatalogInputError as exc:
        raise PolicyInputError(f"{source}: not a signed policy ({exc})") from None
    if parts.content_type != OID_SIPOLICY:
        raise PolicyInputError(
            f"{source}: inner content type is {parts.content_type}, not a policy ({OID_SIPOLICY})"
        )
    if parts.content[:1] != b"\x04":
        raise PolicyInputError(f"{source}: the policy content is not an OCTET STRING")
    raw = parts.content_octets
    # Readers that return the whole OCTET STRING TLV (PKCS#7-era .NET) show a nested 04 here;
    # a raw policy never starts with 0x04 (sipolicy.md 6), so one extra layer is peeled off.
    if raw[:1] == b"\x04":
        raw = parse_signed_data_octets(raw, source)
    subjects: list[str] = []
    digest = ""
    for info in parts.signer_infos:
        try:
            checked = check_signer_info(info, parts.content_octets, parts.certificates, source)
        except CatalogVerificationError as exc:
            if verify:
                raise PolicyVerificationError(str(exc)) from None
            continue
        subjects.append(certificate_info(checked.certificate, source).subject)
        digest = checked.digest_algorithm
    if verify and not parts.signer_infos:
        raise PolicyVerificationError(f"{source}: the SignedData has no signer")
    version = _signed_data_version(data)
    return SignedPolicy(raw, tuple(subjects), version, digest, verify and bool(subjects))


def parse_signed_data_octets(raw: bytes, source: str = "policy") -> bytes:
    """The contents of one DER OCTET STRING TLV."""
    try:
        tlv = read_tlv(raw, 0, expected=TAG_OCTET_STRING, what="nested policy OCTET STRING")
    except CatalogInputError as exc:
        raise PolicyInputError(
            f"{source}: malformed nested OCTET STRING in the policy content ({exc})"
        ) from None
    return raw[tlv.content_start : tlv.end]


def _signed_data_version(data: bytes) -> int:
    return signed_data_version(data)
