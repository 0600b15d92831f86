"""Structural validation of a SiPolicy model (sipolicy.md section 2, cipolicy.xsd patterns).

Reports every problem at once, each naming the element and ID it concerns. Errors are what the
schema or Windows rejects (or what makes a policy mean something other than it says: a misspelled
option that Microsoft's converter silently drops, section 3.7); warnings are what Microsoft's own
templates sometimes contain and tools tolerate (empty AllowedSigners, content only HotCakeX's newer
schema knows, odd TBS lengths in test data).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from policy.errors import PolicyInputError, PolicyValidationError
from policy.model import (
    APPID_TAGGING_POLICY,
    POLICY_TYPES,
    FileRule,
    FileRuleKind,
    SettingType,
    SignerGroup,
    SiPolicy,
    iter_ids,
)
from policy.options import BY_NAME

_GUID = re.compile(
    r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"
)
_TAIL = r"[A-Z][_A-Z0-9]*"
_ID_PATTERNS = {
    "EKU": re.compile(rf"ID_EKU_{_TAIL}"),
    "Allow": re.compile(rf"ID_(ALLOW|FILE)_{_TAIL}"),
    "Deny": re.compile(rf"ID_(DENY|FILE)_{_TAIL}"),
    "FileAttrib": re.compile(rf"ID_(FILEATTRIB|FILE)_{_TAIL}"),
    "FileRule": re.compile(rf"ID_(FILE|ALLOW|DENY|FILEATTRIB)_{_TAIL}"),
    "Signer": re.compile(rf"ID_SIGNER_{_TAIL}"),
    "SigningScenario": re.compile(rf"ID_SIGNINGSCENARIO_{_TAIL}"),
}
_MACRO_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z_0-9.]*)\)")
_MACRO_REFS = re.compile(r"(\$\([A-Za-z_][A-Za-z_0-9.]*\))+")
_HEX = re.compile(r"([0-9A-Fa-f]{2})*")
TBS_LENGTHS = (20, 32, 48, 64)
_Report = Callable[[str, str], None]
_GENERIC_TYPES = ("Match", "Exclude", "Attribute")


@dataclass(frozen=True, slots=True)
class Issue:
    severity: str
    """``error`` or ``warning``."""
    element: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: <{self.element}> {self.message}"


def parse_version(text: str) -> int:
    """``a.b.c.d`` -> QWORD ``a<<48|b<<32|c<<16|d`` (section 3.1); ``ValueError`` otherwise."""
    parts = text.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"version {text!r} is not four dot-separated numbers")
    value = 0
    for p in parts:
        n = int(p)
        if n > 0xFFFF:
            raise ValueError(f"version {text!r} has a part above 65535")
        value = (value << 16) | n
    return value


def parse_guid(text: str) -> uuid.UUID:
    """A GUID in the schema's braced form; ``ValueError`` otherwise."""
    if not _GUID.fullmatch(text.strip()):
        raise ValueError(f"GUID {text!r} must look like {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}}")
    return uuid.UUID(text.strip()[1:-1])


def guid_text(value: str | uuid.UUID) -> str:
    """``{XXXXXXXX-...}`` upper case, from any GUID spelling; ``PolicyInputError`` otherwise."""
    if isinstance(value, uuid.UUID):
        return "{" + str(value).upper() + "}"
    text = value.strip()
    try:
        parsed = parse_guid(text if text.startswith("{") else "{" + text + "}")
    except ValueError as exc:
        raise PolicyInputError(str(exc)) from None
    return "{" + str(parsed).upper() + "}"


def same_guid(a: str | None, b: str | None) -> bool:
    """Whether two GUID texts name the same GUID, ignoring braces and case; ``None`` never does."""
    if a is None or b is None:
        return False
    return a.strip().strip("{}").lower() == b.strip().strip("{}").lower()


