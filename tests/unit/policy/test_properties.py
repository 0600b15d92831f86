"""Property tests: any model the writer can express reads back equal, and output is stable."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.binary import compile_policy, decompile_policy, legacy_sort
from policy.model import FileRule, FileRuleKind, Ref, SignerGroup, SigningScenario, SiPolicy
from policy.xml import XmlStyle, read_policy_xml, write_policy_xml

# XML 1.0 cannot carry most control characters; everything else (markup characters, quotes,
# non-ASCII, astral planes) must survive.
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=20,
).filter(str.strip)  # whitespace-only strings are "absent" in the binary (sipolicy.md 3.1)
_HEX = st.binary(min_size=1, max_size=32).map(lambda b: b.hex().upper())
_VERSION = st.tuples(*[st.integers(0, 0xFFFF)] * 4).map(lambda t: ".".join(map(str, t)))


@st.composite
def _rules(draw: st.DrawFn) -> tuple[FileRule, ...]:
    n = draw(st.integers(0, 8))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from([FileRuleKind.ALLOW, FileRuleKind.DENY]))
        prefix = "ID_ALLOW_A_" if kind is FileRuleKind.ALLOW else "ID_DENY_D_"
        out.append(
            FileRule(
                kind,
                f"{prefix}{i}",
                friendly_name=draw(st.none() | _TEXT),
                file_name=draw(st.none() | _TEXT),
                product_name=draw(st.none() | _TEXT),
                minimum_file_version=draw(st.none() | _VERSION),
                maximum_file_version=draw(st.none() | _VERSION),
                hash=draw(_HEX),
                file_path=draw(st.none() | _TEXT),
            )
        )
    return tuple(out)


@st.composite
def _policies(draw: st.DrawFn) -> SiPolicy:
    rules = draw(_rules())
    refs = tuple(Ref(r.id) for r in rules)
    return SiPolicy(
        version_ex=draw(_VERSION),
        policy_type="Base Policy",
        friendly_name=draw(st.none() | _TEXT),
        policy_id="{11111111-1111-1111-1111-111111111111}",
        base_policy_id="{11111111-1111-1111-1111-111111111111}",
        options=tuple(draw(st.sets(st.sampled_from(["Enabled:UMCI", "Enabled:Audit Mode"])))),
        file_rules=rules,
        signing_scenarios=(
            SigningScenario(
                "ID_SIGNINGSCENARIO_WINDOWS",
                12,
                product_signers=SignerGroup(file_rules_ref=refs or None),
            ),
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_policies(), st.sampled_from([XmlStyle(), XmlStyle(newline="\n", bom=True)]))
def test_xml_round_trip(policy: SiPolicy, style: XmlStyle) -> None:
    written = write_policy_xml(policy, style)
    assert read_policy_xml(written) == policy
    assert write_policy_xml(read_policy_xml(written), style) == written


@settings(max_examples=60, deadline=None)
@given(_policies())
def test_binary_keeps_every_rule(policy: SiPolicy) -> None:
    decoded = decompile_policy(compile_policy(policy)).policy
    key = lambda r: (r.kind, r.file_name, r.product_name, r.file_path, r.hash)  # noqa: E731
    assert sorted(map(key, decoded.file_rules or ()), key=repr) == sorted(
        map(key, policy.file_rules or ()), key=repr
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=60))
def test_legacy_sort_orders_like_sorted(values: list[int]) -> None:
    assert legacy_sort(values, lambda v: v) == sorted(values)
