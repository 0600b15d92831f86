"""SiPolicy XML reader and writer (sipolicy.md section 2, cipolicy.xsd).

Reading turns bytes into the frozen model of ``policy.model``; it checks the document's
shape (namespace, which element may hold which child, attribute names, single occurrence of the
root's children) and leaves the meaning (IDs resolve, option names are known, ...) to
``policy.validate``. Writing emits every element in the schema's order with the attribute
order of Microsoft's serializer (ConfigCI's XmlSerializer: ``<EKUs />``, two-space indentation,
CRLF), so that a policy written by ConfigCI in that layout comes back byte for byte, and our own
output is stable: same model, same bytes.

Round trip, precisely: for every policy P, ``read(write(P)) == P`` (model equality, all fields,
including absent-vs-empty containers and the case of hex digits); for a document D that is already
in the canonical layout (ConfigCI's), ``write(read(D), detect_style(D)) == D`` (text equality).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from policy.errors import PolicyInputError
from policy.model import (
    NAMESPACE,
    AppIdTags,
    Attrs,
    CertRoot,
    Eku,
    FileRule,
    FileRuleKind,
    Macro,
    Ref,
    Setting,
    SettingType,
    Signer,
    SignerGroup,
    SignerRef,
    SigningScenario,
    SiPolicy,
    XmlNode,
)

_NS = "{" + NAMESPACE + "}"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSD = "http://www.w3.org/2001/XMLSchema"

# File-rule attributes in schema order (the order Microsoft's serializer writes them).
_RULE_ATTRS: tuple[tuple[str, str], ...] = (
    ("ID", "id"),
    ("FriendlyName", "friendly_name"),
    ("FileName", "file_name"),
    ("InternalName", "internal_name"),
    ("FileDescription", "file_description"),
    ("ProductName", "product_name"),
    ("PackageFamilyName", "package_family_name"),
    ("PackageVersion", "package_version"),
    ("MinimumFileVersion", "minimum_file_version"),
    ("MaximumFileVersion", "maximum_file_version"),
    ("Hash", "hash"),
    ("AppIDs", "app_ids"),
    ("FilePath", "file_path"),
    ("Type", "rule_type"),
)
_RULE_ATTR_NAMES = frozenset(a for a, _ in _RULE_ATTRS)
# xs:sequence orders (cipolicy.xsd): Signer, SigningScenario, TestSigners/TestSigningSigners.
_SIGNER_ORDER = (
    "CertRoot",
    "CertEKU",
    "CertIssuer",
    "CertPublisher",
    "CertOemID",
    "FileAttribRef",
)
_SCENARIO_ORDER = ("ProductSigners", "TestSigners", "TestSigningSigners", "AppIDTags")
_GROUP_ORDER = ("AllowedSigners", "DeniedSigners", "FileRulesRef")

# Root children in schema order; the XSD's xs:all allows any order, the writer uses this one.
ROOT_ORDER = (
    "VersionEx",
    "PolicyTypeID",
    "PlatformID",
    "PolicyID",
    "BasePolicyID",
    "Rules",
    "EKUs",
    "FileRules",
    "Signers",
    "SigningScenarios",
    "UpdatePolicySigners",
    "CiSigners",
    "HvciOptions",
    "Settings",
    "Macros",
    "SupplementalPolicySigners",
)


@dataclass(frozen=True, slots=True)
class XmlStyle:
    """Formatting choices that do not change the policy.

    The default is ConfigCI's layout (XmlSerializer): CRLF, no BOM, the xsi/xsd namespace
    declarations on the root. ``section_comments`` adds New-CIPolicy's ``<!--EKUS-->``-style
    comments.
    """

    newline: str = "\r\n"
    bom: bool = False
    serializer_namespaces: bool = True
    section_comments: bool = False


def detect_style(data: bytes) -> XmlStyle:
    """The formatting a document uses, so that rewriting it changes as little as possible."""
    head = data[:2048]
    return XmlStyle(
        newline="\r\n" if b"\r\n" in head else "\n",
        bom=data.startswith(b"\xef\xbb\xbf"),
        serializer_namespaces=b"xmlns:xsi=" in head,
        section_comments=b"<!--EKUS-->" in data,
    )


# ----------------------------------------------------------------------------------------------
# Reading


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, el: ET.Element | None, message: str) -> PolicyInputError:
        where = f" (element <{_local(el.tag)}>)" if el is not None else ""
        return PolicyInputError(f"{self.source}: {message}{where}")

    def attrs(
        self, el: ET.Element, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> tuple[dict[str, str], Attrs]:
        """Known attributes as a dict, unknown ones (kept verbatim) as ``extra``."""
        known: dict[str, str] = {}
        extra: list[tuple[str, str]] = []
        for name, value in el.attrib.items():
            if name in allowed:
                known[name] = value
            else:
                extra.append((_attr_name(name), value))
        for name in required:
            if name not in known:
                raise self.fail(el, f"required attribute {name} is missing")
        return known, tuple(extra)

    def strict_attrs(
        self, el: ET.Element, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, str]:
        known, extra = self.attrs(el, allowed, required)
        if extra:
            raise self.fail(el, f"unknown attribute {extra[0][0]}")
        return known

    def children(self, el: ET.Element, tag: str) -> list[ET.Element]:
        out = []
        for child in el:
            if _local(child.tag) != tag:
                raise self.fail(el, f"unexpected child <{_local(child.tag)}>, expected <{tag}>")
            out.append(child)
        return out

    def text(self, el: ET.Element) -> str:
        value = (el.text or "").strip()
        if not value:
            raise self.fail(el, "element is empty")
        return value

    def in_order(self, el: ET.Element, order: tuple[str, ...], what: str) -> None:
        """Children of an xs:sequence must follow the schema's order (unknown ones are skipped)."""
        rank = {name: i for i, name in enumerate(order)}
        last = -1
        previous = ""
        for child in el:
            name = _local(child.tag)
            if name not in rank:
                continue
            if rank[name] < last:
                raise self.fail(
                    child, f"in {what}, <{name}> must come before <{previous}> (schema order)"
                )
            last, previous = rank[name], name

    def refs(self, el: ET.Element, child: str, attr: str) -> tuple[Ref, ...]:
        out = []
        for c in self.children(el, child):
            known, extra = self.attrs(c, (attr,), (attr,))
            out.append(Ref(known[attr], extra))
        return tuple(out)

    # -- elements ------------------------------------------------------------------------------

    def policy(self, root: ET.Element) -> SiPolicy:
        if root.tag != _NS + "SiPolicy":
            raise self.fail(
                root, f"the root element must be SiPolicy in namespace {NAMESPACE}, not {root.tag}"
            )
        known, extra = self.attrs(root, ("FriendlyName", "PolicyType"))
        seen: dict[str, ET.Element] = {}
        extra_children: list[XmlNode] = []
        for child in root:
            name = _local(child.tag)
            if not child.tag.startswith(_NS):
                raise self.fail(child, "element is not in the SiPolicy namespace")
            if name in ROOT_ORDER:
                if name in seen:
                    raise self.fail(child, "element appears twice; SiPolicy allows it once")
                seen[name] = child
            else:
                extra_children.append(_node(child))
        if "VersionEx" not in seen:
            raise self.fail(root, "required element VersionEx is missing")
        if "Rules" not in seen:
            raise self.fail(root, "required element Rules is missing")

        def opt_text(name: str) -> str | None:
            el = seen.get(name)
            return None if el is None else self.text(el)

        def opt(name: str, fn: Callable[[ET.Element], tuple[object, ...]]) -> object:
            el = seen.get(name)
            return None if el is None else fn(el)

        platform = seen.get("PlatformID")
        return SiPolicy(
            version_ex=self.text(seen["VersionEx"]),
            platform_id=self.text(platform) if platform is not None else "",
            policy_type=known.get("PolicyType"),
            friendly_name=known.get("FriendlyName"),
            policy_type_id=opt_text("PolicyTypeID"),
            policy_id=opt_text("PolicyID"),
            base_policy_id=opt_text("BasePolicyID"),
            options=self.rules(seen["Rules"]),
            ekus=opt("EKUs", self.ekus),  # type: ignore[arg-type]
            file_rules=opt("FileRules", self.file_rules),  # type: ignore[arg-type]
            signers=opt("Signers", self.signers),  # type: ignore[arg-type]
            signing_scenarios=opt("SigningScenarios", self.scenarios),  # type: ignore[arg-type]
            update_policy_signers=opt(  # type: ignore[arg-type]
                "UpdatePolicySigners",
                lambda e: self.refs(e, "UpdatePolicySigner", "SignerId"),
            ),
            ci_signers=opt(  # type: ignore[arg-type]
                "CiSigners", lambda e: self.refs(e, "CiSigner", "SignerId")
            ),
            hvci_options=opt_text("HvciOptions"),
            settings=opt("Settings", self.settings),  # type: ignore[arg-type]
            macros=opt("Macros", self.macros),  # type: ignore[arg-type]
            supplemental_policy_signers=opt(  # type: ignore[arg-type]
                "SupplementalPolicySigners",
                lambda e: self.refs(e, "SupplementalPolicySigner", "SignerId"),
            ),
            extra=extra,
            extra_children=tuple(extra_children),
        )

    def rules(self, el: ET.Element) -> tuple[str, ...]:
        out = []
        for rule in self.children(el, "Rule"):
            options = self.children(rule, "Option")
            if len(options) != 1:
                raise self.fail(rule, "a Rule must hold exactly one Option")
            out.append(self.text(options[0]))
        return tuple(out)

    def ekus(self, el: ET.Element) -> tuple[Eku, ...]:
        out = []
        for e in self.children(el, "EKU"):
            known, extra = self.attrs(e, ("ID", "Value", "FriendlyName"), ("ID", "Value"))
            out.append(Eku(known["ID"], known["Value"], known.get("FriendlyName"), extra))
        return tuple(out)

    def file_rules(self, el: ET.Element) -> tuple[FileRule, ...]:
        out = []
        kinds = {k.value: k for k in FileRuleKind}
        for r in el:
            name = _local(r.tag)
            if name not in kinds:
                raise self.fail(r, "unknown file rule element; use Allow, Deny, FileAttrib")
            known, extra = self.attrs(r, tuple(_RULE_ATTR_NAMES), ("ID",))
            if "Type" in known and name != "FileRule":
                raise self.fail(r, "attribute Type belongs to FileRule only")
            values = {field: known.get(attr) for attr, field in _RULE_ATTRS}
            values["id"] = known["ID"]
            out.append(FileRule(kind=kinds[name], extra=extra, **values))  # type: ignore[arg-type]
        return tuple(out)

    def signers(self, el: ET.Element) -> tuple[Signer, ...]:
        return tuple(self.signer(s) for s in self.children(el, "Signer"))

    def signer(self, s: ET.Element) -> Signer:
        known, extra = self.attrs(s, ("Name", "ID", "SignTimeAfter"), ("ID", "Name"))
        root: CertRoot | None = None
        ekus: list[Ref] = []
        issuer = publisher = oem = None
        attrib_refs: list[Ref] = []
        extra_children: list[XmlNode] = []
        singles: set[str] = set()
        self.in_order(s, _SIGNER_ORDER, f"signer {known['ID']}")
        for c in s:
            name = _local(c.tag)
            if name == "CertRoot":
                if root is not None:
                    raise self.fail(s, f"signer {known['ID']} has two CertRoot elements")
                a = self.strict_attrs(c, ("Type", "Value"), ("Type", "Value"))
                root = CertRoot(a["Type"], a["Value"])
            elif name == "CertEKU":
                k, x = self.attrs(c, ("ID",), ("ID",))
                ekus.append(Ref(k["ID"], x))
            elif name in ("CertIssuer", "CertPublisher", "CertOemID"):
                value = self.strict_attrs(c, ("Value",), ("Value",))["Value"]
                if name in singles:
                    raise self.fail(c, f"signer {known['ID']} has two <{name}> elements")
                singles.add(name)
                if name == "CertIssuer":
                    issuer = value
                elif name == "CertPublisher":
                    publisher = value
                else:
                    oem = value
            elif name == "FileAttribRef":
                k, x = self.attrs(c, ("RuleID",), ("RuleID",))
                attrib_refs.append(Ref(k["RuleID"], x))
            else:
                extra_children.append(_node(c))
        if root is None:
            raise self.fail(s, f"signer {known['ID']} has no CertRoot")
        return Signer(
            id=known["ID"],
            name=known["Name"],
            cert_root=root,
            cert_ekus=tuple(ekus),
            cert_issuer=issuer,
            cert_publisher=publisher,
            cert_oem_id=oem,
            file_attrib_refs=tuple(attrib_refs),
            sign_time_after=known.get("SignTimeAfter"),
            extra=extra,
            extra_children=tuple(extra_children),
        )

    def scenarios(self, el: ET.Element) -> tuple[SigningScenario, ...]:
        out = []
        for s in self.children(el, "SigningScenario"):
            known, extra = self.attrs(
                s,
                ("ID", "FriendlyName", "Value", "InheritedScenarios", "MinimumHashAlgorithm"),
                ("ID", "Value"),
            )
            try:
                value = int(known["Value"])
            except ValueError:
                raise self.fail(s, f"Value {known['Value']!r} is not a number") from None
            groups: dict[str, SignerGroup] = {}
            tags: AppIdTags | None = None
            extra_children: list[XmlNode] = []
            self.in_order(s, _SCENARIO_ORDER, f"signing scenario {known['ID']}")
            for c in s:
                name = _local(c.tag)
                if name in ("ProductSigners", "TestSigners", "TestSigningSigners"):
                    if name in groups:
                        raise self.fail(c, "element appears twice in a SigningScenario")
                    groups[name] = self.group(c)
                elif name == "AppIDTags":
                    a = self.strict_attrs(c, ("EnforceDLL",))
                    pairs = []
                    for t in self.children(c, "AppIDTag"):
                        ta = self.strict_attrs(t, ("Key", "Value"), ("Key", "Value"))
                        pairs.append((ta["Key"], ta["Value"]))
                    tags = AppIdTags(tuple(pairs), a.get("EnforceDLL"))
                else:
                    extra_children.append(_node(c))
            if "ProductSigners" not in groups:
                raise self.fail(s, f"signing scenario {known['ID']} has no ProductSigners")
            out.append(
                SigningScenario(
                    id=known["ID"],
                    value=value,
                    friendly_name=known.get("FriendlyName"),
                    inherited_scenarios=known.get("InheritedScenarios"),
                    minimum_hash_algorithm=known.get("MinimumHashAlgorithm"),
                    product_signers=groups["ProductSigners"],
                    test_signers=groups.get("TestSigners"),
                    test_signing_signers=groups.get("TestSigningSigners"),
                    app_id_tags=tags,
                    extra=extra,
                    extra_children=tuple(extra_children),
                )
            )
        return tuple(out)

    def group(self, el: ET.Element) -> SignerGroup:
        allowed = denied = None
        refs = None
        if _local(el.tag) != "ProductSigners":  # ProductSigners is an xs:all, the others not
            self.in_order(el, _GROUP_ORDER, _local(el.tag))
        for c in el:
            name = _local(c.tag)
            if name == "AllowedSigners":
                allowed = self.signer_refs(c, "AllowedSigner", "ExceptDenyRule", "DenyRuleID")
            elif name == "DeniedSigners":
                denied = self.signer_refs(c, "DeniedSigner", "ExceptAllowRule", "AllowRuleID")
            elif name == "FileRulesRef":
                self.strict_attrs(c, ("Workaround",))
                refs = self.refs(c, "FileRuleRef", "RuleID")
            else:
                raise self.fail(c, f"unexpected element in <{_local(el.tag)}>")
        return SignerGroup(allowed, denied, refs)

    def signer_refs(
        self, el: ET.Element, child: str, except_tag: str, except_attr: str
    ) -> tuple[SignerRef, ...]:
        self.strict_attrs(el, ("Workaround",))
        out = []
        for c in self.children(el, child):
            sid = self.strict_attrs(c, ("SignerId",), ("SignerId",))["SignerId"]
            excepts = tuple(
                self.strict_attrs(e, (except_attr,), (except_attr,))[except_attr]
                for e in self.children(c, except_tag)
            )
            out.append(SignerRef(sid, excepts))
        return tuple(out)

    def settings(self, el: ET.Element) -> tuple[Setting, ...]:
        out = []
        types = {t.value: t for t in SettingType}
        for s in self.children(el, "Setting"):
            a = self.strict_attrs(
                s, ("Provider", "Key", "ValueName"), ("Provider", "Key", "ValueName")
            )
            values = self.children(s, "Value")
            if len(values) != 1 or len(values[0]) != 1:
                raise self.fail(s, "a Setting needs one Value holding exactly one typed value")
            v = values[0][0]
            tname = _local(v.tag)
            if tname not in types:
                raise self.fail(v, "setting type must be Boolean, DWord, Binary or String")
            text = v.text or ""
            if types[tname] is not SettingType.STRING:
                text = text.strip()
            out.append(Setting(a["Provider"], a["Key"], a["ValueName"], types[tname], text))
        return tuple(out)

    def macros(self, el: ET.Element) -> tuple[Macro, ...]:
        out = []
        for m in self.children(el, "Macro"):
            a = self.strict_attrs(m, ("Id", "Value"), ("Id", "Value"))
            out.append(Macro(a["Id"], a["Value"]))
        return tuple(out)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr_name(name: str) -> str:
    if name.startswith("{"):
        raise PolicyInputError(f"namespaced attribute {name} is not supported in a SiPolicy")
    return name


