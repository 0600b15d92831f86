"""SiPolicy model -> XML in the layout of Microsoft's serializer (sipolicy.md section 2).

Every element in the schema's order with the attribute order of ConfigCI's XmlSerializer
(``<EKUs />``, two-space indentation, CRLF by default; ``XmlStyle`` for the rest), UTF-8, so that a
policy written by ConfigCI in that layout comes back byte for byte and our own output is stable.

Round trip, precisely: for every policy P, ``read(write(P)) == P`` (model equality, all fields,
including absent-vs-empty containers and the case of hex digits); for a document D that is already
in the canonical layout (ConfigCI's), ``write(read(D), detect_style(D)) == D`` (text equality).
"""

from __future__ import annotations

from collections.abc import Callable

from policy.model import (
    NAMESPACE,
    Attrs,
    Eku,
    FileRule,
    Macro,
    Ref,
    Setting,
    Signer,
    SignerGroup,
    SigningScenario,
    SiPolicy,
    XmlNode,
)
from policy.xml.schema import RULE_ATTRS, XSD, XSI
from policy.xml.style import XmlStyle


def _esc_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_attr(value: str) -> str:
    return (
        _esc_text(value)
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )


def _attrs(pairs: list[tuple[str, str | None]] | Attrs) -> str:
    return "".join(f' {k}="{_esc_attr(v)}"' for k, v in pairs if v is not None)


