"""The evaluator's semantics on hand-made policies and facts (Microsoft's documented rules).

Each case states a rule of App Control from Microsoft's documentation ("Understand App Control
policy rules and file rules"; sipolicy.md section 2.2) and builds the smallest policy showing it;
the expected verdicts come from those rules, not from the code under test.
"""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from policy.evaluate.engine import evaluate
from policy.evaluate.facts import CertFacts, FileFacts, SignatureFacts
from policy.evaluate.index import index_policy, policy_set
from policy.model import (
    BASE_POLICY,
    SUPPLEMENTAL_POLICY,
    CertRoot,
    Eku,
    FileRule,
    FileRuleKind,
    Ref,
    Signer,
    SignerGroup,
    SignerRef,
    SigningScenario,
    SiPolicy,
)

BASE_ID = "{11111111-1111-1111-1111-111111111111}"
OTHER_ID = "{22222222-2222-2222-2222-222222222222}"
UMCI = "Enabled:UMCI"
SUPPS = "Enabled:Allow Supplemental Policies"
PCA_TBS = "AB" * 32
LEAF = CertFacts("Contoso App Signing", "Contoso PCA", "CD" * 32, ("1.3.6.1.5.5.7.3.3",))
PCA = CertFacts("Contoso PCA", "Contoso Root", PCA_TBS, ())
SIG = SignatureFacts("embedded", True, (LEAF, PCA))
HASH = bytes(range(32))


def make_policy(
    rules: tuple[FileRule, ...] = (),
    signers: tuple[Signer, ...] = (),
    allowed: tuple[str, ...] = (),
    denied: tuple[SignerRef, ...] = (),
    *,
    options: tuple[str, ...] = (UMCI,),
    policy_id: str = BASE_ID,
    supplemental_of: str | None = None,
    scenario: int = 12,
    ekus: tuple[Eku, ...] = (),
    allowed_refs: tuple[SignerRef, ...] = (),
) -> SiPolicy:
    refs = tuple(Ref(r.id) for r in rules if r.kind in (FileRuleKind.ALLOW, FileRuleKind.DENY))
    group = SignerGroup(
        allowed=(tuple(SignerRef(s) for s in allowed) + allowed_refs) or None,
        denied=denied or None,
        file_rules_ref=refs or None,
    )
    return SiPolicy(
        version_ex="1.0.0.0",
        policy_type=SUPPLEMENTAL_POLICY if supplemental_of else BASE_POLICY,
        policy_id=policy_id,
        base_policy_id=supplemental_of or policy_id,
        options=options,
        ekus=ekus,
        file_rules=rules,
        signers=signers,
        signing_scenarios=(
            SigningScenario("ID_SIGNINGSCENARIO_X", scenario, product_signers=group),
        ),
    )


def verdict(*policies: SiPolicy, facts: FileFacts, scenario: int | None = None) -> str:
    pset = policy_set([index_policy(p, f"p{i}") for i, p in enumerate(policies)])
    return evaluate(pset, facts, scenario).verdict


def app(**changes: object) -> FileFacts:
    base: dict[str, object] = {
        "path": "C:\\Program Files\\Contoso\\app.exe",
        "name": "app.exe",
        "hashes": (("Authenticode SHA256", HASH), ("Page SHA256", b"\x01" * 32)),
        "original_filename": "app.exe",
        "internal_name": "APP",
        "file_version": (1, 5, 0, 0),
        "signatures": (SIG,),
        "subsystem": 3,
    }
    base.update(changes)
    return FileFacts(**base)  # type: ignore[arg-type]


ALLOW_ALL = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_ALL", file_name="*")


def test_default_is_block_and_hash_allows() -> None:
    assert verdict(make_policy(), facts=app()) == "blocked"
    rule = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_H", hash=HASH.hex())
    assert verdict(make_policy((rule,)), facts=app()) == "allowed"