def validate_policy(policy: SiPolicy) -> tuple[Issue, ...]:
    """Every structural problem of ``policy``, errors and warnings, in document order."""
    issues: list[Issue] = []

    def err(element: str, message: str) -> None:
        issues.append(Issue("error", element, message))

    def warn(element: str, message: str) -> None:
        issues.append(Issue("warning", element, message))

    def check_version(element: str, text: str | None, what: str) -> None:
        if text is None:
            return
        try:
            parse_version(text)
        except ValueError as exc:
            err(element, f"{what}: {exc}")

    def check_guid(element: str, text: str | None) -> None:
        if text is None:
            return
        try:
            parse_guid(text)
        except ValueError as exc:
            err(element, str(exc))

    p = policy
    check_version("VersionEx", p.version_ex, "VersionEx")
    if not p.platform_id:
        err("PlatformID", "required element is missing")
    for element, value in (
        ("PlatformID", p.platform_id or None),
        ("PolicyTypeID", p.policy_type_id),
        ("PolicyID", p.policy_id),
        ("BasePolicyID", p.base_policy_id),
    ):
        check_guid(element, value)
    if p.policy_type is not None and p.policy_type not in POLICY_TYPES:
        err("SiPolicy", f"PolicyType {p.policy_type!r} is not one of {', '.join(POLICY_TYPES)}")
    if (p.policy_id is None) != (p.base_policy_id is None):
        err("SiPolicy", "PolicyID and BasePolicyID must both be present (multiple-policy format)")
    if p.policy_id is None and p.policy_type_id is None:
        err("SiPolicy", "neither PolicyID/BasePolicyID nor PolicyTypeID: the policy has no ID")
    if p.is_supplemental:
        if p.base_policy_id is None:
            err("BasePolicyID", "a supplemental policy needs the BasePolicyID of its base policy")
        elif p.policy_id is not None and same_guid(p.policy_id, p.base_policy_id):
            err("BasePolicyID", "the BasePolicyID must differ from its PolicyID")
        if "Enabled:Allow Supplemental Policies" in p.options:
            err("Option", "a supplemental policy cannot set Enabled:Allow Supplemental Policies")
        if p.supplemental_policy_signers:
            err("SupplementalPolicySigners", "only a base policy lists supplemental signers")
    elif p.supplemental_policy_signers and "Enabled:Allow Supplemental Policies" not in p.options:
        warn(
            "SupplementalPolicySigners",
            "the policy lists supplemental signers but does not set Enabled:Allow Supplemental "
            "Policies (option 17), so Windows loads no supplemental policy for it",
        )
    if (
        not p.is_supplemental
        and p.policy_id is not None
        and p.base_policy_id is not None
        and not same_guid(p.policy_id, p.base_policy_id)
    ):
        err(
            "BasePolicyID",
            "BasePolicyID differs from PolicyID but PolicyType is not 'Supplemental Policy'",
        )

    seen_options: set[str] = set()
    for option in p.options:
        if option not in BY_NAME:
            close = [n for n in BY_NAME if n.casefold() == option.casefold()]
            hint = f" (did you mean {close[0]!r}? option names are case-sensitive)" if close else ""
            err("Option", f"unknown rule option {option!r}{hint}")
        elif option in seen_options:
            warn("Option", f"rule option {option!r} is listed twice")
        elif (
            p.is_supplemental
            and not BY_NAME[option].supplemental_allowed
            and option != "Enabled:Allow Supplemental Policies"
        ):
            warn("Option", f"rule option {option!r} has no effect in a supplemental policy")
        seen_options.add(option)

    # IDs: unique across the document (the kernel indexes by position, but references are by ID).
    declared: dict[str, str] = {}
    for ident, element in iter_ids(p):
        pattern = _ID_PATTERNS[element]
        if not pattern.fullmatch(ident):
            err(element, f"ID {ident!r} does not match the schema pattern {pattern.pattern}")
        if ident in declared:
            err(element, f"duplicate ID {ident!r} (also used by a <{declared[ident]}>)")
        else:
            declared[ident] = element

    eku_ids = {e.id for e in p.ekus or ()}
    rules = {r.id: r for r in p.file_rules or ()}
    signer_ids = {s.id for s in p.signers or ()}
    scenario_ids = {s.id for s in p.signing_scenarios or ()}
    macro_ids = {m.id for m in p.macros or ()}

    for e in p.ekus or ():
        if not _is_hex(e.value):
            err("EKU", f"{e.id}: Value {e.value!r} is not hexadecimal")
        elif not e.value or bytes.fromhex(e.value)[:1] != b"\x01":
            warn("EKU", f"{e.id}: Value should be 01, a length byte and the OID body")
        _extra(warn, "EKU", e.id, e.extra)

    for r in p.file_rules or ():
        element = r.kind.value
        if r.kind is FileRuleKind.FILE_RULE and r.rule_type not in _GENERIC_TYPES:
            err(element, f"{r.id}: Type must be Match, Exclude or Attribute")
        if r.hash is not None and not _is_hex(r.hash):
            err(element, f"{r.id}: Hash {r.hash!r} is not hexadecimal")
        for what, value in (
            ("MinimumFileVersion", r.minimum_file_version),
            ("MaximumFileVersion", r.maximum_file_version),
            ("PackageVersion", r.package_version),
        ):
            check_version(element, value, f"{r.id}: {what}")
        if not any(
            (
                r.file_name,
                r.internal_name,
                r.file_description,
                r.product_name,
                r.package_family_name,
                r.hash,
                r.file_path,
            )
        ):
            err(element, f"{r.id}: the rule matches nothing (no name, hash or path)")
        if r.app_ids is not None and r.app_ids.startswith("$"):
            if not _MACRO_REFS.fullmatch(r.app_ids):
                err(element, f"{r.id}: AppIDs {r.app_ids!r} is not a list of $(Macro) references")
            for name in _MACRO_REF.findall(r.app_ids):
                if name not in macro_ids:
                    err(element, f"{r.id}: AppIDs refers to undefined macro {name!r}")
        _extra(warn, element, r.id, r.extra)

    for s in p.signers or ():
        root = s.cert_root
        if root.type not in ("TBS", "Wellknown"):
            err("CertRoot", f"{s.id}: Type must be TBS or Wellknown, not {root.type!r}")
        elif not _is_hex(root.value) or not root.value:
            err("CertRoot", f"{s.id}: Value {root.value!r} is not hexadecimal")
        elif root.type == "Wellknown" and len(root.value) != 2:
            err("CertRoot", f"{s.id}: a Wellknown root Value is one byte")
        elif root.type == "TBS" and len(root.value) // 2 not in TBS_LENGTHS:
            warn(
                "CertRoot",
                f"{s.id}: a TBS hash is 20, 32, 48 or 64 bytes, not {len(root.value) // 2}",
            )
        for eku in s.cert_ekus:
            if eku.id not in eku_ids:
                err("CertEKU", f"{s.id}: refers to undefined EKU {eku.id!r}")
            _extra(warn, "CertEKU", s.id, eku.extra)
        for ref in s.file_attrib_refs:
            target = rules.get(ref.id)
            if target is None:
                err("FileAttribRef", f"{s.id}: refers to undefined file rule {ref.id!r}")
            elif target.effective_kind is not FileRuleKind.FILE_ATTRIB:
                err("FileAttribRef", f"{s.id}: {ref.id!r} is not a FileAttrib rule")
        _extra(warn, "Signer", s.id, s.extra)
        for node in s.extra_children:
            warn("Signer", f"{s.id}: <{node.tag}> is not in Microsoft's schema; kept, not compiled")

    for sc in p.signing_scenarios or ():
        if not 0 <= sc.value <= 255:
            err("SigningScenario", f"{sc.id}: Value {sc.value} is not a byte")
        if sc.minimum_hash_algorithm is not None and not sc.minimum_hash_algorithm.isdigit():
            err("SigningScenario", f"{sc.id}: MinimumHashAlgorithm must be a number (32780)")
        for inherited in (sc.inherited_scenarios or "").split(","):
            if inherited and inherited not in scenario_ids:
                err("SigningScenario", f"{sc.id}: inherits undefined scenario {inherited!r}")
        groups = [("ProductSigners", sc.product_signers)]
        if sc.test_signers is not None:
            groups.append(("TestSigners", sc.test_signers))
        if sc.test_signing_signers is not None:
            groups.append(("TestSigningSigners", sc.test_signing_signers))
        for name, g in groups:
            _check_group(err, warn, f"{sc.id}/{name}", g, signer_ids, rules)
        _extra(warn, "SigningScenario", sc.id, sc.extra)
        for node in sc.extra_children:
            warn("SigningScenario", f"{sc.id}: <{node.tag}> is not in Microsoft's schema; kept")

    for element, refs in (
        ("UpdatePolicySigner", p.update_policy_signers),
        ("CiSigner", p.ci_signers),
        ("SupplementalPolicySigner", p.supplemental_policy_signers),
    ):
        for ref in refs or ():
            if ref.id not in signer_ids:
                err(element, f"refers to undefined signer {ref.id!r}")

    if p.hvci_options is not None and not (
        p.hvci_options.isdigit() and int(p.hvci_options) <= 0xFFFFFFFF
    ):
        err("HvciOptions", f"{p.hvci_options!r} is not a DWORD")

    for st in p.settings or ():
        where = f"{st.provider}/{st.key}/{st.value_name}"
        v = st.value
        if st.type is SettingType.BOOLEAN and v not in ("true", "false", "1", "0"):
            err("Setting", f"{where}: Boolean value {v!r}")
        elif st.type is SettingType.DWORD and not (v.isdigit() and int(v) <= 0xFFFFFFFF):
            err("Setting", f"{where}: DWord value {v!r}")
        elif st.type is SettingType.BINARY and not _is_hex(v):
            err("Setting", f"{where}: Binary value {v!r} is not hexadecimal")

    if p.policy_type == APPID_TAGGING_POLICY and p.is_supplemental:
        err("SiPolicy", "an AppID tagging policy cannot be supplemental")
    _extra(warn, "SiPolicy", "root", p.extra)
    for node in p.extra_children:
        warn(node.tag, "element is not in Microsoft's schema; kept verbatim, not compiled")
    return tuple(issues)