class _Writer:
    def __init__(self, style: XmlStyle) -> None:
        self.style = style
        self.lines: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def empty(self, depth: int, tag: str, attrs: str = "") -> None:
        self.line(depth, f"<{tag}{attrs} />")

    def leaf(self, depth: int, tag: str, text: str) -> None:
        self.line(depth, f"<{tag}>{_esc_text(text)}</{tag}>")

    def container(
        self, depth: int, tag: str, items: tuple[object, ...], each: Callable[[object], None]
    ) -> None:
        if not items:
            self.empty(depth, tag)
            return
        self.line(depth, f"<{tag}>")
        for item in items:
            each(item)
        self.line(depth, f"</{tag}>")

    def node(self, depth: int, node: XmlNode) -> None:
        attrs = _attrs(node.attrib)
        if node.children:
            self.line(depth, f"<{node.tag}{attrs}>")
            for c in node.children:
                self.node(depth + 1, c)
            self.line(depth, f"</{node.tag}>")
        elif node.text is not None:
            self.line(depth, f"<{node.tag}{attrs}>{_esc_text(node.text)}</{node.tag}>")
        else:
            self.empty(depth, node.tag, attrs)

    def policy(self, p: SiPolicy) -> None:
        root_attrs: list[tuple[str, str | None]] = []
        if self.style.serializer_namespaces:
            root_attrs += [("xmlns:xsi", XSI), ("xmlns:xsd", XSD)]
        else:
            root_attrs.append(("xmlns", NAMESPACE))
        root_attrs += [("FriendlyName", p.friendly_name), ("PolicyType", p.policy_type)]
        root_attrs += list(p.extra)
        if self.style.serializer_namespaces:
            root_attrs.append(("xmlns", NAMESPACE))
        self.lines.append('<?xml version="1.0" encoding="utf-8"?>')
        self.line(0, f"<SiPolicy{_attrs(root_attrs)}>")
        self.leaf(1, "VersionEx", p.version_ex)
        if p.policy_type_id is not None:
            self.leaf(1, "PolicyTypeID", p.policy_type_id)
        if p.platform_id:
            self.leaf(1, "PlatformID", p.platform_id)
        if p.policy_id is not None:
            self.leaf(1, "PolicyID", p.policy_id)
        if p.base_policy_id is not None:
            self.leaf(1, "BasePolicyID", p.base_policy_id)
        self.container(1, "Rules", p.options, self._rule)
        comments = self.style.section_comments
        if p.ekus is not None:
            if comments:
                self.line(1, "<!--EKUS-->")
            self.container(1, "EKUs", p.ekus, self._eku)
        if p.file_rules is not None:
            if comments:
                self.line(1, "<!--File Rules-->")
            self.container(1, "FileRules", p.file_rules, self._file_rule)
        if p.signers is not None:
            if comments:
                self.line(1, "<!--Signers-->")
            self.container(1, "Signers", p.signers, self._signer)
        if p.signing_scenarios is not None:
            if comments:
                self.line(1, "<!--Driver Signing Scenarios-->")
            self.container(1, "SigningScenarios", p.signing_scenarios, self._scenario)
        for tag, child, refs in (
            ("UpdatePolicySigners", "UpdatePolicySigner", p.update_policy_signers),
            ("CiSigners", "CiSigner", p.ci_signers),
        ):
            if refs is not None:
                self._refs(1, tag, child, "SignerId", refs)
        if p.hvci_options is not None:
            self.leaf(1, "HvciOptions", p.hvci_options)
        if p.settings is not None:
            self.container(1, "Settings", p.settings, self._setting)
        if p.macros is not None:
            self.container(1, "Macros", p.macros, self._macro)
        if p.supplemental_policy_signers is not None:
            self._refs(
                1,
                "SupplementalPolicySigners",
                "SupplementalPolicySigner",
                "SignerId",
                p.supplemental_policy_signers,
            )
        for node in p.extra_children:
            self.node(1, node)
        self.line(0, "</SiPolicy>")

    def _refs(self, depth: int, tag: str, child: str, attr: str, refs: tuple[Ref, ...]) -> None:
        def each(r: object) -> None:
            assert isinstance(r, Ref)
            self.empty(depth + 1, child, _attrs([(attr, r.id), *r.extra]))

        self.container(depth, tag, refs, each)

    def _rule(self, option: object) -> None:
        assert isinstance(option, str)
        self.line(2, "<Rule>")
        self.leaf(3, "Option", option)
        self.line(2, "</Rule>")

    def _eku(self, e: object) -> None:
        assert isinstance(e, Eku)
        pairs = [("ID", e.id), ("Value", e.value), ("FriendlyName", e.friendly_name), *e.extra]
        self.empty(2, "EKU", _attrs(pairs))

    def _file_rule(self, r: object) -> None:
        assert isinstance(r, FileRule)
        pairs: list[tuple[str, str | None]] = [(a, getattr(r, f)) for a, f in RULE_ATTRS]
        self.empty(2, r.kind.value, _attrs([*pairs, *r.extra]))

    def _signer(self, s: object) -> None:
        assert isinstance(s, Signer)
        attrs = _attrs([("Name", s.name), ("ID", s.id), ("SignTimeAfter", s.sign_time_after)])
        self.line(2, f"<Signer{attrs}{_attrs(s.extra)}>")
        self.empty(
            3, "CertRoot", _attrs([("Type", s.cert_root.type), ("Value", s.cert_root.value)])
        )
        for eku in s.cert_ekus:
            self.empty(3, "CertEKU", _attrs([("ID", eku.id), *eku.extra]))
        for tag, value in (
            ("CertIssuer", s.cert_issuer),
            ("CertPublisher", s.cert_publisher),
            ("CertOemID", s.cert_oem_id),
        ):
            if value is not None:
                self.empty(3, tag, _attrs([("Value", value)]))
        for ref in s.file_attrib_refs:
            self.empty(3, "FileAttribRef", _attrs([("RuleID", ref.id), *ref.extra]))
        for node in s.extra_children:
            self.node(3, node)
        self.line(2, "</Signer>")

    def _scenario(self, s: object) -> None:
        assert isinstance(s, SigningScenario)
        attrs = _attrs(
            [
                ("ID", s.id),
                ("FriendlyName", s.friendly_name),
                ("Value", str(s.value)),
                ("InheritedScenarios", s.inherited_scenarios),
                ("MinimumHashAlgorithm", s.minimum_hash_algorithm),
                *s.extra,
            ]
        )
        self.line(2, f"<SigningScenario{attrs}>")
        self._group(3, "ProductSigners", s.product_signers)
        if s.test_signers is not None:
            self._group(3, "TestSigners", s.test_signers)
        if s.test_signing_signers is not None:
            self._group(3, "TestSigningSigners", s.test_signing_signers)
        if s.app_id_tags is not None:
            tags = s.app_id_tags
            a = _attrs([("EnforceDLL", tags.enforce_dll)])
            if tags.tags:
                self.line(3, f"<AppIDTags{a}>")
                for key, value in tags.tags:
                    self.empty(4, "AppIDTag", _attrs([("Key", key), ("Value", value)]))
                self.line(3, "</AppIDTags>")
            else:
                self.empty(3, "AppIDTags", a)
        for node in s.extra_children:
            self.node(3, node)
        self.line(2, "</SigningScenario>")

    def _group(self, depth: int, tag: str, g: SignerGroup) -> None:
        if g.allowed is None and g.denied is None and g.file_rules_ref is None:
            self.empty(depth, tag)
            return
        self.line(depth, f"<{tag}>")
        for sub, child, except_tag, except_attr, refs in (
            ("AllowedSigners", "AllowedSigner", "ExceptDenyRule", "DenyRuleID", g.allowed),
            ("DeniedSigners", "DeniedSigner", "ExceptAllowRule", "AllowRuleID", g.denied),
        ):
            if refs is None:
                continue
            if not refs:
                self.empty(depth + 1, sub)
                continue
            self.line(depth + 1, f"<{sub}>")
            for r in refs:
                a = _attrs([("SignerId", r.signer_id)])
                if r.except_rules:
                    self.line(depth + 2, f"<{child}{a}>")
                    for rid in r.except_rules:
                        self.empty(depth + 3, except_tag, _attrs([(except_attr, rid)]))
                    self.line(depth + 2, f"</{child}>")
                else:
                    self.empty(depth + 2, child, a)
            self.line(depth + 1, f"</{sub}>")
        if g.file_rules_ref is not None:
            self._refs(depth + 1, "FileRulesRef", "FileRuleRef", "RuleID", g.file_rules_ref)
        self.line(depth, f"</{tag}>")

    def _setting(self, s: object) -> None:
        assert isinstance(s, Setting)
        a = _attrs([("Provider", s.provider), ("Key", s.key), ("ValueName", s.value_name)])
        self.line(2, f"<Setting{a}>")
        self.line(3, "<Value>")
        self.leaf(4, s.type.value, s.value)
        self.line(3, "</Value>")
        self.line(2, "</Setting>")

    def _macro(self, m: object) -> None:
        assert isinstance(m, Macro)
        self.empty(2, "Macro", _attrs([("Id", m.id), ("Value", m.value)]))


def write_policy_xml(policy: SiPolicy, style: XmlStyle | None = None) -> bytes:
    """Serialise a policy; the same model and style always give the same bytes."""
    style = style or XmlStyle()
    w = _Writer(style)
    w.policy(policy)
    text = style.newline.join(w.lines)
    return (b"\xef\xbb\xbf" if style.bom else b"") + text.encode("utf-8")
