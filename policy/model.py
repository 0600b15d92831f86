"""The SiPolicy document as frozen records (sipolicy.md section 2; cipolicy.xsd).

The model keeps what the XML says, as written: hexadecimal values, versions and GUIDs stay text so
that a policy read and written again is the same policy down to the case of its hex digits. Lists
keep document order (the binary keeps signer, EKU and scenario order, section 3.7). ``None`` means
"element absent" and ``()`` "element present but empty": Microsoft's tools write ``<EKUs />``, and
a round trip must not invent or lose it. Attributes and elements that Microsoft's schema does not
know (HotCakeX's newer schema adds some) are kept verbatim in ``extra``/``extra_children`` so
reading never drops content; the compiler refuses them instead of silently leaving them out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

Attrs = tuple[tuple[str, str], ...]

NAMESPACE = "urn:schemas-microsoft-com:sipolicy"
DEFAULT_PLATFORM_ID = "{2E07F7E4-194C-4D20-B7C9-6F44A6C5A234}"
LEGACY_POLICY_TYPE_ID = "{A244370E-44C9-4C06-B551-F6016E563076}"

BASE_POLICY = "Base Policy"
SUPPLEMENTAL_POLICY = "Supplemental Policy"
APPID_TAGGING_POLICY = "AppID Tagging Policy"
POLICY_TYPES = (BASE_POLICY, SUPPLEMENTAL_POLICY, APPID_TAGGING_POLICY)

SCENARIO_KERNEL = 131
SCENARIO_USER = 12
SCENARIO_IDS = {
    SCENARIO_KERNEL: "ID_SIGNINGSCENARIO_DRIVERS_1",
    SCENARIO_USER: "ID_SIGNINGSCENARIO_WINDOWS",
}
"""The SigningScenario IDs Microsoft's templates give the kernel and user-mode scenarios."""


@dataclass(frozen=True, slots=True)
class XmlNode:
    """An element the model has no field for, kept verbatim (local names, no namespace)."""

    tag: str
    attrib: Attrs = ()
    text: str | None = None
    children: tuple[XmlNode, ...] = ()


class FileRuleKind(enum.Enum):
    """The element name of a file rule; ``FILE_RULE`` is the generic ``<FileRule Type=...>``."""

    DENY = "Deny"
    ALLOW = "Allow"
    FILE_ATTRIB = "FileAttrib"
    FILE_RULE = "FileRule"


@dataclass(frozen=True, slots=True)
class FileRule:
    """``Allow``/``Deny``/``FileAttrib``/``FileRule``; attribute values as written."""

    kind: FileRuleKind
    id: str
    friendly_name: str | None = None
    file_name: str | None = None
    internal_name: str | None = None
    file_description: str | None = None
    product_name: str | None = None
    package_family_name: str | None = None
    package_version: str | None = None
    minimum_file_version: str | None = None
    maximum_file_version: str | None = None
    hash: str | None = None
    app_ids: str | None = None
    file_path: str | None = None
    rule_type: str | None = None
    """``Type`` of a generic ``FileRule``: Match, Exclude or Attribute."""
    extra: Attrs = ()

    @property
    def hash_bytes(self) -> bytes:
        return bytes.fromhex(self.hash) if self.hash else b""

    @property
    def effective_kind(self) -> FileRuleKind:
        """A generic FileRule's kind by its Type (Match -> Allow, Exclude -> Deny, section 3.3)."""
        if self.kind is not FileRuleKind.FILE_RULE:
            return self.kind
        return {
            "Match": FileRuleKind.ALLOW,
            "Exclude": FileRuleKind.DENY,
            "Attribute": FileRuleKind.FILE_ATTRIB,
        }.get(self.rule_type or "", FileRuleKind.FILE_RULE)


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference by ID (CertEKU, FileAttribRef, FileRuleRef, *PolicySigner, CiSigner)."""

    id: str
    extra: Attrs = ()


@dataclass(frozen=True, slots=True)
class Eku:
    id: str
    value: str
    """Hex text: byte 0x01, a length byte and the OID body (section 2.2), not a DER OID."""
    friendly_name: str | None = None
    extra: Attrs = ()


@dataclass(frozen=True, slots=True)
class CertRoot:
    type: str
    """``TBS`` or ``Wellknown``."""
    value: str
    """Hex text: the issuing CA's TBS hash, or one byte naming a well-known root."""


