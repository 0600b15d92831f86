"""Policy generators: base/supplemental skeletons, hash rules, signer rules, options, IDs, merging.

What ConfigCI's cmdlets do, as pure functions on the model (sipolicy.md 2 and 5; formats.md 3 for
the hash rules):

- ``new_policy``: New-CIPolicy -MultiplePolicyFormat style skeleton (scenarios 131 and 12, empty
  signer lists, HvciOptions 0) from a template ("audit"/"enforced"/"supplemental").
- ``hash_rules``: four rules per conformant PE - ``Hash Sha1``, ``Hash Sha256`` (Authenticode),
  ``Hash Page Sha1``, ``Hash Page Sha256`` (first-page hashes) - with ConfigCI's FriendlyName
  convention ``<path> Hash Sha1``; non-conformant and non-PE files get the two flat-hash rules in
  the Sha1/Sha256 slots and no page rules, as App Control falls back to the flat hash for them.
- ``set_rule_options`` (Set-RuleOption), ``set_policy_info`` (Set-CIPolicyIdInfo),
  ``add_policy_signer`` (Add-SignerRule -Update / -Supplemental).
- ``merge_policies``: Merge-CIPolicy without renaming the existing policy's IDs: duplicates are
  dropped, incoming IDs that clash get a ``_<n>`` suffix (Merge-CIPolicy's own suffix style).

IDs are derived from content (digest prefixes), not from counters, so adding a file to an app does
not renumber the other rules: regenerated policies diff cleanly in version control.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from catalog import FileDigests, FileKind, HashAlgorithm
from policy.errors import PolicyInputError
from policy.model import (
    APPID_TAGGING_POLICY,
    BASE_POLICY,
    DEFAULT_PLATFORM_ID,
    SCENARIO_IDS,
    SCENARIO_KERNEL,
    SCENARIO_USER,
    SUPPLEMENTAL_POLICY,
    FileRule,
    FileRuleKind,
    Ref,
    Setting,
    SettingType,
    Signer,
    SignerGroup,
    SignerRef,
    SigningScenario,
    SiPolicy,
    iter_ids,
)
from policy.options import UNSIGNED_OPTION, resolve_option
from policy.validate import guid_text, parse_version

# Options of Microsoft's AllowMicrosoft / DefaultWindows templates (examples/windows-2019 and the
# Wizard templates), the options people expect of a base policy; "audit" adds Audit Mode.
BASE_TEMPLATE_OPTIONS = (
    UNSIGNED_OPTION,
    "Enabled:Advanced Boot Options Menu",
    "Enabled:UMCI",
    "Enabled:Inherit Default Policy",
    "Enabled:Update Policy No Reboot",
    "Enabled:Allow Supplemental Policies",
)
SUPPLEMENTAL_TEMPLATE_OPTIONS = (UNSIGNED_OPTION,)
TEMPLATES = ("audit", "enforced", "supplemental")
BASE_TEMPLATES = ("audit", "enforced")
"""The templates of a base policy (``policy new``); ``supplemental`` needs a base policy's ID."""
# Namespace for policy GUIDs derived from a policy name when none is given (deterministic output).
_POLICY_GUID_NAMESPACE = uuid.UUID("6f3c5a2e-8d4b-5e1f-9a7c-2b0d4e6f8a1c")


def derived_policy_id(name: str) -> str:
    """The PolicyID used when none is given: a name-based GUID, stable across runs."""
    return guid_text(uuid.uuid5(_POLICY_GUID_NAMESPACE, name))