def test_page_hash_rule_matches_the_first_page_hash() -> None:
    rule = FileRule(FileRuleKind.DENY, "ID_DENY_D_P", hash="01" * 32)
    assert verdict(make_policy((rule, ALLOW_ALL)), facts=app()) == "blocked"


def test_explicit_deny_wins_over_allow() -> None:
    deny = FileRule(FileRuleKind.DENY, "ID_DENY_D_H", hash=HASH.hex())
    allow = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_H", hash=HASH.hex())
    pset = policy_set([index_policy(make_policy((allow, deny, ALLOW_ALL)), "p")])
    v = evaluate(pset, app())
    assert v.verdict == "blocked"
    assert v.deciding is not None
    assert v.deciding.rule_id == "ID_DENY_D_H"


def test_file_name_versions_and_near_miss() -> None:
    rule = FileRule(
        FileRuleKind.ALLOW, "ID_ALLOW_A_N", file_name="APP.EXE", minimum_file_version="2.0.0.0"
    )
    pset = policy_set([index_policy(make_policy((rule,)), "p")])
    v = evaluate(pset, app())
    assert v.verdict == "blocked"
    assert [n.failed for n in v.nearest] == [
        "FileName FileName='APP.EXE' requires >= 2.0.0.0, file has 1.5.0.0"
    ]
    assert evaluate(pset, app(file_version=(2, 0, 0, 1))).verdict == "allowed"
    high = FileRule(
        FileRuleKind.DENY, "ID_DENY_D_N", file_name="app.exe", maximum_file_version="1.4.0.0"
    )
    assert verdict(make_policy((high, ALLOW_ALL)), facts=app()) == "allowed"
    assert (
        verdict(make_policy((high, ALLOW_ALL)), facts=app(file_version=(1, 3, 0, 0))) == "blocked"
    )


def test_specific_file_name_level_internal_name() -> None:
    rule = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_I", internal_name="app")
    assert verdict(make_policy((rule,)), facts=app()) == "allowed"
    assert verdict(make_policy((rule,)), facts=app(internal_name="other")) == "blocked"


def _signer(**kw: object) -> Signer:
    fields: dict[str, object] = {
        "id": "ID_SIGNER_S_1",
        "name": "Contoso PCA",
        "cert_root": CertRoot("TBS", PCA_TBS),
    }
    fields.update(kw)
    return Signer(**fields)  # type: ignore[arg-type]


def test_signer_levels() -> None:
    assert (
        verdict(make_policy(signers=(_signer(),), allowed=("ID_SIGNER_S_1",)), facts=app())
        == "allowed"
    )
    wrong_cn = _signer(cert_publisher="Fabrikam")
    pset = policy_set(
        [index_policy(make_policy(signers=(wrong_cn,), allowed=("ID_SIGNER_S_1",)), "p")]
    )
    v = evaluate(pset, app())
    assert v.verdict == "blocked"
    assert "publisher 'Fabrikam'" in v.nearest[0].failed
    good_cn = _signer(cert_publisher="Contoso App Signing", cert_issuer="Contoso PCA")
    assert (
        verdict(make_policy(signers=(good_cn,), allowed=("ID_SIGNER_S_1",)), facts=app())
        == "allowed"
    )
    leaf_level = _signer(cert_root=CertRoot("TBS", "CD" * 32))
    assert (
        verdict(make_policy(signers=(leaf_level,), allowed=("ID_SIGNER_S_1",)), facts=app())
        == "allowed"
    )


def test_cert_eku_requires_the_leaf_eku() -> None:
    ekus = (Eku("ID_EKU_CS", "01082B06010505070303"), Eku("ID_EKU_WIN", "010A2B0601040182370A0306"))
    ok = _signer(cert_ekus=(Ref("ID_EKU_CS"),))
    bad = _signer(cert_ekus=(Ref("ID_EKU_WIN"),))
    assert (
        verdict(make_policy(signers=(ok,), allowed=("ID_SIGNER_S_1",), ekus=ekus), facts=app())
        == "allowed"
    )
    assert (
        verdict(make_policy(signers=(bad,), allowed=("ID_SIGNER_S_1",), ekus=ekus), facts=app())
        == "blocked"
    )


