"""SiPolicy model -> the binary policy ConvertFrom-CIPolicy writes (.cip / unsigned .p7b).

sipolicy.md section 3.2 (header) and 3.3 (body, block by block in file order), section 4 (option
bits) and section 9 (the ten traps). ``compile_policy`` reproduces Microsoft's bytes exactly for
every XML/binary pair in policy-oracle; the order of rules and settings comes from ``ordering``,
the primitives from ``layout``.
"""

from __future__ import annotations

import re

from policy.binary.layout import (
    DEFAULT_FORMAT,
    DEFAULT_MIN_HASH,
    HEADER_SIZE,
    KIND_CODE,
    NO_VERSION,
    SUPPORTED_FORMATS,
    Writer,
    filetime,
    guid_bytes,
    version_number,
)
from policy.binary.ordering import emitted_options, emitted_settings, legacy_sort, rule_key
from policy.errors import PolicyInputError
from policy.model import FileRule, FileRuleKind, SettingType, SignerGroup, SiPolicy
from policy.options import FLAG_ALWAYS, FLAG_SUPPLEMENTAL, option_bits
from policy.validate import check_policy, parse_version

_MACRO_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z_0-9.]*)\)")


def _app_ids(rule: FileRule, macros: dict[str, str]) -> list[str]:
    if rule.app_ids is None:
        return []
    if rule.app_ids.startswith("$"):
        names = _MACRO_REF.findall(rule.app_ids)
        missing = [n for n in names if n not in macros]
        if missing:
            raise PolicyInputError(f"{rule.id}: AppIDs refers to undefined macro {missing[0]!r}")
        return [macros[n] for n in names]
    return [rule.app_ids]


def _refuse_unknown(policy: SiPolicy) -> None:
    """Content only a newer schema knows cannot be compiled into format 7/8: say so."""
    for node in policy.extra_children:
        if node.tag == "AppSettings" and not node.children:
            continue
        raise PolicyInputError(
            f"<{node.tag}> needs a newer binary format than 7/8; remove it to compile"
        )
    for rule in policy.file_rules or ():
        if rule.extra:
            raise PolicyInputError(
                f"file rule {rule.id}: attribute {rule.extra[0][0]} cannot be compiled"
            )
    for signer in policy.signers or ():
        for eku in signer.cert_ekus:
            if eku.extra:
                raise PolicyInputError(f"signer {signer.id}: CertEKU {eku.extra[0][0]} unsupported")
        if signer.extra_children:
            tag = signer.extra_children[0].tag
            raise PolicyInputError(f"signer {signer.id}: <{tag}> cannot be compiled")
    for sc in policy.signing_scenarios or ():
        if sc.extra_children:
            tag = sc.extra_children[0].tag
            raise PolicyInputError(f"scenario {sc.id}: <{tag}> cannot be compiled")


def compile_policy(
    policy: SiPolicy,
    *,
    format_version: int = DEFAULT_FORMAT,
    strict: bool = True,
    preserve_rule_order: bool = False,
    extra_option_bits: int = 0,
    source: str = "policy",
) -> bytes:
    """The binary policy for ``policy``.

    ``strict`` (default) refuses a policy with validation errors, such as a misspelled option
    that Microsoft's converter would silently drop; ``strict=False`` converts like
    ConvertFrom-CIPolicy. ``preserve_rule_order`` skips the sort, for models decompiled from a
    binary (whose rules are already in binary order; re-sorting would reorder ties).
    """
    if format_version not in SUPPORTED_FORMATS:
        raise PolicyInputError(f"binary format version {format_version} is not supported (7 or 8)")
    if strict:
        check_policy(policy, source)
    _refuse_unknown(policy)
    try:
        return _compile(policy, format_version, preserve_rule_order, extra_option_bits)
    except ValueError as exc:
        raise PolicyInputError(f"cannot compile policy: {exc}") from None


