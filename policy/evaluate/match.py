"""Does one rule match one file? File rules and signers, with the field that failed when not.

Microsoft's rule semantics ("Understand App Control policy rules and file rules", MSD-RULES in
sipolicy.md section 0): a Hash rule matches the file's SIP hash (Authenticode SHA1/SHA256 of a
conformant PE, else the flat hash) or its first-page hash; a file-name rule compares each
SpecificFileNameLevel attribute it sets with the version resource (case-insensitive, ``*`` matches
anything) and the binary FileVersion with MinimumFileVersion / MaximumFileVersion; a FilePath rule
compares the path (``*`` wildcards, %OSDRIVE% / %WINDIR% / %SYSTEM32% macros). A signer matches a
verified chain when its CertRoot names a certificate of the chain by TBS (or the chain's root by
Wellknown number) and every other field it sets agrees: CertPublisher (leaf CN), CertIssuer (the
leaf's issuer CN), CertOemID (compared with the leaf's subject O/OU values: an assumption, not
confirmed against Windows), CertEKU (all listed EKUs on the leaf), SignTimeAfter, and, with
FileAttribRef, one of the referenced FileAttrib rules (the FilePublisher level).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from policy.evaluate.facts import FileFacts, SignatureFacts, Version, parse_version, version_text
from policy.evaluate.index import SignerEntry, rule_attributes
from policy.evaluate.wellknown import chain_root_value, parse_wellknown
from policy.model import FileRule

_ZERO: Version = (0, 0, 0, 0)
_MACROS = {
    "%OSDRIVE%": "[a-z]:",
    "%WINDIR%": "[a-z]:\\\\windows",
    "%SYSTEM32%": "[a-z]:\\\\windows\\\\system32",
}


@dataclass(frozen=True, slots=True)
class RuleMatch:
    matched: bool
    kind: str
    """Hash, FileName (or the attribute used), FilePath."""
    detail: str = ""
    near: str | None = None
    """When not matched but everything except one field agreed: that field."""


def rule_kind(rule: FileRule) -> str:
    if rule.hash:
        return "Hash"
    if rule.file_path:
        return "FilePath"
    attrs = rule_attributes(rule)
    return attrs[0][0] if attrs else "FileName"


@lru_cache(maxsize=4096)
def _path_pattern(pattern: str) -> re.Pattern[str]:
    text = pattern.replace("/", "\\")
    out = ""
    i = 0
    while i < len(text):
        macro = next((m for m in _MACROS if text.upper().startswith(m, i)), None)
        if macro is not None:
            out += _MACROS[macro]
            i += len(macro)
        elif text[i] == "*":
            out += ".*"
            i += 1
        else:
            out += re.escape(text[i].casefold())
            i += 1
    return re.compile(out + r"\Z", re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """FilePath rule semantics on the path as given; a pattern without a backslash names a file
    in any folder (Microsoft: a file name alone matches that name anywhere)."""
    given = path.replace("/", "\\").casefold()
    if "\\" not in pattern.replace("/", "\\") and "*" not in pattern:
        return given.rsplit("\\", 1)[-1] == pattern.casefold()
    return _path_pattern(pattern).match(given) is not None


def versions_ok(rule: FileRule, version: Version | None) -> str | None:
    """None when the file's version is within the rule's bounds, else what failed."""
    have = version or _ZERO
    low = parse_version(rule.minimum_file_version)
    high = parse_version(rule.maximum_file_version)
    if low is not None and have < low:
        return f"requires >= {version_text(low)}, file has {version_text(version)}"
    if high is not None and have > high:
        return f"requires <= {version_text(high)}, file has {version_text(version)}"
    return None


def match_attributes(rule: FileRule, facts: FileFacts, label: str) -> RuleMatch:
    attrs = rule_attributes(rule)
    kind = attrs[0][0] if attrs else "FileName"
    if not attrs:
        return RuleMatch(False, kind)
    for attr, want in attrs:
        have = facts.attribute(attr)
        if want == "*":
            continue
        if "*" in want:
            if have is None or not _path_pattern(want).match(have.casefold()):
                return RuleMatch(False, kind)
        elif have is None or have.casefold() != want.casefold():
            return RuleMatch(False, kind)
    why = versions_ok(rule, facts.file_version)
    shown = ", ".join(f"{a}={v!r}" for a, v in attrs)
    if why is not None:
        return RuleMatch(False, kind, near=f"{label} {shown} {why}")
    return RuleMatch(True, kind, f"{shown}, version {version_text(facts.file_version)}")


def match_file_rule(rule: FileRule, facts: FileFacts, kernel: bool) -> RuleMatch:
    """One Allow/Deny/FileAttrib rule against the file."""
    if rule.hash:
        try:
            digest = bytes.fromhex(rule.hash)
        except ValueError:
            return RuleMatch(False, "Hash")
        label = facts.hash_label(digest)
        if label is None:
            return RuleMatch(False, "Hash")
        return RuleMatch(True, "Hash", f"{label} {rule.hash.upper()}")
    if rule.file_path:
        if kernel:  # FilePath rules apply to user-mode binaries only (MSD-RULES)
            return RuleMatch(False, "FilePath")
        if path_matches(rule.file_path, facts.path):
            return RuleMatch(True, "FilePath", f"path {facts.path!r} matches {rule.file_path!r}")
        return RuleMatch(False, "FilePath")
    return match_attributes(rule, facts, rule_kind(rule))


@dataclass(frozen=True, slots=True)
class SignerMatch:
    matched: bool
    level: str
    detail: str = ""
    near: str | None = None
    signature: SignatureFacts | None = None


def _datetime(text: str) -> dt.datetime | None:
    """An xs:dateTime (``SignTimeAfter``); no zone means UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _root_position(entry: SignerEntry, sig: SignatureFacts) -> tuple[int | None, str]:
    root = entry.signer.cert_root
    if root.type.casefold() == "wellknown":
        number = parse_wellknown(root.value)
        if number is not None and chain_root_value(sig.chain) == number:
            return len(sig.chain), f"Wellknown root {number:02X}"
        return None, ""
    want = root.value.strip().upper()
    for k, cert in enumerate(sig.chain):
        if cert.tbs_hash and cert.tbs_hash == want:
            return k, f"TBS of {cert.subject_cn!r}"
    return None, ""