def test_file_publisher_version_near_miss() -> None:
    attrib = FileRule(
        FileRuleKind.FILE_ATTRIB,
        "ID_FILEATTRIB_F_1",
        file_name="app.exe",
        minimum_file_version="2.0.0.0",
    )
    signer = _signer(cert_publisher="Contoso App Signing", file_attrib_refs=(Ref(attrib.id),))
    pset = policy_set([index_policy(make_policy((attrib,), (signer,), ("ID_SIGNER_S_1",)), "p")])
    v = evaluate(pset, app())
    assert v.verdict == "blocked"
    assert (
        v.nearest[0].failed
        == "FilePublisher FileName='app.exe' requires >= 2.0.0.0, file has 1.5.0.0"
    )
    assert evaluate(pset, app(file_version=(2, 1, 0, 0))).verdict == "allowed"


def test_broken_signature_is_unsigned() -> None:
    broken = SignatureFacts("embedded", False, (LEAF, PCA), problem="digest mismatch")
    p = make_policy(signers=(_signer(),), allowed=("ID_SIGNER_S_1",))
    assert verdict(p, facts=app(signatures=(broken,))) == "blocked"


def test_denied_signer_with_except_allow_rule() -> None:
    exempt = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_X", hash=HASH.hex())
    p = make_policy((ALLOW_ALL,), (_signer(),), denied=(SignerRef("ID_SIGNER_S_1"),))
    assert verdict(p, facts=app()) == "blocked"
    p2 = make_policy(
        (ALLOW_ALL, exempt), (_signer(),), denied=(SignerRef("ID_SIGNER_S_1", ("ID_ALLOW_A_X",)),)
    )
    assert verdict(p2, facts=app()) == "allowed"


def test_allowed_signer_with_except_deny_rule() -> None:
    carve = FileRule(FileRuleKind.DENY, "ID_DENY_D_X", file_name="app.exe")
    base = make_policy(
        (), (_signer(),), allowed_refs=(SignerRef("ID_SIGNER_S_1", ("ID_DENY_D_X",)),)
    )
    base = base.with_changes(file_rules=(carve,))
    assert verdict(base, facts=app()) == "blocked"
    assert verdict(base, facts=app(original_filename="other.exe")) == "allowed"


def test_options_umci_audit_and_scenarios() -> None:
    assert verdict(make_policy(options=()), facts=app()) == "allowed"
    pset = policy_set([index_policy(make_policy(options=(UMCI, "Enabled:Audit Mode")), "p")])
    v = evaluate(pset, app())
    assert (v.verdict, v.enforced) == ("blocked", False)
    driver = app(subsystem=1)
    assert evaluate(pset, driver).scenario == 131
    assert evaluate(pset, driver, 12).scenario == 12


def test_required_whql_for_drivers() -> None:
    p = make_policy((ALLOW_ALL,), options=("Required:WHQL",), scenario=131)
    assert verdict(p, facts=app(subsystem=1)) == "blocked"
    whql_leaf = CertFacts(
        "Microsoft Windows Hardware Compatibility Publisher",
        "PCA",
        "EE" * 32,
        ("1.3.6.1.4.1.311.10.3.5",),
    )
    signed = app(subsystem=1, signatures=(SignatureFacts("embedded", True, (whql_leaf,)),))
    assert verdict(p, facts=signed) == "allowed"