def _compile(policy: SiPolicy, fmt: int, preserve: bool, extra_bits: int) -> bytes:
    ekus = list(policy.ekus or ())
    rules = list(policy.file_rules or ())
    if not preserve:
        rules = legacy_sort(rules, rule_key)
    signers = list(policy.signers or ())
    scenarios = list(policy.signing_scenarios or ())
    eku_index = {e.id: i for i, e in enumerate(ekus)}
    rule_index = {r.id: i for i, r in enumerate(rules)}
    signer_index = {s.id: i for i, s in enumerate(signers)}
    scenario_index = {s.id: i for i, s in enumerate(scenarios)}
    macros = {m.id: m.value for m in policy.macros or ()}

    def lookup(table: dict[str, int], ident: str, what: str) -> int:
        try:
            return table[ident]
        except KeyError:
            raise PolicyInputError(f"reference to undefined {what} {ident!r}") from None

    flags = FLAG_ALWAYS | option_bits(emitted_options(policy)) | extra_bits
    if policy.is_supplemental:
        flags |= FLAG_SUPPLEMENTAL
    if policy.is_legacy_format:
        header_guid = policy.policy_type_id
        id_guid = base_guid = policy.policy_type_id
    else:
        header_guid = policy.base_policy_id
        id_guid, base_guid = policy.policy_id, policy.base_policy_id

    out = Writer()
    out.u32(fmt)
    out.raw(guid_bytes(header_guid))
    out.raw(guid_bytes(policy.platform_id or None))
    out.u32(flags)
    for n in (len(ekus), len(rules), len(signers), len(scenarios)):
        out.u32(n)
    out.u64(parse_version(policy.version_ex))
    out.u32(HEADER_SIZE)

    for e in ekus:
        out.blob(bytes.fromhex(e.value))
    for r in rules:
        kind = r.effective_kind
        out.u32(KIND_CODE.get(kind, 1))
        out.string(r.file_name)
        if (
            kind is FileRuleKind.DENY
            and r.minimum_file_version is None
            and r.maximum_file_version is None
        ):
            out.u64(NO_VERSION)
        else:
            out.u64(version_number(r.minimum_file_version))
        out.blob(r.hash_bytes)
    for s in signers:
        if s.cert_root.type == "TBS":
            out.u32(0)
            out.blob(bytes.fromhex(s.cert_root.value))
        else:
            out.u32(1)
            out.u32(int(s.cert_root.value, 16))
        out.indices([lookup(eku_index, e.id, "EKU") for e in s.cert_ekus])
        out.string(s.cert_issuer)
        out.string(s.cert_publisher)
        out.string(s.cert_oem_id)
        out.indices([lookup(rule_index, f.id, "file rule") for f in s.file_attrib_refs])
    out.indices([lookup(signer_index, r.id, "signer") for r in policy.update_policy_signers or ()])
    out.indices([lookup(signer_index, r.id, "signer") for r in policy.ci_signers or ()])

    for sc in scenarios:
        out.u32(sc.value)
        inherited = [
            lookup(scenario_index, name, "scenario")
            for name in (sc.inherited_scenarios or "").split(",")
            if name and name != sc.id
        ]
        out.indices(inherited)
        min_hash = int(sc.minimum_hash_algorithm or 0) or DEFAULT_MIN_HASH
        out.u32(min_hash)
        for group in (sc.product_signers, sc.test_signers, sc.test_signing_signers):
            g = group or SignerGroup()
            for refs in (g.allowed, g.denied):
                out.u32(len(refs or ()))
                for ref in refs or ():
                    out.u32(lookup(signer_index, ref.signer_id, "signer"))
                    out.indices([lookup(rule_index, x, "file rule") for x in ref.except_rules])
            out.indices(
                sorted(lookup(rule_index, r.id, "file rule") for r in g.file_rules_ref or ())
            )

    out.u32(int(policy.hvci_options or 0))
    settings = emitted_settings(policy)
    out.u32(len(settings))
    for st in settings:
        out.string(st.provider)
        out.string(st.key)
        out.string(st.value_name)
        if st.type is SettingType.BOOLEAN:
            out.u32(0)
            out.u32(1 if st.value.strip().lower() in ("true", "1") else 0)
        elif st.type is SettingType.DWORD:
            out.u32(1)
            out.u32(int(st.value))
        elif st.type is SettingType.BINARY:
            out.u32(2)
            out.blob(bytes.fromhex(st.value))
        else:
            out.u32(3)
            out.string(st.value)

    out.u32(3)
    for r in rules:
        out.u64(version_number(r.maximum_file_version))
        ids = _app_ids(r, macros)
        out.u32(len(ids))
        for a in ids:
            out.string(a)
    for s in signers:
        out.u64(filetime(s.sign_time_after) if s.sign_time_after else 0)
    out.u32(4)
    for r in rules:
        out.string(r.internal_name)
        out.string(r.file_description)
        out.string(r.product_name)
    out.u32(5)
    for r in rules:
        out.string(r.package_family_name)
        out.u64(version_number(r.package_version))
    out.u32(6)
    out.raw(guid_bytes(id_guid))
    out.raw(guid_bytes(base_guid))
    out.indices(
        [lookup(signer_index, r.id, "signer") for r in policy.supplemental_policy_signers or ()]
    )
    out.u32(7)
    for r in rules:
        out.string(r.file_path)
    if fmt >= 8:
        out.u32(8)
        out.u32(0)  # AppSettings: none (the non-empty layout has no Microsoft sample)
    out.u32(fmt + 1)
    return bytes(out.buf)
