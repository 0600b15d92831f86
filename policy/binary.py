"""SiPolicy model <-> the binary policy ConvertFrom-CIPolicy writes (.cip / unsigned .p7b).

sipolicy.md sections 3 (layout), 3.4 (file-rule order, the legacy .NET quicksort), 4 (option bits)
and 9 (the ten traps). ``compile_policy`` reproduces Microsoft's bytes exactly for every XML/binary
pair in policy-oracle; ``decompile_policy`` recovers a model from a binary (IDs, names and
comments are not stored in the binary, so they are regenerated in the style of the reference
readers: ``ID_ALLOW_A_0001`` = rule 1 of the sorted array).
"""

from __future__ import annotations

import datetime as _dt
import re
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from policy.errors import PolicyInputError
from policy.model import (
    APPID_TAGGING_POLICY,
    BASE_POLICY,
    SCENARIO_IDS,
    SUPPLEMENTAL_POLICY,
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
)
from policy.options import (
    BY_NAME,
    CERT_REMAPPING_OPTION,
    FLAG_ALWAYS,
    FLAG_SUPPLEMENTAL,
    option_bits,
    options_from_bits,
)
from policy.validate import check_policy, guid_text, parse_guid, parse_version

SUPPORTED_FORMATS = (7, 8)
DEFAULT_FORMAT = 8
HEADER_SIZE = 0x40
_DEFAULT_MIN_HASH = 0x800C  # CALG_SHA_256
_NO_VERSION = 0xFFFFFFFFFFFFFFFF
_KIND_CODE = {FileRuleKind.DENY: 0, FileRuleKind.ALLOW: 1, FileRuleKind.FILE_ATTRIB: 2}
_MACRO_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z_0-9.]*)\)")
_FILETIME_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=_dt.UTC)
# AppID tagging policies force these options (section 3.3 item 7; HotCakeX only, unverified).
_APPID_TAGGING_FORCED = (
    "Enabled:Audit Mode",
    "Enabled:UMCI",
    "Required:Enforce Store Applications",
    "Enabled:Advanced Boot Options Menu",
    "Disabled:Script Enforcement",
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DecompiledPolicy:
    """What a binary holds: the model, its format version, and option bits no name explains."""

    policy: SiPolicy
    format_version: int
    unknown_option_bits: int


# ----------------------------------------------------------------------------------------------
# The file-rule order (section 3.4)


@lru_cache(maxsize=4096)
def _upper_unit(unit: int) -> int:
    # .NET OrdinalIgnoreCase: simple upper-case mapping of each UTF-16 code unit on its own.
    # str.upper() may lengthen a character ('ß' -> 'SS'); such characters keep their code unit.
    if 0xD800 <= unit <= 0xDFFF:
        return unit
    upper = chr(unit).upper()
    return ord(upper) if len(upper) == 1 and ord(upper) <= 0xFFFF else unit


def _ordinal_ignore_case(text: str) -> tuple[int, ...]:
    data = text.encode("utf-16-le", "surrogatepass")
    return tuple(_upper_unit(u) for u in memoryview(data).cast("H"))


def _string_key(text: str | None) -> tuple[int, tuple[int, ...]]:
    # Absent sorts before present; present strings compare ordinally after upper-casing.
    return (0, ()) if text is None else (1, _ordinal_ignore_case(text))


def _rule_key(rule: FileRule) -> tuple[object, ...]:
    return (
        _KIND_CODE.get(rule.effective_kind, 1)
        if rule.effective_kind is not FileRuleKind.DENY
        else -1,
        _string_key(rule.file_name),
        _string_key(rule.internal_name),
        _string_key(rule.file_description),
        _string_key(rule.product_name),
        _string_key(rule.package_family_name),
        _string_key(rule.file_path),
        rule.hash_bytes,
    )


def legacy_sort(items: Sequence[T], key: Callable[[T], object]) -> list[T]:
    """Sort like the .NET Framework's pre-4.5 depth-limited quicksort (section 3.4).

    Not stable: equal elements are swapped by the partition step, and Microsoft's converter's
    output depends on exactly which swaps happen, so the algorithm is reproduced step by step.
    """
    keys = [key(x) for x in items]
    order = list(range(len(items)))

    def lt(a: int, b: int) -> bool:
        return bool(keys[a] < keys[b])  # type: ignore[operator]

    def swap_if_greater(a: int, b: int) -> None:
        if a != b and lt(order[b], order[a]):
            order[a], order[b] = order[b], order[a]

    def down_heap(i: int, n: int, lo: int) -> None:
        held = order[lo + i - 1]
        while i <= n // 2:
            child = 2 * i
            if child < n and lt(order[lo + child - 1], order[lo + child]):
                child += 1
            if not lt(held, order[lo + child - 1]):
                break
            order[lo + i - 1] = order[lo + child - 1]
            i = child
        order[lo + i - 1] = held

    def heap_sort(lo: int, hi: int) -> None:
        n = hi - lo + 1
        for i in range(n // 2, 0, -1):
            down_heap(i, n, lo)
        for i in range(n, 1, -1):
            order[lo], order[lo + i - 1] = order[lo + i - 1], order[lo]
            down_heap(1, i - 1, lo)

    def quick_sort(left: int, right: int, depth: int) -> None:
        while left < right:
            if depth == 0:
                heap_sort(left, right)
                return
            i, j = left, right
            mid = i + ((j - i) >> 1)
            swap_if_greater(i, mid)
            swap_if_greater(i, j)
            swap_if_greater(mid, j)
            pivot = order[mid]
            while True:
                while lt(order[i], pivot):
                    i += 1
                while lt(pivot, order[j]):
                    j -= 1
                if i > j:
                    break
                if i < j:
                    order[i], order[j] = order[j], order[i]
                i += 1
                j -= 1
                if i > j:
                    break
            depth -= 1
            if j - left <= right - i:
                if left < j:
                    quick_sort(left, j, depth)
                left = i
            else:
                if i < right:
                    quick_sort(i, right, depth)
                right = j

    if len(order) > 1:
        quick_sort(0, len(order) - 1, 32)
    return [items[k] for k in order]


# ----------------------------------------------------------------------------------------------
# Writing


class _Out:
    def __init__(self) -> None:
        self.buf = bytearray()

    def u32(self, value: int) -> None:
        self.buf += struct.pack("<I", value)

    def u64(self, value: int) -> None:
        self.buf += struct.pack("<Q", value)

    def raw(self, data: bytes) -> None:
        self.buf += data

    def blob(self, data: bytes) -> None:
        self.u32(len(data))
        self.buf += data
        self.buf += b"\0" * (-len(data) % 4)

    def string(self, text: str | None) -> None:
        # Strings carry one more zero DWORD after the padded text (section 3.1, trap 1).
        if text is None or not text.strip():
            self.buf += b"\0" * 8
            return
        self.blob(text.encode("utf-16-le"))
        self.u32(0)

    def indices(self, values: Sequence[int]) -> None:
        self.u32(len(values))
        for v in values:
            self.u32(v)


def _guid_bytes(text: str | None) -> bytes:
    return parse_guid(text).bytes_le if text else b"\0" * 16


def _version(text: str | None) -> int:
    return 0 if text is None else parse_version(text)


def _filetime(text: str) -> int:
    match = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?",
        text.strip(),
    )
    if not match:
        raise PolicyInputError(f"SignTimeAfter {text!r} is not an xs:dateTime")
    y, mo, d, h, mi, s, frac, tz = match.groups()
    # A time without offset is taken as UTC: Microsoft's converter would use the converting
    # machine's local time (open question 3), which a reproducible build cannot depend on.
    tzinfo = _dt.UTC
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        tzinfo = _dt.timezone(sign * _dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    moment = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tzinfo)
    delta = moment - _FILETIME_EPOCH
    ticks = (delta.days * 86400 + delta.seconds) * 10_000_000
    return ticks + int((frac or "0").ljust(7, "0"))


def _app_ids(rule: FileRule, macros: dict[str, str]) -> list[str]:
    if rule.app_ids is None:
        return []
    if rule.app_ids.startswith("$"):
        names = _MACRO_REF.findall(rule.app_ids)
        missing = [n for n in names if n not in macros]
        if missing:
            raise PolicyInputError(f"{rule.id}: AppIDs refers to undefined macro {missing[0]!r}")
        return [macros[n] for n in names]
    return [rule.app_ids]


def _refuse_unknown(policy: SiPolicy) -> None:
    """Content only a newer schema knows cannot be compiled into format 7/8: say so."""
    for node in policy.extra_children:
        if node.tag == "AppSettings" and not node.children:
            continue
        raise PolicyInputError(
            f"<{node.tag}> needs a newer binary format than 7/8; remove it to compile"
        )
    for rule in policy.file_rules or ():
        if rule.extra:
            raise PolicyInputError(
                f"file rule {rule.id}: attribute {rule.extra[0][0]} cannot be compiled"
            )
    for signer in policy.signers or ():
        for eku in signer.cert_ekus:
            if eku.extra:
                raise PolicyInputError(f"signer {signer.id}: CertEKU {eku.extra[0][0]} unsupported")
        if signer.extra_children:
            tag = signer.extra_children[0].tag
            raise PolicyInputError(f"signer {signer.id}: <{tag}> cannot be compiled")
    for sc in policy.signing_scenarios or ():
        if sc.extra_children:
            tag = sc.extra_children[0].tag
            raise PolicyInputError(f"scenario {sc.id}: <{tag}> cannot be compiled")


def _settings(policy: SiPolicy) -> list[Setting]:
    settings = list(policy.settings or ())
    # Synthesised settings (section 3.3 item 7): layout from HotCakeX, no Microsoft pair.
    for sc in policy.signing_scenarios or ():
        tags = sc.app_id_tags
        if tags is None:
            continue
        for k, v in tags.tags:
            settings.append(Setting("WDACAppId", "Tagging", k, SettingType.STRING, v))
        if (tags.enforce_dll or "").lower() in ("true", "1"):
            settings.append(
                Setting("WDACAppId", "TaggingSettings", "EnforceDLL", SettingType.BOOLEAN, "true")
            )
    if policy.policy_type == APPID_TAGGING_POLICY:
        settings.append(
            Setting("WDACAppId", "TaggingSettings", "DefaultPolicy", SettingType.BOOLEAN, "true")
        )
    if CERT_REMAPPING_OPTION in policy.options:
        settings.append(
            Setting(
                "Microsoft",
                "PolicySettings",
                "DisabledDefaultWindowsCertificateRemappingValueName",
                SettingType.BOOLEAN,
                "true",
            )
        )
    return legacy_sort(
        settings,
        lambda s: (
            _ordinal_ignore_case(s.provider),
            _ordinal_ignore_case(s.key),
            _ordinal_ignore_case(s.value_name),
        ),
    )


def compile_policy(
    policy: SiPolicy,
    *,
    format_version: int = DEFAULT_FORMAT,
    strict: bool = True,
    preserve_rule_order: bool = False,
    extra_option_bits: int = 0,
    source: str = "policy",
) -> bytes:
    """The binary policy for ``policy``.

    ``strict`` (default) refuses a policy with validation errors, such as a misspelled option
    that Microsoft's converter would silently drop; ``strict=False`` converts like
    ConvertFrom-CIPolicy. ``preserve_rule_order`` skips the sort, for models decompiled from a
    binary (whose rules are already in binary order; re-sorting would reorder ties).
    """
    if format_version not in SUPPORTED_FORMATS:
        raise PolicyInputError(f"binary format version {format_version} is not supported (7 or 8)")
    if strict:
        check_policy(policy, source)
    _refuse_unknown(policy)
    try:
        return _compile(policy, format_version, preserve_rule_order, extra_option_bits)
    except ValueError as exc:
        raise PolicyInputError(f"cannot compile policy: {exc}") from None


def _compile(policy: SiPolicy, fmt: int, preserve: bool, extra_bits: int) -> bytes:
    ekus = list(policy.ekus or ())
    rules = list(policy.file_rules or ())
    if not preserve:
        rules = legacy_sort(rules, _rule_key)
    signers = list(policy.signers or ())
    scenarios = list(policy.signing_scenarios or ())
    eku_index = {e.id: i for i, e in enumerate(ekus)}
    rule_index = {r.id: i for i, r in enumerate(rules)}
    signer_index = {s.id: i for i, s in enumerate(signers)}
    scenario_index = {s.id: i for i, s in enumerate(scenarios)}
    macros = {m.id: m.value for m in policy.macros or ()}

    def lookup(table: dict[str, int], ident: str, what: str) -> int:
        try:
            return table[ident]
        except KeyError:
            raise PolicyInputError(f"reference to undefined {what} {ident!r}") from None

    options = list(policy.options)
    if policy.policy_type == APPID_TAGGING_POLICY:
        options += _APPID_TAGGING_FORCED
    flags = FLAG_ALWAYS | option_bits(options) | extra_bits
    if policy.is_supplemental:
        flags |= FLAG_SUPPLEMENTAL
    if policy.is_legacy_format:
        header_guid = policy.policy_type_id
        id_guid = base_guid = policy.policy_type_id
    else:
        header_guid = policy.base_policy_id
        id_guid, base_guid = policy.policy_id, policy.base_policy_id

    out = _Out()
    out.u32(fmt)
    out.raw(_guid_bytes(header_guid))
    out.raw(_guid_bytes(policy.platform_id or None))
    out.u32(flags)
    for n in (len(ekus), len(rules), len(signers), len(scenarios)):
        out.u32(n)
    out.u64(parse_version(policy.version_ex))
    out.u32(HEADER_SIZE)

    for e in ekus:
        out.blob(bytes.fromhex(e.value))
    for r in rules:
        kind = r.effective_kind
        out.u32(_KIND_CODE.get(kind, 1))
        out.string(r.file_name)
        if (
            kind is FileRuleKind.DENY
            and r.minimum_file_version is None
            and r.maximum_file_version is None
        ):
            out.u64(_NO_VERSION)
        else:
            out.u64(_version(r.minimum_file_version))
        out.blob(r.hash_bytes)
    for s in signers:
        if s.cert_root.type == "TBS":
            out.u32(0)
            out.blob(bytes.fromhex(s.cert_root.value))
        else:
            out.u32(1)
            out.u32(int(s.cert_root.value, 16))
        out.indices([lookup(eku_index, e.id, "EKU") for e in s.cert_ekus])
        out.string(s.cert_issuer)
        out.string(s.cert_publisher)
        out.string(s.cert_oem_id)
        out.indices([lookup(rule_index, f.id, "file rule") for f in s.file_attrib_refs])
    out.indices([lookup(signer_index, r.id, "signer") for r in policy.update_policy_signers or ()])
    out.indices([lookup(signer_index, r.id, "signer") for r in policy.ci_signers or ()])

    for sc in scenarios:
        out.u32(sc.value)
        inherited = [
            lookup(scenario_index, name, "scenario")
            for name in (sc.inherited_scenarios or "").split(",")
            if name and name != sc.id
        ]
        out.indices(inherited)
        min_hash = int(sc.minimum_hash_algorithm or 0) or _DEFAULT_MIN_HASH
        out.u32(min_hash)
        for group in (sc.product_signers, sc.test_signers, sc.test_signing_signers):
            g = group or SignerGroup()
            for refs in (g.allowed, g.denied):
                out.u32(len(refs or ()))
                for ref in refs or ():
                    out.u32(lookup(signer_index, ref.signer_id, "signer"))
                    out.indices([lookup(rule_index, x, "file rule") for x in ref.except_rules])
            out.indices(
                sorted(lookup(rule_index, r.id, "file rule") for r in g.file_rules_ref or ())
            )

    out.u32(int(policy.hvci_options or 0))
    settings = _settings(policy)
    out.u32(len(settings))
    for st in settings:
        out.string(st.provider)
        out.string(st.key)
        out.string(st.value_name)
        if st.type is SettingType.BOOLEAN:
            out.u32(0)
            out.u32(1 if st.value.strip().lower() in ("true", "1") else 0)
        elif st.type is SettingType.DWORD:
            out.u32(1)
            out.u32(int(st.value))
        elif st.type is SettingType.BINARY:
            out.u32(2)
            out.blob(bytes.fromhex(st.value))
        else:
            out.u32(3)
            out.string(st.value)

    out.u32(3)
    for r in rules:
        out.u64(_version(r.maximum_file_version))
        ids = _app_ids(r, macros)
        out.u32(len(ids))
        for a in ids:
            out.string(a)
    for s in signers:
        out.u64(_filetime(s.sign_time_after) if s.sign_time_after else 0)
    out.u32(4)
    for r in rules:
        out.string(r.internal_name)
        out.string(r.file_description)
        out.string(r.product_name)
    out.u32(5)
    for r in rules:
        out.string(r.package_family_name)
        out.u64(_version(r.package_version))
    out.u32(6)
    out.raw(_guid_bytes(id_guid))
    out.raw(_guid_bytes(base_guid))
    out.indices(
        [lookup(signer_index, r.id, "signer") for r in policy.supplemental_policy_signers or ()]
    )
    out.u32(7)
    for r in rules:
        out.string(r.file_path)
    if fmt >= 8:
        out.u32(8)
        out.u32(0)  # AppSettings: none (the non-empty layout has no Microsoft sample)
    out.u32(fmt + 1)
    return bytes(out.buf)


# ----------------------------------------------------------------------------------------------
# Reading


class _In:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, message: str) -> PolicyInputError:
        return PolicyInputError(f"{self.source}: offset 0x{self.pos:X}: {message}")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated: need {n} bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.take(4))[0]
        return value

    def u64(self) -> int:
        value: int = struct.unpack("<Q", self.take(8))[0]
        return value

    def count(self, what: str, unit: int = 4) -> int:
        n = self.u32()
        if n * unit > len(self.data) - self.pos:
            raise self.fail(f"{what} count {n} exceeds the file")
        return n

    def blob(self) -> bytes:
        n = self.count("blob", 1)
        data = self.take(n)
        self.take(-n % 4)
        return data

    def string(self) -> str | None:
        raw = self.blob()
        if self.u32() != 0:
            raise self.fail("string is not followed by its zero DWORD")
        if not raw:
            return None
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise self.fail("string is not UTF-16") from None

    def indices(self, limit: int, what: str) -> list[int]:
        values = [self.u32() for _ in range(self.count(what))]
        for v in values:
            if v >= limit:
                raise self.fail(f"{what} index {v} out of range (only {limit})")
        return values

    def block(self, number: int) -> None:
        found = self.u32()
        if found != number:
            raise self.fail(f"expected block marker {number}, found {found}")