def new_policy(
    template: str,
    *,
    name: str,
    policy_id: str | None = None,
    base_policy_id: str | None = None,
    version: str = "10.0.0.0",
    info_id: str | None = None,
) -> SiPolicy:
    """An empty policy from a template: ``audit``, ``enforced`` or ``supplemental``."""
    if template not in TEMPLATES:
        raise PolicyInputError(f"unknown template {template!r}; use {', '.join(TEMPLATES)}")
    try:
        parse_version(version)
    except ValueError as exc:
        raise PolicyInputError(str(exc)) from None
    pid = guid_text(policy_id) if policy_id else derived_policy_id(name)
    if template == "supplemental":
        if not base_policy_id:
            raise PolicyInputError(
                "a supplemental policy needs --base-policy-id: the PolicyID of the base policy it "
                "extends (the {GUID} in the base's XML or its .cip file name)"
            )
        base = guid_text(base_policy_id)
        if base == pid:
            raise PolicyInputError("the supplemental policy's own ID equals its base policy's ID")
        options: tuple[str, ...] = SUPPLEMENTAL_TEMPLATE_OPTIONS
        policy_type = SUPPLEMENTAL_POLICY
    else:
        if base_policy_id and guid_text(base_policy_id) != pid:
            raise PolicyInputError("a base policy's BasePolicyID equals its PolicyID")
        base = pid
        options = BASE_TEMPLATE_OPTIONS + (("Enabled:Audit Mode",) if template == "audit" else ())
        policy_type = BASE_POLICY
    scenarios = tuple(
        SigningScenario(SCENARIO_IDS[value], value, friendly_name=friendly)
        for value, friendly in (
            (SCENARIO_KERNEL, "Kernel mode (drivers)"),
            (SCENARIO_USER, "User mode (applications)"),
        )
    )
    return SiPolicy(
        version_ex=version,
        platform_id=DEFAULT_PLATFORM_ID,
        policy_type=policy_type,
        policy_id=pid,
        base_policy_id=base,
        options=options,
        ekus=(),
        file_rules=(),
        signers=(),
        signing_scenarios=scenarios,
        update_policy_signers=(),
        ci_signers=(),
        hvci_options="0",
        settings=_info_settings(name, info_id or version),
    )


def _info_settings(name: str, info_id: str) -> tuple[Setting, ...]:
    return (
        Setting("PolicyInfo", "Information", "Name", SettingType.STRING, name),
        Setting("PolicyInfo", "Information", "Id", SettingType.STRING, info_id),
    )


# ----------------------------------------------------------------------------------------------
# Options and identity