def test_supplementals_need_their_base_and_its_permission() -> None:
    allow = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_H", hash=HASH.hex())
    supp = make_policy((allow,), policy_id=OTHER_ID, supplemental_of=BASE_ID, options=())
    assert verdict(make_policy(options=(UMCI, SUPPS)), supp, facts=app()) == "allowed"
    assert verdict(make_policy(options=(UMCI,)), supp, facts=app()) == "blocked"
    stray = make_policy(
        (allow,), policy_id=OTHER_ID, supplemental_of="{33333333-3333-3333-3333-333333333333}"
    )
    assert verdict(make_policy(options=(UMCI, SUPPS)), stray, facts=app()) == "blocked"
    # A supplemental's deny rules are ignored: it can only widen its base.
    deny = FileRule(FileRuleKind.DENY, "ID_DENY_D_H", hash=HASH.hex())
    supp_deny = make_policy((deny,), policy_id=OTHER_ID, supplemental_of=BASE_ID)
    assert (
        verdict(make_policy((ALLOW_ALL,), options=(UMCI, SUPPS)), supp_deny, facts=app())
        == "allowed"
    )


def test_every_base_must_allow() -> None:
    allow = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_H", hash=HASH.hex())
    assert (
        verdict(make_policy((allow,)), make_policy((ALLOW_ALL,), policy_id=OTHER_ID), facts=app())
        == "allowed"
    )
    assert verdict(make_policy((allow,)), make_policy(policy_id=OTHER_ID), facts=app()) == "blocked"


def test_file_path_rules_and_device_dependencies() -> None:
    rule = FileRule(FileRuleKind.ALLOW, "ID_ALLOW_A_P", file_path="%OSDRIVE%\\Program Files\\*")
    pset = policy_set([index_policy(make_policy((rule,)), "p")])
    v = evaluate(pset, app())
    assert v.verdict == "allowed"
    assert any("run time" in d for d in v.depends_on)
    assert evaluate(pset, app(path="D:\\Temp\\app.exe")).verdict == "blocked"
    mi = policy_set([index_policy(make_policy(options=(UMCI, "Enabled:Managed Installer")), "p")])
    v = evaluate(mi, app())
    assert v.verdict == "blocked"
    assert any("Managed Installer" in d for d in v.depends_on)


def test_would_allow_levels_for_a_blocked_signed_file() -> None:
    v = evaluate(policy_set([index_policy(make_policy(), "p")]), app())
    levels = {w.level: dict(w.rule) for w in v.would_allow}
    assert levels["Hash"] == {"Hash": HASH.hex().upper()}
    assert levels["PcaCertificate"] == {"CertRoot TBS": PCA_TBS}
    assert levels["Publisher"]["CertPublisher"] == "Contoso App Signing"
    assert levels["FilePublisher"]["MinimumFileVersion"] == "1.5.0.0"


def test_sign_time_after() -> None:
    later = _signer(sign_time_after="2020-01-01T00:00:00")
    p = make_policy(signers=(later,), allowed=("ID_SIGNER_S_1",))
    when = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    sig = SignatureFacts("embedded", True, (LEAF, PCA), signing_time=when)
    assert verdict(p, facts=app(signatures=(sig,))) == "allowed"
    assert verdict(p, facts=app()) == "blocked"  # no signing time known: not after


# --- properties ------------------------------------------------------------------------------

_HASHES = [bytes([i]) * 32 for i in range(4)]
_NAMES = ["a.exe", "b.exe", "c.dll"]


@st.composite
def rules(draw: st.DrawFn, kind: FileRuleKind, prefix: str) -> FileRule:
    n = draw(st.integers(0, 10_000))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return FileRule(kind, f"{prefix}{n}", hash=draw(st.sampled_from(_HASHES)).hex())
    if choice == 1:
        low = draw(st.integers(0, 3))
        return FileRule(
            kind,
            f"{prefix}{n}",
            file_name=draw(st.sampled_from(_NAMES)),
            minimum_file_version=f"{low}.0.0.0",
        )
    return FileRule(kind, f"{prefix}{n}", file_name="*")