def _level(entry: SignerEntry, position: int, sig: SignatureFacts) -> str:
    s = entry.signer
    if entry.file_attribs:
        return "WHQLFilePublisher" if s.cert_oem_id else "FilePublisher"
    if s.cert_oem_id:
        return "WHQLPublisher"
    if s.cert_publisher:
        return "Publisher"
    if position == 0:
        return "LeafCertificate"
    if s.cert_root.type.casefold() == "wellknown":
        return "RootCertificate"
    if position == len(sig.chain) - 1 and sig.chain[-1].self_signed:
        return "RootCertificate"
    return "PcaCertificate"


def match_signer(entry: SignerEntry, sig: SignatureFacts, facts: FileFacts) -> SignerMatch:
    """One signer against one verified signature of the file."""
    s = entry.signer
    position, how = _root_position(entry, sig)
    if position is None:
        return SignerMatch(False, "Signer")
    level = _level(entry, position, sig)
    leaf = sig.chain[0]
    checks: list[tuple[bool, str]] = []
    if s.cert_publisher is not None:
        checks.append(
            (
                leaf.subject_cn == s.cert_publisher,
                f"{level} requires publisher {s.cert_publisher!r}, leaf is {leaf.subject_cn!r}",
            )
        )
    if s.cert_issuer is not None:
        checks.append(
            (
                leaf.issuer_cn == s.cert_issuer,
                f"{level} requires issuer {s.cert_issuer!r}, leaf's is {leaf.issuer_cn!r}",
            )
        )
    if s.cert_oem_id is not None:
        checks.append(
            (
                s.cert_oem_id in leaf.subject_attributes,
                f"{level} requires OEM ID {s.cert_oem_id!r}, leaf names "
                f"{list(leaf.subject_attributes)}",
            )
        )
    for oid in entry.ekus:
        checks.append((oid in leaf.ekus, f"{level} requires EKU {oid}, leaf has {list(leaf.ekus)}"))
    if s.sign_time_after is not None:
        after = _datetime(s.sign_time_after)
        when = sig.signing_time
        checks.append(
            (
                when is not None and after is not None and when > after,
                f"{level} requires signing after {s.sign_time_after}, signature time "
                f"{when.isoformat() if when else 'unknown'}",
            )
        )
    failed = [why for ok, why in checks if not ok]
    if failed:
        return SignerMatch(False, level, near=failed[0], signature=sig)
    detail = f"{sig.source} signature, CertRoot = {how}"
    if entry.file_attribs:
        near = None
        for attrib in entry.file_attribs:
            m = match_attributes(attrib, facts, level)
            if m.matched:
                return SignerMatch(True, level, f"{detail}; {attrib.id}: {m.detail}", signature=sig)
            near = near or m.near
        return SignerMatch(
            False,
            level,
            near=near or f"{level}: the file's version resource matches none of its FileAttribs",
            signature=sig,
        )
    return SignerMatch(True, level, detail, signature=sig)
