"""Policies prepared for evaluation: rules indexed by hash, by file-name attribute and by TBS.

A policy is compiled once into per-scenario indexes so that evaluating a file costs a few dictionary
look-ups, whatever the number of rules: file rules by hash value and by each SpecificFileNameLevel
attribute (FileName, InternalName, FileDescription, ProductName, PackageFamilyName; case-folded),
signers by CertRoot TBS value and by Wellknown root number. Wildcard names (``FileName="*"``) and
FilePath rules are few and are kept in short lists.

``PolicySet`` groups bases with the supplementals that apply to them (sipolicy.md 2.2): a
supplemental applies only to the base whose PolicyID it names as BasePolicyID, and only when that
base carries ``Enabled:Allow Supplemental Policies``; the others are reported, not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from policy.errors import PolicyInputError
from policy.evaluate.wellknown import parse_wellknown
from policy.model import APPID_TAGGING_POLICY, FileRule, FileRuleKind, Signer, SignerGroup, SiPolicy

NAME_ATTRIBUTES = (
    "FileName",
    "InternalName",
    "FileDescription",
    "ProductName",
    "PackageFamilyName",
)
"""The SpecificFileNameLevel attributes a file rule may compare (cipolicy.xsd)."""

OPT_UMCI = "Enabled:UMCI"
OPT_AUDIT = "Enabled:Audit Mode"
OPT_SUPPLEMENTALS = "Enabled:Allow Supplemental Policies"
OPT_WHQL = "Required:WHQL"
OPT_INHERIT = "Enabled:Inherit Default Policy"
OPT_MANAGED_INSTALLER = "Enabled:Managed Installer"
OPT_ISG = "Enabled:Intelligent Security Graph Authorization"
OPT_NO_SCRIPTS = "Disabled:Script Enforcement"
OPT_NO_PATH_PROTECTION = "Disabled:Runtime FilePath Rule Protection"
OPT_REVOKED_EXPIRED = "Enabled:Revoked Expired As Unsigned"


def rule_attributes(rule: FileRule) -> tuple[tuple[str, str], ...]:
    """The SpecificFileNameLevel attributes a rule sets, as ``(attribute, value)``."""
    values = (
        rule.file_name,
        rule.internal_name,
        rule.file_description,
        rule.product_name,
        rule.package_family_name,
    )
    return tuple((a, v) for a, v in zip(NAME_ATTRIBUTES, values, strict=True) if v is not None)


def eku_oid(value: str) -> str | None:
    """The dotted OID of a policy ``EKU/@Value`` (0x01, a length byte, the OID body)."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    if len(raw) < 3 or raw[1] != len(raw) - 2:
        return None
    body = raw[2:]
    arcs = [body[0] // 40, body[0] % 40] if body[0] < 80 else [2, body[0] - 80]
    acc = 0
    for byte in body[1:]:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    return ".".join(str(a) for a in arcs)


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """File rules of one action (allow or deny) in one scenario."""

    by_hash: Mapping[bytes, tuple[FileRule, ...]]
    by_attribute: Mapping[tuple[str, str], tuple[FileRule, ...]]
    wildcard: tuple[FileRule, ...]
    """Rules whose name attributes use ``*`` (``FileName="*"`` in AllowAll and the block lists)."""
    paths: tuple[FileRule, ...]

    @classmethod
    def of(cls, rules: Iterable[FileRule]) -> RuleIndex:
        by_hash: dict[bytes, list[FileRule]] = {}
        by_attr: dict[tuple[str, str], list[FileRule]] = {}
        wildcard: list[FileRule] = []
        paths: list[FileRule] = []
        for rule in rules:
            if rule.hash:
                try:
                    by_hash.setdefault(bytes.fromhex(rule.hash), []).append(rule)
                except ValueError:
                    continue
            elif rule.file_path:
                paths.append(rule)
            else:
                attrs = rule_attributes(rule)
                if not attrs:
                    continue
                if any("*" in v for _, v in attrs):
                    wildcard.append(rule)
                else:
                    a, v = attrs[0]
                    by_attr.setdefault((a, v.casefold()), []).append(rule)
        return cls(
            {k: tuple(v) for k, v in by_hash.items()},
            {k: tuple(v) for k, v in by_attr.items()},
            tuple(wildcard),
            tuple(paths),
        )

    def candidates(
        self, hashes: Iterable[bytes], names: Iterable[tuple[str, str]]
    ) -> list[FileRule]:
        """Rules that may match a file with these hashes and names (then checked fully)."""
        found: list[FileRule] = []
        for digest in hashes:
            found.extend(self.by_hash.get(digest, ()))
        for attr, value in names:
            found.extend(self.by_attribute.get((attr, value.casefold()), ()))
        found.extend(self.wildcard)
        found.extend(self.paths)
        return found


@dataclass(frozen=True, slots=True)
class SignerEntry:
    """A signer referenced by a scenario, with its references resolved."""

    signer: Signer
    file_attribs: tuple[FileRule, ...]
    ekus: tuple[str, ...]
    """Dotted OIDs of the signer's CertEKU references."""
    exceptions: tuple[FileRule, ...]
    """ExceptDenyRule (allowed signers) or ExceptAllowRule (denied signers) rules."""


@dataclass(frozen=True, slots=True)
class SignerIndex:
    by_tbs: Mapping[str, tuple[SignerEntry, ...]]
    by_wellknown: Mapping[int, tuple[SignerEntry, ...]]

    def candidates(self, tbs_values: Iterable[str], root_value: int) -> list[SignerEntry]:
        found: list[SignerEntry] = []
        for tbs in tbs_values:
            found.extend(self.by_tbs.get(tbs, ()))
        found.extend(self.by_wellknown.get(root_value, ()))
        return found


@dataclass(frozen=True, slots=True)
class ScenarioIndex:
    value: int
    allow_rules: RuleIndex
    deny_rules: RuleIndex
    allowed_signers: SignerIndex
    denied_signers: SignerIndex


def _guid(text: str | None) -> str:
    return (text or "").strip().strip("{}").upper()


@dataclass(frozen=True, slots=True)
class IndexedPolicy:
    policy: SiPolicy
    source: str
    scenarios: Mapping[int, ScenarioIndex]
    options: frozenset[str]

    @property
    def policy_id(self) -> str:
        """``{GUID}`` of the policy (the PolicyTypeID for legacy single-policy files)."""
        return "{" + _guid(self.policy.policy_id or self.policy.policy_type_id) + "}"

    @property
    def base_policy_id(self) -> str:
        return "{" + _guid(self.policy.base_policy_id or self.policy_id) + "}"

    @property
    def is_supplemental(self) -> bool:
        return self.policy.is_supplemental

    def has(self, option: str) -> bool:
        return option in self.options


def _signer_index(
    refs: Sequence[tuple[str, tuple[str, ...]]],
    signers: Mapping[str, Signer],
    rules: Mapping[str, FileRule],
    ekus: Mapping[str, str | None],
    source: str,
) -> SignerIndex:
    by_tbs: dict[str, list[SignerEntry]] = {}
    by_known: dict[int, list[SignerEntry]] = {}
    for signer_id, excepts in refs:
        signer = signers.get(signer_id)
        if signer is None:
            raise PolicyInputError(f"{source}: scenario refers to unknown signer {signer_id}")
        entry = SignerEntry(
            signer,
            tuple(rules[r.id] for r in signer.file_attrib_refs if r.id in rules),
            tuple(o for o in (ekus.get(r.id) for r in signer.cert_ekus) if o is not None),
            tuple(rules[r] for r in excepts if r in rules),
        )
        root = signer.cert_root
        if root.type.casefold() == "wellknown":
            number = parse_wellknown(root.value)
            if number is not None:
                by_known.setdefault(number, []).append(entry)
        else:
            by_tbs.setdefault(root.value.strip().upper(), []).append(entry)
    return SignerIndex(
        {k: tuple(v) for k, v in by_tbs.items()}, {k: tuple(v) for k, v in by_known.items()}
    )


def _scenario(
    value: int,
    group: SignerGroup,
    signers: Mapping[str, Signer],
    rules: Mapping[str, FileRule],
    ekus: Mapping[str, str | None],
    source: str,
) -> ScenarioIndex:
    referenced = [rules[r.id] for r in group.file_rules_ref or () if r.id in rules]
    allow = [r for r in referenced if r.effective_kind is FileRuleKind.ALLOW]
    deny = [r for r in referenced if r.effective_kind is FileRuleKind.DENY]
    allowed = [(s.signer_id, s.except_rules) for s in group.allowed or ()]
    denied = [(s.signer_id, s.except_rules) for s in group.denied or ()]
    return ScenarioIndex(
        value,
        RuleIndex.of(allow),
        RuleIndex.of(deny),
        _signer_index(allowed, signers, rules, ekus, source),
        _signer_index(denied, signers, rules, ekus, source),
    )


def index_policy(policy: SiPolicy, source: str) -> IndexedPolicy:
    """Index one policy; ``PolicyInputError`` when a scenario names a signer that does not exist.

    Several scenarios with the same Value are merged in document order (Windows reads them all).
    """
    rules = {r.id: r for r in policy.file_rules or ()}
    signers = {s.id: s for s in policy.signers or ()}
    ekus = {e.id: eku_oid(e.value) for e in policy.ekus or ()}
    merged: dict[int, SignerGroup] = {}
    for scenario in policy.signing_scenarios or ():
        group = scenario.product_signers
        if scenario.value in merged:
            old = merged[scenario.value]
            group = SignerGroup(
                (old.allowed or ()) + (group.allowed or ()),
                (old.denied or ()) + (group.denied or ()),
                (old.file_rules_ref or ()) + (group.file_rules_ref or ()),
            )
        merged[scenario.value] = group
    scenarios = {v: _scenario(v, g, signers, rules, ekus, source) for v, g in merged.items()}
    return IndexedPolicy(policy, source, scenarios, frozenset(policy.options))


@dataclass(frozen=True, slots=True)
class BaseGroup:
    base: IndexedPolicy
    supplementals: tuple[IndexedPolicy, ...]


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Bases with the supplementals that apply to them; ``notes`` says which were left out, why."""

    groups: tuple[BaseGroup, ...]
    notes: tuple[str, ...] = field(default=())


def policy_set(policies: Sequence[IndexedPolicy]) -> PolicySet:
    """Group policies the way Windows applies them; ``PolicyInputError`` without any base."""
    notes: list[str] = [
        f"{p.source}: an AppID Tagging policy tags processes and allows or blocks nothing: ignored"
        for p in policies
        if p.policy.policy_type == APPID_TAGGING_POLICY
    ]
    policies = [p for p in policies if p.policy.policy_type != APPID_TAGGING_POLICY]
    bases = [p for p in policies if not p.is_supplemental]
    if not bases:
        raise PolicyInputError(
            "no base policy given: supplementals only extend a base; pass the base with "
            "--policy too"
        )
    attached: dict[int, list[IndexedPolicy]] = {id(b): [] for b in bases}
    for supp in (p for p in policies if p.is_supplemental):
        base = next((b for b in bases if b.policy_id == supp.base_policy_id), None)
        if base is None:
            notes.append(
                f"{supp.source}: supplemental {supp.policy_id} names base {supp.base_policy_id}, "
                "which is not among the policies given: ignored"
            )
        elif not base.has(OPT_SUPPLEMENTALS):
            notes.append(
                f"{supp.source}: base {base.policy_id} lacks '{OPT_SUPPLEMENTALS}', so Windows "
                f"ignores supplemental {supp.policy_id}"
            )
        else:
            attached[id(base)].append(supp)
    groups = tuple(BaseGroup(b, tuple(attached[id(b)])) for b in bases)
    return PolicySet(groups, tuple(notes))
