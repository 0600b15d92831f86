"""Evaluate files against a set of policies: a verdict per file, and the rule that decided it.

Order inside one policy and scenario (MSD-RULES: explicit deny wins over allow, in every policy):
Deny file rules, then DeniedSigners (unless an ExceptAllowRule matches), then ``Required:WHQL``
for drivers, then Allow file rules, then AllowedSigners (unless an ExceptDenyRule matches); no
match is a block. Options first decide whether the policy looks at the file at all: without
``Enabled:UMCI`` user-mode files are not evaluated, ``Disabled:Script Enforcement`` leaves non-PE
files alone. A base and the supplementals that apply to it allow a file when the base does not deny
it and the base or one supplemental allows it (deny rules in supplementals are ignored by Windows,
which only lets supplementals widen a base); several bases must all allow it. Audit-mode bases
give the enforced verdict with ``enforced`` false.

Device state (managed installer, Intelligent Security Graph, run-time user-writability of FilePath
folders) is not knowable offline: a verdict names what it ``depends_on`` instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policy.evaluate.facts import EKU_WHQL, FileFacts, SignatureFacts
from policy.evaluate.index import (
    NAME_ATTRIBUTES,
    OPT_AUDIT,
    OPT_INHERIT,
    OPT_ISG,
    OPT_MANAGED_INSTALLER,
    OPT_NO_PATH_PROTECTION,
    OPT_NO_SCRIPTS,
    OPT_REVOKED_EXPIRED,
    OPT_UMCI,
    OPT_WHQL,
    BaseGroup,
    IndexedPolicy,
    PolicySet,
    ScenarioIndex,
)
from policy.evaluate.match import match_file_rule, match_signer
from policy.evaluate.suggest import suggestions
from policy.evaluate.verdict import (
    ALLOWED,
    BLOCKED,
    Decision,
    NearMiss,
    SignatureSummary,
    Suggestion,
    Verdict,
)
from policy.evaluate.wellknown import ROOT_CAVEAT, chain_root, chain_root_value
from policy.model import SCENARIO_KERNEL, SCENARIO_USER, FileRule

PATH_RUNTIME_NOTE = (
    "FilePath rule: Windows also requires the path to be writable only by administrators at run "
    "time, which cannot be known offline"
)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One policy's answer for one file: allow, deny or no match."""

    action: str
    """``allow``, ``deny`` or ``none``."""
    decision: Decision | None
    near: tuple[NearMiss, ...] = ()
    steps: tuple[str, ...] = ()


def scenario_for(facts: FileFacts, force: int | None = None) -> int:
    """Kernel (131) for native-subsystem images (drivers), else user mode (12), unless forced."""
    if force is not None:
        return force
    return SCENARIO_KERNEL if facts.is_kernel else SCENARIO_USER


def _rule_decision(
    policy: IndexedPolicy, rule: FileRule, kind: str, action: str, detail: str
) -> Decision:
    return Decision(policy.policy_id, kind, rule.id, rule.friendly_name, action, detail)


def _file_rules(
    policy: IndexedPolicy, rules: list[FileRule], facts: FileFacts, kernel: bool, action: str
) -> tuple[Decision | None, list[NearMiss]]:
    near: list[NearMiss] = []
    seen: set[int] = set()
    for rule in rules:
        if id(rule) in seen:
            continue
        seen.add(id(rule))
        m = match_file_rule(rule, facts, kernel)
        if m.matched:
            return _rule_decision(policy, rule, m.kind, action, m.detail), near
        if m.near is not None:
            near.append(NearMiss(policy.policy_id, rule.id, m.kind, m.near))
    return None, near


def _signers(
    policy: IndexedPolicy,
    scenario: ScenarioIndex,
    facts: FileFacts,
    kernel: bool,
    *,
    denied: bool,
) -> tuple[Decision | None, list[NearMiss], list[str]]:
    index = scenario.denied_signers if denied else scenario.allowed_signers
    near: list[NearMiss] = []
    steps: list[str] = []
    action = "deny" if denied else "allow"
    for sig in facts.valid_signatures:
        tbs = [c.tbs_hash for c in sig.chain if c.tbs_hash]
        for entry in index.candidates(tbs, chain_root_value(sig.chain)):
            m = match_signer(entry, sig, facts)
            sid = entry.signer.id
            if not m.matched:
                if m.near is not None:
                    near.append(NearMiss(policy.policy_id, sid, m.level, m.near))
                continue
            exception = next(
                (r for r in entry.exceptions if match_file_rule(r, facts, kernel).matched), None
            )
            if exception is not None:
                other = "ExceptAllowRule" if denied else "ExceptDenyRule"
                steps.append(f"signer {sid} matched but its {other} {exception.id} applies")
                continue
            detail = m.detail
            root = chain_root(sig.chain)
            if entry.signer.cert_root.type.casefold() == "wellknown" and root is not None:
                detail += f" ({ROOT_CAVEAT})" if not root.in_store else " (root verified)"
            return (
                Decision(policy.policy_id, m.level, sid, entry.signer.name, action, detail),
                near,
                steps,
            )
    return None, near, steps