def _node(el: ET.Element) -> XmlNode:
    if not el.tag.startswith(_NS):
        raise PolicyInputError(f"element {el.tag} is not in the SiPolicy namespace")
    text = el.text.strip() if el.text and el.text.strip() else None
    return XmlNode(
        _local(el.tag),
        tuple((_attr_name(k), v) for k, v in el.attrib.items()),
        text,
        tuple(_node(c) for c in el),
    )


def read_policy_xml(data: bytes, source: str = "<policy>") -> SiPolicy:
    """Parse a SiPolicy document; raise ``PolicyInputError`` naming the line or element."""
    # Policies never carry a DTD; refusing one closes entity-expansion and external-entity attacks
    # before the parser sees the document (the standard library parser resolves no external
    # entities and expat bounds expansion, but there is no reason to accept a DTD at all).
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise PolicyInputError(f"{source}: a DOCTYPE/ENTITY declaration is not allowed in a policy")
    try:
        root = ET.fromstring(data)  # noqa: S314 - DTDs rejected above
    except ET.ParseError as exc:
        line, column = exc.position
        raise PolicyInputError(
            f"{source}: malformed XML at line {line}, column {column + 1}: {exc}"
        ) from None
    return _Reader(source).policy(root)


# ----------------------------------------------------------------------------------------------
# Writing


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
            root_attrs += [("xmlns:xsi", _XSI), ("xmlns:xsd", _XSD)]
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
        pairs: list[tuple[str, str | None]] = [(a, getattr(r, f)) for a, f in _RULE_ATTRS]
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