def _version_text(value: int) -> str:
    return ".".join(str((value >> s) & 0xFFFF) for s in (48, 32, 16, 0))


def _filetime_text(value: int) -> str:
    seconds, ticks = divmod(value, 10_000_000)
    moment = _FILETIME_EPOCH + _dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ticks:07d}" if ticks else "") + "Z"


def _scenario_id(value: int, used: set[str]) -> str:
    base = SCENARIO_IDS.get(value, f"ID_SIGNINGSCENARIO_S_{value}")
    ident, n = base, 1
    while ident in used:
        n += 1
        ident = f"{base}_{n}"
    used.add(ident)
    return ident


def decompile_policy(data: bytes, source: str = "<binary policy>") -> DecompiledPolicy:
    """Read a raw (unsigned) binary policy back into a model; IDs and names are regenerated."""
    r = _In(data, source)
    fmt = r.u32()
    if fmt not in SUPPORTED_FORMATS:
        hint = " (a signed policy starts with 0x30: unwrap it first)" if data[:1] == b"0" else ""
        raise r.fail(f"format version {fmt} is not supported (7 or 8){hint}")
    header_guid = r.take(16)
    platform = r.take(16)
    flags = r.u32()
    n_ekus, n_rules, n_signers, n_scenarios = (
        r.count(w) for w in ("EKU", "rule", "signer", "scenario")
    )
    version = r.u64()
    if r.u32() != HEADER_SIZE:
        raise r.fail("header size field is not 0x40")
    if not flags & FLAG_ALWAYS:
        raise r.fail("option flags lack 0x80000000: not a binary policy")

    ekus = tuple(Eku(f"ID_EKU_E_{i + 1:04X}", r.blob().hex().upper()) for i in range(n_ekus))
    rule_kinds = {0: FileRuleKind.DENY, 1: FileRuleKind.ALLOW, 2: FileRuleKind.FILE_ATTRIB}
    prefix = {
        FileRuleKind.DENY: "DENY_D",
        FileRuleKind.ALLOW: "ALLOW_A",
        FileRuleKind.FILE_ATTRIB: "FILEATTRIB_F",
    }
    raw_rules = []
    for i in range(n_rules):
        code = r.u32()
        if code not in rule_kinds:
            raise r.fail(f"file rule {i}: unknown kind {code}")
        raw_rules.append((rule_kinds[code], r.string(), r.u64(), r.blob()))
    raw_signers = []
    for i in range(n_signers):
        root_kind = r.u32()
        if root_kind == 0:
            root = CertRoot("TBS", r.blob().hex().upper())
        elif root_kind == 1:
            root = CertRoot("Wellknown", f"{r.u32():02X}")
        else:
            raise r.fail(f"signer {i}: unknown root kind {root_kind}")
        cert_ekus = r.indices(n_ekus, "EKU")
        issuer, publisher, oem = r.string(), r.string(), r.string()
        attribs = r.indices(n_rules, "file rule")
        raw_signers.append((root, cert_ekus, issuer, publisher, oem, attribs))
    update_signers = r.indices(n_signers, "signer")
    ci_signers = r.indices(n_signers, "signer")

    raw_scenarios = []
    for _ in range(n_scenarios):
        value = r.u32()
        inherited = r.indices(n_scenarios, "scenario")
        min_hash = r.u32()
        groups = []
        for _g in range(3):
            lists = []
            for _k in range(2):
                entries = []
                for _e in range(r.count("signer")):
                    sid = r.u32()
                    if sid >= n_signers:
                        raise r.fail(f"signer index {sid} out of range")
                    entries.append((sid, r.indices(n_rules, "file rule")))
                lists.append(entries)
            groups.append((lists[0], lists[1], r.indices(n_rules, "file rule")))
        raw_scenarios.append((value, inherited, min_hash, groups))
    hvci = r.u32()
    settings = []
    for _ in range(r.count("setting")):
        provider, key, name = r.string() or "", r.string() or "", r.string() or ""
        t = r.u32()
        if t == 0:
            st, text = SettingType.BOOLEAN, "true" if r.u32() else "false"
        elif t == 1:
            st, text = SettingType.DWORD, str(r.u32())
        elif t == 2:
            st, text = SettingType.BINARY, r.blob().hex().upper()
        elif t == 3:
            st, text = SettingType.STRING, r.string() or ""
        else:
            raise r.fail(f"setting {provider}/{key}/{name}: unknown value type {t}")
        settings.append(Setting(provider, key, name, st, text))

    r.block(3)
    maxima, app_ids = [], []
    for _ in range(n_rules):
        maxima.append(r.u64())
        app_ids.append([r.string() or "" for _ in range(r.count("AppIDs"))])
    sign_times = [r.u64() for _ in range(n_signers)]
    r.block(4)
    names = [(r.string(), r.string(), r.string()) for _ in range(n_rules)]
    r.block(5)
    packages = [(r.string(), r.u64()) for _ in range(n_rules)]
    r.block(6)
    policy_id, base_id = r.take(16), r.take(16)
    supplemental_signers = r.indices(n_signers, "signer")
    r.block(7)
    paths = [r.string() for _ in range(n_rules)]
    if fmt >= 8:
        r.block(8)
        if r.u32() != 0:
            raise r.fail("AppSettings are present; reading them is not supported")
    r.block(fmt + 1)
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} bytes follow the end marker")

    macros: list[Macro] = []
    rules = []
    for i, (kind, file_name, minimum, hash_) in enumerate(raw_rules):
        maximum = maxima[i]
        min_text: str | None
        if kind is FileRuleKind.DENY and minimum == _NO_VERSION and maximum == 0:
            min_text = None
        elif kind is FileRuleKind.DENY and minimum == 0 and maximum == 0:
            # An explicit zero version: absent would compile to all-ones.
            min_text = _version_text(0)
        else:
            min_text = _version_text(minimum) if minimum else None
        ids = app_ids[i]
        app_text: str | None = None
        if len(ids) == 1 and not ids[0].startswith("$"):
            app_text = ids[0]
        elif ids:
            refs = []
            for app in ids:
                macro = Macro(f"AppId{len(macros) + 1}", app)
                macros.append(macro)
                refs.append(f"$({macro.id})")
            app_text = "".join(refs)
        pfn, pkg_version = packages[i]
        rules.append(
            FileRule(
                kind=kind,
                id=f"ID_{prefix[kind]}_{i + 1:04X}",
                file_name=file_name,
                internal_name=names[i][0],
                file_description=names[i][1],
                product_name=names[i][2],
                package_family_name=pfn,
                package_version=_version_text(pkg_version) if pkg_version else None,
                minimum_file_version=min_text,
                maximum_file_version=_version_text(maximum) if maximum else None,
                hash=hash_.hex().upper() if hash_ else None,
                app_ids=app_text,
                file_path=paths[i],
            )
        )
    signers = []
    for i, (root, cert_ekus, issuer, publisher, oem, attribs) in enumerate(raw_signers):
        signers.append(
            Signer(
                id=f"ID_SIGNER_S_{i + 1:04X}",
                name=publisher or issuer or f"Signer {i + 1}",
                cert_root=root,
                cert_ekus=tuple(Ref(ekus[k].id) for k in cert_ekus),
                cert_issuer=issuer,
                cert_publisher=publisher,
                cert_oem_id=oem,
                file_attrib_refs=tuple(Ref(rules[k].id) for k in attribs),
                sign_time_after=_filetime_text(sign_times[i]) if sign_times[i] else None,
            )
        )
    used: set[str] = set()
    scenario_ids = [_scenario_id(v, used) for v, _, _, _ in raw_scenarios]
    scenarios = []
    for i, (value, inherited, min_hash, groups) in enumerate(raw_scenarios):
        built = []
        for allowed, denied, rule_refs in groups:
            built.append(
                SignerGroup(
                    tuple(
                        SignerRef(signers[s].id, tuple(rules[x].id for x in ex))
                        for s, ex in allowed
                    )
                    or None,
                    tuple(
                        SignerRef(signers[s].id, tuple(rules[x].id for x in ex)) for s, ex in denied
                    )
                    or None,
                    tuple(Ref(rules[x].id) for x in rule_refs) or None,
                )
            )
        empty = SignerGroup()
        scenarios.append(
            SigningScenario(
                id=scenario_ids[i],
                value=value,
                inherited_scenarios=",".join(scenario_ids[k] for k in inherited) or None,
                minimum_hash_algorithm=None if min_hash == _DEFAULT_MIN_HASH else str(min_hash),
                product_signers=built[0],
                test_signers=None if built[1] == empty else built[1],
                test_signing_signers=None if built[2] == empty else built[2],
            )
        )
    option_names, unknown_bits = options_from_bits(flags)
    option_names = tuple(o for o in option_names if o in BY_NAME)
    supplemental = bool(flags & FLAG_SUPPLEMENTAL)
    policy = SiPolicy(
        version_ex=_version_text(version),
        platform_id=guid_text(uuid.UUID(bytes_le=platform)),
        policy_type=SUPPLEMENTAL_POLICY if supplemental else BASE_POLICY,
        policy_id=guid_text(uuid.UUID(bytes_le=policy_id)),
        base_policy_id=guid_text(uuid.UUID(bytes_le=base_id if supplemental else header_guid)),
        options=option_names,
        ekus=ekus,
        file_rules=tuple(rules),
        signers=tuple(signers),
        signing_scenarios=tuple(scenarios),
        update_policy_signers=tuple(Ref(signers[k].id) for k in update_signers),
        ci_signers=tuple(Ref(signers[k].id) for k in ci_signers),
        hvci_options=str(hvci),
        settings=tuple(settings),
        macros=tuple(macros) or None,
        supplemental_policy_signers=tuple(Ref(signers[k].id) for k in supplemental_signers) or None,
    )
    if not supplemental and base_id != header_guid:
        raise PolicyInputError(
            f"{source}: block 6 BasePolicyID differs from the header GUID in a base policy"
        )
    return DecompiledPolicy(policy, fmt, unknown_bits)