def _whql_ok(facts: FileFacts) -> bool:
    return any(EKU_WHQL in s.chain[0].ekus for s in facts.valid_signatures)


def evaluate_policy(
    policy: IndexedPolicy, facts: FileFacts, scenario: int, *, deny: bool = True
) -> _Outcome:
    """One policy's rules for one scenario (``deny=False``: a supplemental, allow rules only)."""
    index = policy.scenarios.get(scenario)
    if index is None:
        return _Outcome("none", None, steps=(f"{policy.policy_id}: no scenario {scenario}",))
    kernel = scenario == SCENARIO_KERNEL
    hashes = [d for _, d in facts.hashes]
    names = [(a, v) for a in NAME_ATTRIBUTES if (v := facts.attribute(a)) is not None]
    near: list[NearMiss] = []
    steps: list[str] = []
    if deny:
        hit, n = _file_rules(
            policy, index.deny_rules.candidates(hashes, names), facts, kernel, "deny"
        )
        near += n
        if hit is not None:
            return _Outcome("deny", hit, tuple(near), (f"denied by file rule {hit.rule_id}",))
        hit, n, s = _signers(policy, index, facts, kernel, denied=True)
        steps += s
        if hit is not None:
            return _Outcome("deny", hit, (), (*steps, f"denied by signer {hit.rule_id}"))
        if kernel and policy.has(OPT_WHQL) and not _whql_ok(facts):
            why = "Required:WHQL: no verified signature has the WHQL EKU " + EKU_WHQL
            return _Outcome(
                "deny", Decision(policy.policy_id, "Option", OPT_WHQL, None, "deny", why)
            )
    hit, n = _file_rules(
        policy, index.allow_rules.candidates(hashes, names), facts, kernel, "allow"
    )
    near += n
    if hit is not None:
        return _Outcome("allow", hit, (), (*steps, f"allowed by file rule {hit.rule_id}"))
    hit, n, s = _signers(policy, index, facts, kernel, denied=False)
    near += n
    steps += s
    if hit is not None:
        return _Outcome("allow", hit, (), (*steps, f"allowed by signer {hit.rule_id}"))
    steps.append(f"{policy.policy_id}: no allow rule matched")
    return _Outcome("none", None, tuple(near), tuple(steps))


@dataclass(frozen=True, slots=True)
class _GroupResult:
    allowed: bool
    audit: bool
    decision: Decision
    near: tuple[NearMiss, ...]
    steps: tuple[str, ...]
    depends_on: tuple[str, ...]


def _not_evaluated(base: IndexedPolicy, why: str, option: str | None) -> _GroupResult:
    decision = Decision(base.policy_id, "Option", option, None, "allow", why)
    return _GroupResult(True, base.has(OPT_AUDIT), decision, (), (why,), ())