def set_rule_options(
    policy: SiPolicy, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> SiPolicy:
    """Set-RuleOption: options by number (``3``) or name (any case); unknown ones are refused."""
    options = list(policy.options)
    for text in remove:
        name = _option_name(text)
        options = [o for o in options if o != name]
    for text in add:
        name = _option_name(text)
        opt = resolve_option(name)
        if policy.is_supplemental and not opt.supplemental_allowed:
            raise PolicyInputError(
                f"option {name!r} is not valid in a supplemental policy (only the base policy "
                "decides it)"
            )
        if name not in options:
            options.append(name)
    return replace(policy, options=tuple(options))


def _option_name(text: str) -> str:
    try:
        return resolve_option(text).name
    except KeyError:
        raise PolicyInputError(
            f"unknown rule option {text!r}; give a Set-RuleOption number (0-20) or the exact "
            "name, e.g. 'Enabled:Audit Mode'"
        ) from None


def set_policy_info(
    policy: SiPolicy,
    *,
    name: str | None = None,
    info_id: str | None = None,
    policy_id: str | None = None,
    base_policy_id: str | None = None,
    version: str | None = None,
) -> SiPolicy:
    """Set-CIPolicyIdInfo: policy name/id settings, PolicyID/BasePolicyID, VersionEx."""
    changes: dict[str, Any] = {}
    if version is not None:
        try:
            parse_version(version)
        except ValueError as exc:
            raise PolicyInputError(str(exc)) from None
        changes["version_ex"] = version
    if policy_id is not None:
        pid = guid_text(policy_id)
        changes["policy_id"] = pid
        if not policy.is_supplemental:
            changes["base_policy_id"] = pid
    if base_policy_id is not None:
        base = guid_text(base_policy_id)
        if base != changes.get("policy_id", policy.policy_id):
            changes["policy_type"] = SUPPLEMENTAL_POLICY
        changes["base_policy_id"] = base
    settings = list(policy.settings or ())
    for value_name, value in (("Name", name), ("Id", info_id)):
        if value is None:
            continue
        new = Setting("PolicyInfo", "Information", value_name, SettingType.STRING, value)
        for i, s in enumerate(settings):
            if (s.provider, s.key, s.value_name) == ("PolicyInfo", "Information", value_name):
                settings[i] = new
                break
        else:
            settings.append(new)
    if name is not None or info_id is not None:
        changes["settings"] = tuple(settings)
    return replace(policy, **changes)


# ----------------------------------------------------------------------------------------------
# Hash rules


@dataclass(frozen=True, slots=True)
class FileHashes:
    """The digests a hash rule needs for one file (from the hasher or from a hash report)."""

    path: str
    conformant_pe: bool
    sha1: bytes
    sha256: bytes
    page_sha1: bytes | None = None
    page_sha256: bytes | None = None

    @classmethod
    def from_digests(cls, d: FileDigests) -> FileHashes:
        pe = d.kind is FileKind.PE
        sha1, sha256 = d.sip_digest(HashAlgorithm.SHA1), d.sip_digest(HashAlgorithm.SHA256)
        if sha1 is None or sha256 is None:
            raise PolicyInputError(f"{d.path}: hash rules need both SHA1 and SHA256 digests")
        return cls(
            d.path,
            pe,
            sha1,
            sha256,
            d.first_page_hash(HashAlgorithm.SHA1) if pe else None,
            d.first_page_hash(HashAlgorithm.SHA256) if pe else None,
        )

    @classmethod
    def from_report(cls, entry: dict[str, Any], source: str) -> FileHashes:
        """One ``files[]`` entry of ``inspector hash --json``."""

        def hx(key: str) -> bytes | None:
            value = entry.get(key)
            if value is None:
                return None
            try:
                return bytes.fromhex(str(value))
            except ValueError:
                raise PolicyInputError(f"{source}: {key} {value!r} is not hex") from None

        path = entry.get("path")
        if not isinstance(path, str):
            raise PolicyInputError(f"{source}: a files[] entry has no path")
        pe = entry.get("kind") == FileKind.PE.value
        prefix = "authenticode" if pe else "flat"
        sha1, sha256 = hx(f"{prefix}_sha1"), hx(f"{prefix}_sha256")
        if sha1 is None or sha256 is None:
            raise PolicyInputError(
                f"{source}: {path}: the report lacks {prefix}_sha1/{prefix}_sha256; hash with "
                "both algorithms (inspector hash --json)"
            )
        return cls(
            path,
            pe,
            sha1,
            sha256,
            hx("page_hash_sha1") if pe else None,
            hx("page_hash_sha256") if pe else None,
        )


def hash_rules(files: Iterable[FileHashes], *, deny: bool = False) -> tuple[FileRule, ...]:
    """Hash rules for ``files``, ordered by path, with content-derived IDs; duplicates dropped."""
    kind = FileRuleKind.DENY if deny else FileRuleKind.ALLOW
    prefix = "ID_DENY_H_" if deny else "ID_ALLOW_H_"
    rules: list[FileRule] = []
    seen: set[bytes] = set()
    for f in sorted(files, key=lambda f: (f.path.casefold(), f.path, f.sha256)):
        if f.sha256 in seen:
            continue
        seen.add(f.sha256)
        stem = prefix + f.sha256.hex()[:16].upper()
        entries: list[tuple[str, str, bytes | None]] = [
            ("SHA1", "Hash Sha1", f.sha1),
            ("SHA256", "Hash Sha256", f.sha256),
        ]
        if f.conformant_pe:
            entries += [
                ("PAGE_SHA1", "Hash Page Sha1", f.page_sha1),
                ("PAGE_SHA256", "Hash Page Sha256", f.page_sha256),
            ]
        for suffix, label, digest in entries:
            if digest is None:
                continue  # no page hash (SizeOfHeaders > 4096): the image-hash rules still apply
            rules.append(
                FileRule(
                    kind,
                    f"{stem}_{suffix}",
                    friendly_name=f"{f.path} {label}",
                    hash=digest.hex().upper(),
                )
            )
    return tuple(rules)


def add_file_rules(
    policy: SiPolicy, rules: Sequence[FileRule], scenarios: Sequence[int] = (SCENARIO_USER,)
) -> SiPolicy:
    """Append rules (skipping IDs already present) and reference them from the scenarios."""
    existing = {r.id for r in policy.file_rules or ()}
    new = [r for r in rules if r.id not in existing]
    updated = []
    for sc in policy.signing_scenarios or ():
        if sc.value in scenarios:
            refs = list(sc.product_signers.file_rules_ref or ())
            have = {r.id for r in refs}
            refs += [Ref(r.id) for r in rules if r.id not in have]
            sc = replace(
                sc, product_signers=replace(sc.product_signers, file_rules_ref=tuple(refs))
            )
        updated.append(sc)
    missing = set(scenarios) - {sc.value for sc in updated}
    if missing:
        raise PolicyInputError(f"the policy has no signing scenario {sorted(missing)[0]}")
    return replace(
        policy,
        file_rules=(*(policy.file_rules or ()), *new),
        signing_scenarios=tuple(updated),
    )


def add_signer(
    policy: SiPolicy,
    signer: Signer,
    scenarios: Sequence[int] = (SCENARIO_USER,),
    *,
    deny: bool = False,
) -> SiPolicy:
    """Add a signer (once) as an allowed (or denied) signer of the scenarios; user mode joins
    CiSigners, as ConfigCI does for user-mode signers."""
    signers = list(policy.signers or ())
    if not any(s.id == signer.id for s in signers):
        signers.append(signer)
    updated = []
    for sc in policy.signing_scenarios or ():
        if sc.value in scenarios:
            g = sc.product_signers
            current = (g.denied if deny else g.allowed) or ()
            if not any(r.signer_id == signer.id for r in current):
                current = (*current, SignerRef(signer.id))
            g = replace(g, denied=current) if deny else replace(g, allowed=current)
            sc = replace(sc, product_signers=g)
        updated.append(sc)
    missing = set(scenarios) - {sc.value for sc in updated}
    if missing:
        raise PolicyInputError(f"the policy has no signing scenario {sorted(missing)[0]}")
    ci = list(policy.ci_signers or ())
    if SCENARIO_USER in scenarios and not deny and not any(r.id == signer.id for r in ci):
        ci.append(Ref(signer.id))
    return replace(
        policy, signers=tuple(signers), signing_scenarios=tuple(updated), ci_signers=tuple(ci)
    )


POLICY_SIGNER_ROLES = ("UpdatePolicySigners", "SupplementalPolicySigners")


def add_policy_signer(policy: SiPolicy, signer: Signer, role: str) -> SiPolicy:
    """Reference ``signer`` from UpdatePolicySigners or SupplementalPolicySigners (``role``).

    A Signer that already trusts the same certificate at the same level (same root, publisher and
    no further conditions) is reused by its ID instead of adding a second, identical element: the
    binary refers to signers by index, so one element serves as scenario signer, policy updater
    and supplemental signer at once. SupplementalPolicySigners belong in a base policy only
    (sipolicy.md 2.2: supplementals never carry them, and the single-policy format has no
    supplementals at all).
    """
    if role not in POLICY_SIGNER_ROLES:
        raise ValueError(f"unknown policy signer role {role!r}")
    if role == "SupplementalPolicySigners":
        kind = policy.policy_type or ("legacy single policy" if policy.is_legacy_format else None)
        if policy.is_supplemental or policy.is_legacy_format or kind == APPID_TAGGING_POLICY:
            raise PolicyInputError(
                f"SupplementalPolicySigners are only valid in a base policy, and this is a {kind}; "
                "add the supplemental signer to the base policy it supplements"
                + (f" ({policy.base_policy_id})" if policy.is_supplemental else "")
            )
    wanted = _plain_signer_key(signer)
    signers = policy.signers or ()
    reused = next(
        (s for s in signers if s.id == signer.id or (wanted and _plain_signer_key(s) == wanted)),
        None,
    )
    if reused is None:
        signers = (*signers, signer)
    signer_id = signer.id if reused is None else reused.id

    def with_ref(refs: tuple[Ref, ...] | None) -> tuple[Ref, ...]:
        refs = refs or ()
        return refs if any(r.id == signer_id for r in refs) else (*refs, Ref(signer_id))

    if role == "UpdatePolicySigners":
        return replace(
            policy, signers=signers, update_policy_signers=with_ref(policy.update_policy_signers)
        )
    return replace(
        policy,
        signers=signers,
        supplemental_policy_signers=with_ref(policy.supplemental_policy_signers),
    )


def _plain_signer_key(s: Signer) -> tuple[object, ...] | None:
    """What a condition-free signer trusts; None for signers with EKU/issuer/OEM/file/time limits
    (reusing one of those would narrow what the new reference accepts)."""
    if s.cert_ekus or s.cert_issuer or s.cert_oem_id or s.file_attrib_refs or s.sign_time_after:
        return None
    return (s.cert_root.type, s.cert_root.value.upper(), s.cert_publisher)


# ----------------------------------------------------------------------------------------------
# Merging


def _rule_content(rule: FileRule) -> tuple[object, ...]:
    return (
        rule.effective_kind,
        rule.file_name,
        rule.internal_name,
        rule.file_description,
        rule.product_name,
        rule.package_family_name,
        rule.package_version,
        rule.minimum_file_version,
        rule.maximum_file_version,
        (rule.hash or "").upper(),
        rule.app_ids,
        rule.file_path,
    )


def _signer_content(s: Signer, rule_content: dict[str, tuple[object, ...]]) -> tuple[object, ...]:
    return (
        s.cert_root.type,
        s.cert_root.value.upper(),
        tuple(e.id for e in s.cert_ekus),
        s.cert_issuer,
        s.cert_publisher,
        s.cert_oem_id,
        tuple(rule_content.get(r.id, (r.id,)) for r in s.file_attrib_refs),
        s.sign_time_after,
    )


def _fresh_id(ident: str, taken: set[str]) -> str:
    n = 1
    candidate = f"{ident}_{n}"
    while candidate in taken:
        n += 1
        candidate = f"{ident}_{n}"
    return candidate


def merge_policies(existing: SiPolicy, incoming: SiPolicy) -> SiPolicy:
    """Merge ``incoming``'s rules into ``existing`` (Merge-CIPolicy, sipolicy.md 5).

    The existing policy keeps its identity, options, settings and every ID; incoming rules,
    signers and EKUs that duplicate existing content are dropped (references are redirected to the
    existing element); incoming IDs that clash with different content get a ``_<n>`` suffix.
    Scenarios are matched by Value; scenarios the existing policy lacks are added.
    """
    taken = {i for i, _ in iter_ids(existing)}
    rename: dict[str, str] = {}

    ekus = list(existing.ekus or ())
    by_value = {e.value.upper(): e.id for e in ekus}
    for e in incoming.ekus or ():
        if e.value.upper() in by_value:
            rename[e.id] = by_value[e.value.upper()]
            continue
        new_id = e.id if e.id not in taken else _fresh_id(e.id, taken)
        taken.add(new_id)
        rename[e.id] = new_id
        by_value[e.value.upper()] = new_id
        ekus.append(replace(e, id=new_id))

    rules = list(existing.file_rules or ())
    by_content = {_rule_content(r): r.id for r in rules}
    for r in incoming.file_rules or ():
        key = _rule_content(r)
        if key in by_content:
            rename[r.id] = by_content[key]
            continue
        new_id = r.id if r.id not in taken else _fresh_id(r.id, taken)
        taken.add(new_id)
        rename[r.id] = new_id
        by_content[key] = new_id
        rules.append(replace(r, id=new_id))

    contents = {r.id: _rule_content(r) for r in rules}
    signers = list(existing.signers or ())
    by_signer = {_signer_content(s, contents): s.id for s in signers}
    for s in incoming.signers or ():
        s = replace(
            s,
            cert_ekus=tuple(Ref(rename.get(e.id, e.id), e.extra) for e in s.cert_ekus),
            file_attrib_refs=tuple(
                Ref(rename.get(r.id, r.id), r.extra) for r in s.file_attrib_refs
            ),
        )
        key = _signer_content(s, contents)
        if key in by_signer:
            rename[s.id] = by_signer[key]
            continue
        new_id = s.id if s.id not in taken else _fresh_id(s.id, taken)
        taken.add(new_id)
        rename[s.id] = new_id
        by_signer[key] = new_id
        signers.append(replace(s, id=new_id))

    def ren(ident: str) -> str:
        return rename.get(ident, ident)

    def union(a: tuple[Ref, ...] | None, b: tuple[Ref, ...] | None) -> tuple[Ref, ...] | None:
        if not b:
            return a
        out = list(a or ())
        have = {r.id for r in out}
        for r in b:
            if ren(r.id) not in have:
                out.append(Ref(ren(r.id), r.extra))
                have.add(ren(r.id))
        return tuple(out)

    def merge_group(a: SignerGroup | None, b: SignerGroup | None) -> SignerGroup | None:
        if b is None:
            return a
        base = a or SignerGroup()

        def signer_refs(
            x: tuple[SignerRef, ...] | None, y: tuple[SignerRef, ...] | None
        ) -> tuple[SignerRef, ...] | None:
            if not y:
                return x
            out = list(x or ())
            have = {r.signer_id for r in out}
            for r in y:
                moved = SignerRef(ren(r.signer_id), tuple(ren(e) for e in r.except_rules))
                if moved.signer_id not in have:
                    out.append(moved)
                    have.add(moved.signer_id)
            return tuple(out)

        return SignerGroup(
            signer_refs(base.allowed, b.allowed),
            signer_refs(base.denied, b.denied),
            union(base.file_rules_ref, b.file_rules_ref),
        )

    scenarios = list(existing.signing_scenarios or ())
    for sc in incoming.signing_scenarios or ():
        index = next((i for i, s in enumerate(scenarios) if s.value == sc.value), None)
        if index is None:
            new_id = sc.id if sc.id not in taken else _fresh_id(sc.id, taken)
            taken.add(new_id)
            scenarios.append(
                replace(
                    sc,
                    id=new_id,
                    product_signers=merge_group(None, sc.product_signers) or SignerGroup(),
                    test_signers=merge_group(None, sc.test_signers),
                    test_signing_signers=merge_group(None, sc.test_signing_signers),
                )
            )
            continue
        cur = scenarios[index]
        scenarios[index] = replace(
            cur,
            product_signers=merge_group(cur.product_signers, sc.product_signers) or SignerGroup(),
            test_signers=merge_group(cur.test_signers, sc.test_signers),
            test_signing_signers=merge_group(cur.test_signing_signers, sc.test_signing_signers),
        )

    return replace(
        existing,
        ekus=tuple(ekus) if ekus or existing.ekus is not None else None,
        file_rules=tuple(rules) if rules or existing.file_rules is not None else None,
        signers=tuple(signers) if signers or existing.signers is not None else None,
        signing_scenarios=tuple(scenarios)
        if scenarios or existing.signing_scenarios is not None
        else None,
        update_policy_signers=union(existing.update_policy_signers, incoming.update_policy_signers),
        ci_signers=union(existing.ci_signers, incoming.ci_signers),
        supplemental_policy_signers=union(
            existing.supplemental_policy_signers, incoming.supplemental_policy_signers
        )
        if not existing.is_supplemental
        else existing.supplemental_policy_signers,
    )
