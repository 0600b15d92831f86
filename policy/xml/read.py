"""SiPolicy XML -> the frozen model of ``policy.model`` (sipolicy.md section 2, cipolicy.xsd).

Reading checks the document's shape (namespace, which element may hold which child, attribute
names, single occurrence of the root's children, xs:sequence orders) and leaves the meaning (IDs
resolve, option names are known, ...) to ``policy.validate``. Unknown attributes and elements of
newer schemas are kept verbatim (``extra``/``extra_children``) so that a rewrite keeps them. The
bytes are parsed by ``policy.xml.parse`` (encodings, no DTDs, bounded size and depth).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

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
from policy.xml.parse import parse_xml
from policy.xml.schema import (
    GROUP_ORDER,
    NS,
    ROOT_ORDER,
    RULE_ATTR_NAMES,
    RULE_ATTRS,
    SCENARIO_ORDER,
    SIGNER_ORDER,
)


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
        if root.tag != NS + "SiPolicy":
            raise self.fail(
                root, f"the root element must be SiPolicy in namespace {NAMESPACE}, not {root.tag}"
            )
        known, extra = self.attrs(root, ("FriendlyName", "PolicyType"))
        seen: dict[str, ET.Element] = {}
        extra_children: list[XmlNode] = []
        for child in root:
            name = _local(child.tag)
            if not child.tag.startswith(NS):
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
            known, extra = self.attrs(r, tuple(RULE_ATTR_NAMES), ("ID",))
            if "Type" in known and name != "FileRule":
                raise self.fail(r, "attribute Type belongs to FileRule only")
            values = {field: known.get(attr) for attr, field in RULE_ATTRS}
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
        self.in_order(s, SIGNER_ORDER, f"signer {known['ID']}")
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
            self.in_order(s, SCENARIO_ORDER, f"signing scenario {known['ID']}")
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
            self.in_order(el, GROUP_ORDER, _local(el.tag))
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
    if not el.tag.startswith(NS):
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
    return _Reader(source).policy(parse_xml(data, source))