def check_policy(policy: SiPolicy, source: str = "policy") -> tuple[Issue, ...]:
    """Raise ``PolicyValidationError`` listing the errors; return the warnings otherwise."""
    issues = validate_policy(policy)
    errors = tuple(str(i) for i in issues if i.severity == "error")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PolicyValidationError(f"{source}: {errors[0]}{more}", errors)
    return tuple(i for i in issues if i.severity == "warning")


def _check_group(
    err: _Report,
    warn: _Report,
    where: str,
    g: SignerGroup,
    signer_ids: set[str],
    rules: dict[str, FileRule],
) -> None:
    for sub, refs, except_kind in (
        ("AllowedSigners", g.allowed, FileRuleKind.DENY),
        ("DeniedSigners", g.denied, FileRuleKind.ALLOW),
    ):
        if refs is not None and not refs:
            warn(sub, f"{where}: empty (the schema wants at least one signer; omit the element)")
        for r in refs or ():
            if r.signer_id not in signer_ids:
                err(sub, f"{where}: refers to undefined signer {r.signer_id!r}")
            for rid in r.except_rules:
                target = rules.get(rid)
                if target is None:
                    err(sub, f"{where}: exception refers to undefined rule {rid!r}")
                elif target.effective_kind is not except_kind:
                    err(sub, f"{where}: exception {rid!r} is not a {except_kind.value} rule")
    if g.file_rules_ref is not None and not g.file_rules_ref:
        warn("FileRulesRef", f"{where}: empty (the schema wants at least one FileRuleRef)")
    for ref in g.file_rules_ref or ():
        if ref.id not in rules:
            err("FileRuleRef", f"{where}: refers to undefined file rule {ref.id!r}")


def _extra(warn: _Report, element: str, ident: str, extra: tuple[tuple[str, str], ...]) -> None:
    for name, _ in extra:
        warn(element, f"{ident}: attribute {name} is not in Microsoft's schema; kept, not compiled")


def _is_hex(text: str) -> bool:
    return bool(_HEX.fullmatch(text))