@st.composite
def facts_st(draw: st.DrawFn) -> FileFacts:
    return FileFacts(
        path="x",
        name="x",
        hashes=(("Authenticode SHA256", draw(st.sampled_from(_HASHES))),),
        original_filename=draw(st.sampled_from(_NAMES)),
        file_version=(draw(st.integers(0, 3)), 0, 0, 0),
        signatures=draw(st.sampled_from([(), (SIG,)])),
    )


def _uniq(rs: list[FileRule]) -> tuple[FileRule, ...]:
    return tuple({r.id: r for r in rs}.values())


_ALLOWS = st.lists(rules(FileRuleKind.ALLOW, "ID_ALLOW_A_"), max_size=6)
_DENIES = st.lists(rules(FileRuleKind.DENY, "ID_DENY_D_"), max_size=4)
_SIGNED = st.booleans()


def _policy(allows: list[FileRule], denies: list[FileRule], trust_signer: bool) -> SiPolicy:
    signers = (_signer(),) if trust_signer else ()
    return make_policy(_uniq(allows + denies), signers, ("ID_SIGNER_S_1",) if trust_signer else ())


@settings(max_examples=150, deadline=None)
@given(_ALLOWS, _DENIES, _SIGNED, rules(FileRuleKind.ALLOW, "ID_ALLOW_A_NEW"), facts_st())
def test_adding_an_allow_rule_never_blocks(
    allows: list[FileRule], denies: list[FileRule], signer: bool, extra: FileRule, f: FileFacts
) -> None:
    before = verdict(_policy(allows, denies, signer), facts=f)
    after = verdict(_policy([*allows, extra], denies, signer), facts=f)
    assert not (before == "allowed" and after == "blocked")


@settings(max_examples=150, deadline=None)
@given(_ALLOWS, _DENIES, _SIGNED, rules(FileRuleKind.DENY, "ID_DENY_D_NEW"), facts_st())
def test_adding_a_deny_rule_never_allows(
    allows: list[FileRule], denies: list[FileRule], signer: bool, extra: FileRule, f: FileFacts
) -> None:
    before = verdict(_policy(allows, denies, signer), facts=f)
    after = verdict(_policy(allows, [*denies, extra], signer), facts=f)
    assert not (before == "blocked" and after == "allowed")


@settings(max_examples=150, deadline=None)
@given(_ALLOWS, _DENIES, _SIGNED, facts_st(), st.randoms(use_true_random=False))
def test_verdicts_do_not_depend_on_rule_order(
    allows: list[FileRule], denies: list[FileRule], signer: bool, f: FileFacts, rnd: random.Random
) -> None:
    rs = list(_uniq(allows + denies))
    shuffled = rs[:]
    rnd.shuffle(shuffled)
    a = make_policy(tuple(rs), (_signer(),) if signer else (), ("ID_SIGNER_S_1",) if signer else ())
    b = make_policy(
        tuple(shuffled), (_signer(),) if signer else (), ("ID_SIGNER_S_1",) if signer else ()
    )
    assert verdict(a, facts=f) == verdict(b, facts=f)


def test_appid_tagging_policies_decide_nothing() -> None:
    tagging = make_policy(policy_id=OTHER_ID).with_changes(policy_type="AppID Tagging Policy")
    assert verdict(make_policy((ALLOW_ALL,)), tagging, facts=app()) == "allowed"


def test_signer_level_names_the_chain_position() -> None:
    root = CertFacts("Contoso Root", "Contoso Root", "EF" * 32, (), self_signed=True)
    sig = SignatureFacts("embedded", True, (LEAF, PCA, root))
    for tbs, level in (
        ("CD" * 32, "LeafCertificate"),
        (PCA_TBS, "PcaCertificate"),
        ("EF" * 32, "RootCertificate"),
    ):
        p = make_policy(
            signers=(_signer(cert_root=CertRoot("TBS", tbs)),), allowed=("ID_SIGNER_S_1",)
        )
        v = evaluate(policy_set([index_policy(p, "p")]), app(signatures=(sig,)))
        assert v.deciding is not None
        assert v.deciding.kind == level