@dataclass(frozen=True, slots=True)
class Signer:
    id: str
    name: str
    cert_root: CertRoot
    cert_ekus: tuple[Ref, ...] = ()
    cert_issuer: str | None = None
    cert_publisher: str | None = None
    cert_oem_id: str | None = None
    file_attrib_refs: tuple[Ref, ...] = ()
    sign_time_after: str | None = None
    extra: Attrs = ()
    extra_children: tuple[XmlNode, ...] = ()


@dataclass(frozen=True, slots=True)
class SignerRef:
    """AllowedSigner (``except_rules``: ExceptDenyRule IDs) or DeniedSigner (ExceptAllowRule)."""

    signer_id: str
    except_rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignerGroup:
    """ProductSigners / TestSigners / TestSigningSigners."""

    allowed: tuple[SignerRef, ...] | None = None
    denied: tuple[SignerRef, ...] | None = None
    file_rules_ref: tuple[Ref, ...] | None = None


@dataclass(frozen=True, slots=True)
class AppIdTags:
    tags: tuple[tuple[str, str], ...]
    enforce_dll: str | None = None


@dataclass(frozen=True, slots=True)
class SigningScenario:
    id: str
    value: int
    friendly_name: str | None = None
    inherited_scenarios: str | None = None
    minimum_hash_algorithm: str | None = None
    product_signers: SignerGroup = field(default_factory=SignerGroup)
    test_signers: SignerGroup | None = None
    test_signing_signers: SignerGroup | None = None
    app_id_tags: AppIdTags | None = None
    extra: Attrs = ()
    extra_children: tuple[XmlNode, ...] = ()


class SettingType(enum.Enum):
    BOOLEAN = "Boolean"
    DWORD = "DWord"
    BINARY = "Binary"
    STRING = "String"


@dataclass(frozen=True, slots=True)
class Setting:
    provider: str
    key: str
    value_name: str
    type: SettingType
    value: str
    """The value's text as written (``true``, ``4294967295``, hex, or the string)."""


@dataclass(frozen=True, slots=True)
class Macro:
    id: str
    value: str


@dataclass(frozen=True, slots=True)
class SiPolicy:
    """A whole policy. Container fields: ``None`` = element absent, ``()`` = present and empty."""

    version_ex: str
    platform_id: str = DEFAULT_PLATFORM_ID
    policy_type: str | None = None
    friendly_name: str | None = None
    policy_type_id: str | None = None
    policy_id: str | None = None
    base_policy_id: str | None = None
    options: tuple[str, ...] = ()
    ekus: tuple[Eku, ...] | None = None
    file_rules: tuple[FileRule, ...] | None = None
    signers: tuple[Signer, ...] | None = None
    signing_scenarios: tuple[SigningScenario, ...] | None = None
    update_policy_signers: tuple[Ref, ...] | None = None
    ci_signers: tuple[Ref, ...] | None = None
    hvci_options: str | None = None
    settings: tuple[Setting, ...] | None = None
    macros: tuple[Macro, ...] | None = None
    supplemental_policy_signers: tuple[Ref, ...] | None = None
    extra: Attrs = ()
    extra_children: tuple[XmlNode, ...] = ()

    @property
    def is_supplemental(self) -> bool:
        return self.policy_type == SUPPLEMENTAL_POLICY

    @property
    def is_legacy_format(self) -> bool:
        """Single-policy format: a PolicyTypeID and no PolicyID (section 2.2)."""
        return self.policy_type_id is not None and self.policy_id is None

    def with_changes(self, **changes: object) -> SiPolicy:
        return replace(self, **changes)  # type: ignore[arg-type]


def iter_ids(policy: SiPolicy) -> Iterator[tuple[str, str]]:
    """Every declared ID with the element that declares it, in document order."""
    for e in policy.ekus or ():
        yield e.id, "EKU"
    for r in policy.file_rules or ():
        yield r.id, r.kind.value
    for s in policy.signers or ():
        yield s.id, "Signer"
    for sc in policy.signing_scenarios or ():
        yield sc.id, "SigningScenario"