def evaluate_group(group: BaseGroup, facts: FileFacts, scenario: int) -> _GroupResult:
    """A base with its supplementals."""
    base = group.base
    audit = base.has(OPT_AUDIT)
    if scenario == SCENARIO_USER and not base.has(OPT_UMCI):
        return _not_evaluated(
            base,
            f"{base.policy_id} lacks '{OPT_UMCI}': user-mode files are not evaluated",
            OPT_UMCI,
        )
    if scenario == SCENARIO_USER and facts.kind != "pe" and base.has(OPT_NO_SCRIPTS):
        return _not_evaluated(
            base,
            f"{base.policy_id} has '{OPT_NO_SCRIPTS}': scripts and other non-PE files are "
            "not evaluated",
            OPT_NO_SCRIPTS,
        )
    if all(scenario not in p.scenarios for p in (base, *group.supplementals)):
        return _not_evaluated(
            base,
            f"{base.policy_id} has no signing scenario {scenario}: it sets no rules for "
            "these files",
            None,
        )
    outcome = evaluate_policy(base, facts, scenario)
    steps = list(outcome.steps)
    near = list(outcome.near)
    if outcome.action == "deny" and outcome.decision is not None:
        return _GroupResult(False, audit, outcome.decision, (), tuple(steps), ())
    if outcome.action == "allow" and outcome.decision is not None:
        return _GroupResult(
            True, audit, outcome.decision, (), tuple(steps), _depends(outcome.decision, base)
        )
    for supp in group.supplementals:
        result = evaluate_policy(supp, facts, scenario, deny=False)
        steps += result.steps
        near += result.near
        if result.action == "allow" and result.decision is not None:
            return _GroupResult(
                True, audit, result.decision, (), tuple(steps), _depends(result.decision, base)
            )
    depends: list[str] = []
    if base.has(OPT_MANAGED_INSTALLER):
        depends.append(
            "Enabled:Managed Installer: allowed at run time if a managed installer wrote the file "
            "(a device fact, not known offline)"
        )
    if base.has(OPT_ISG):
        depends.append(
            "Enabled:Intelligent Security Graph Authorization: allowed at run time if Microsoft's "
            "reputation service rates the file well (not known offline)"
        )
    decision = Decision(
        base.policy_id,
        "Default",
        None,
        None,
        "deny",
        "no rule allows the file: App Control blocks what no rule allows",
    )
    return _GroupResult(False, audit, decision, tuple(near), tuple(steps), tuple(depends))


def _depends(decision: Decision, base: IndexedPolicy) -> tuple[str, ...]:
    if decision.kind == "FilePath" and not base.has(OPT_NO_PATH_PROTECTION):
        return (PATH_RUNTIME_NOTE,)
    return ()


def _summary(sig: SignatureFacts) -> SignatureSummary:
    leaf = sig.leaf
    return SignatureSummary(
        sig.source,
        sig.valid,
        leaf.subject_cn if leaf else None,
        leaf.issuer_cn if leaf else None,
        sig.catalog,
        sig.member,
        sig.problem,
    )


def evaluate(policies: PolicySet, facts: FileFacts, scenario: int | None = None) -> Verdict:
    """The verdict for one file under every base (with its supplementals)."""
    chosen = scenario_for(facts, scenario)
    results = [evaluate_group(g, facts, chosen) for g in policies.groups]
    blocked = [r for r in results if not r.allowed]
    verdict = BLOCKED if blocked else ALLOWED
    deciding = blocked or results
    enforced = any(not r.audit for r in deciding)
    notes = list(facts.notes) + list(policies.notes)
    for g in policies.groups:
        if g.base.has(OPT_REVOKED_EXPIRED) and facts.signatures:
            notes.append(
                f"{g.base.policy_id}: '{OPT_REVOKED_EXPIRED}': revocation and expiry of the "
                "signers are not checked offline"
            )
        if g.base.has(OPT_INHERIT):
            notes.append(
                f"{g.base.policy_id}: '{OPT_INHERIT}' has no effect "
                "(Microsoft: reserved for future use)"
            )
    for sig in facts.signatures:
        if not sig.valid:
            notes.append(f"{sig.source} signature not trusted: {sig.problem}")
    depends = tuple(dict.fromkeys(d for r in deciding for d in r.depends_on))
    reasoning = [f"scenario {chosen} ({'kernel' if chosen == SCENARIO_KERNEL else 'user'} mode)"]
    for r in results:
        reasoning += r.steps
    near: tuple[NearMiss, ...] = ()
    would: tuple[Suggestion, ...] = ()
    if blocked:
        near = tuple(n for r in blocked for n in r.near)
        base_id = blocked[0].decision.policy_id
        would = suggestions(facts, base_id, chosen == SCENARIO_KERNEL)
    return Verdict(
        path=facts.path,
        verdict=verdict,
        enforced=enforced,
        scenario=chosen,
        decided_by=tuple(r.decision for r in results),
        signatures=tuple(_summary(s) for s in facts.signatures),
        nearest=near,
        would_allow=would,
        depends_on=depends,
        notes=tuple(dict.fromkeys(notes)),
        reasoning=tuple(reasoning),
    )


def evaluate_all(
    policies: PolicySet, facts: Sequence[FileFacts], scenario: int | None = None
) -> list[Verdict]:
    return [evaluate(policies, f, scenario) for f in facts]
