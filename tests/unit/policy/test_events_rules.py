"""Events -> rules: the level chain, the reason each higher level did not fit, scenarios, and a
policy that compiles and validates. Expected values are the event fields put in."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import generate
from policy.binary import compile_policy
from policy.errors import PolicyInputError
from policy.events.records import CiEvent, EventKind, EventSigner
from policy.events.rules import RuleLevel, rules_from_events
from policy.model import SCENARIO_KERNEL, SCENARIO_USER, FileRuleKind, SiPolicy
from policy.validate import validate_policy

ISSUER = hashlib.sha256(b"issuer").digest()
LEAF = hashlib.sha256(b"leaf").digest()
BASE = "{5D3C6E1F-0A2B-4C3D-8E9F-102132435465}"


def _event(
    name: str,
    *,
    signed: bool = True,
    version: str | None = "2.0.0.0",
    ofn: str | None = None,
    scenario: int = SCENARIO_USER,
    hashes: bool = True,
) -> CiEvent:
    signers = (EventSigner("Contoso Ltd", "Contoso CA", LEAF, ISSUER),) if signed else ()
    return CiEvent(
        event_id=3076,
        kind=EventKind.AUDIT,
        source="t",
        time=None,
        device=None,
        path=f"%OSDRIVE%\\App\\{name}",
        raw_path=f"C:\\App\\{name}",
        sha1=hashlib.sha1(name.encode()).digest() if hashes else None,
        sha256=hashlib.sha256(name.encode()).digest() if hashes else None,
        original_file_name=ofn if ofn is not None else name,
        file_version=version,
        scenario=scenario,
        signature_count=1 if signed else 0,
        signers=signers,
    )


def _supplemental() -> SiPolicy:
    return generate.new_policy("supplemental", name="t", base_policy_id=BASE)


def test_each_level_and_the_fallback_reasons() -> None:
    events = [
        _event("a.dll"),
        _event("noversion.dll", version=None),
        _event("unsigned.dll", signed=False),
        _event("driver.sys", scenario=SCENARIO_KERNEL),
        _event("nohash.ps1", signed=False, hashes=False),
    ]
    built = rules_from_events(
        _supplemental(), events, RuleLevel.FILE_PUBLISHER, [RuleLevel.PUBLISHER]
    )
    by_name = {r.event.file_name: r for r in built.results}
    assert by_name["a.dll"].level is RuleLevel.FILE_PUBLISHER
    assert by_name["noversion.dll"].level is RuleLevel.PUBLISHER
    assert by_name["noversion.dll"].skipped == ("FilePublisher: the event has no FileVersion",)
    assert by_name["unsigned.dll"].level is RuleLevel.HASH
    assert by_name["unsigned.dll"].skipped == (
        "FilePublisher: the file is unsigned",
        "Publisher: the file is unsigned",
    )
    assert by_name["nohash.ps1"].level is None
    assert by_name["nohash.ps1"].skipped[-1].startswith("Hash: the event lacks")
    assert dict(built.counts) == {"FilePublisher": 2, "Publisher": 1, "Hash": 1, "none": 1}
    policy = built.policy
    scen = {sc.value: sc for sc in policy.signing_scenarios or ()}
    kernel_signers = {r.signer_id for r in scen[SCENARIO_KERNEL].product_signers.allowed or ()}
    user_signers = {r.signer_id for r in scen[SCENARIO_USER].product_signers.allowed or ()}
    assert len(kernel_signers) == 1
    assert kernel_signers.isdisjoint(user_signers)
    signers = {s.id: s for s in policy.signers or ()}
    (fp,) = [signers[i] for i in user_signers if signers[i].file_attrib_refs]
    assert fp.cert_root.value == ISSUER.hex().upper()
    assert fp.cert_publisher == "Contoso Ltd"
    attribs = {r.id: r for r in policy.file_rules or () if r.kind is FileRuleKind.FILE_ATTRIB}
    assert {attribs[ref.id].file_name for ref in fp.file_attrib_refs} == {"a.dll"}
    hashes = {r.hash for r in policy.file_rules or () if r.kind is FileRuleKind.ALLOW}
    assert hashes == {
        hashlib.sha1(b"unsigned.dll").hexdigest().upper(),
        hashlib.sha256(b"unsigned.dll").hexdigest().upper(),
    }
    assert [i for i in validate_policy(policy) if i.severity == "error"] == []
    assert compile_policy(policy)


@pytest.mark.parametrize(
    ("level", "root", "publisher"),
    [
        (RuleLevel.PUBLISHER, ISSUER, "Contoso Ltd"),
        (RuleLevel.PCA_CERTIFICATE, ISSUER, None),
        (RuleLevel.LEAF_CERTIFICATE, LEAF, None),
    ],
)
def test_signer_levels(level: RuleLevel, root: bytes, publisher: str | None) -> None:
    built = rules_from_events(_supplemental(), [_event("a.dll"), _event("b.dll")], level)
    (signer,) = built.policy.signers or ()
    assert signer.cert_root.value == root.hex().upper()
    assert signer.cert_publisher == publisher


def test_file_name_level_uses_original_file_name_and_version() -> None:
    built = rules_from_events(
        _supplemental(), [_event("renamed.exe", ofn="Tool.exe")], RuleLevel.FILE_NAME
    )
    (rule,) = built.policy.file_rules or ()
    assert (rule.file_name, rule.minimum_file_version) == ("Tool.exe", "2.0.0.0")


def test_unknown_level_is_refused_with_the_list() -> None:
    with pytest.raises(PolicyInputError, match="FilePublisher"):
        RuleLevel.parse("Publishr")


@settings(max_examples=25, deadline=None)
@given(st.permutations(["a.dll", "b.dll", "c.exe", "d.sys", "e.dll"]), st.booleans())
def test_output_does_not_depend_on_event_order(names: list[str], signed: bool) -> None:
    def build(order: list[str]) -> SiPolicy:
        events = [_event(n, signed=signed and n != "c.exe") for n in order]
        return rules_from_events(
            _supplemental(), events, RuleLevel.FILE_PUBLISHER, [RuleLevel.PUBLISHER]
        ).policy

    assert compile_policy(build(names)) == compile_policy(build(sorted(names)))
