"""The binary policy -> SiPolicy model: the reader behind ``policy show`` and ``policy decompile``.

sipolicy.md sections 3.2 and 3.3 read back in file order, with every count bounded by the bytes
left and every index checked against its table (offsets in the messages). IDs, names and comments
are not stored in the binary, so they are regenerated in the style of the reference readers
(section 5: ``ID_ALLOW_A_0001`` = rule 1 of the sorted array).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from policy.binary.layout import (
    DEFAULT_MIN_HASH,
    HEADER_SIZE,
    MAX_BINARY_BYTES,
    NO_VERSION,
    SUPPORTED_FORMATS,
    Reader,
    filetime_text,
    version_text,
)
from policy.errors import PolicyInputError
from policy.model import (
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
from policy.options import BY_NAME, FLAG_ALWAYS, FLAG_SUPPLEMENTAL, options_from_bits
from policy.validate import guid_text


@dataclass(frozen=True, slots=True)
class DecompiledPolicy:
    """What a binary holds: the model, its format version, and option bits no name explains."""

    policy: SiPolicy
    format_version: int
    unknown_option_bits: int


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
    if len(data) > MAX_BINARY_BYTES:
        raise PolicyInputError(
            f"{source}: {len(data):,} bytes is more than the {MAX_BINARY_BYTES:,} a binary policy "
            "may have; this is not a policy"
        )
    r = Reader(data, source)
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
        if kind is FileRuleKind.DENY and minimum == NO_VERSION and maximum == 0:
            min_text = None
        elif kind is FileRuleKind.DENY and minimum == 0 and maximum == 0:
            # An explicit zero version: absent would compile to all-ones.
            min_text = version_text(0)
        else:
            min_text = version_text(minimum) if minimum else None
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
                package_version=version_text(pkg_version) if pkg_version else None,
                minimum_file_version=min_text,
                maximum_file_version=version_text(maximum) if maximum else None,
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
                sign_time_after=filetime_text(sign_times[i]) if sign_times[i] else None,
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
                minimum_hash_algorithm=None if min_hash == DEFAULT_MIN_HASH else str(min_hash),
                product_signers=built[0],
                test_signers=None if built[1] == empty else built[1],
                test_signing_signers=None if built[2] == empty else built[2],
            )
        )
    option_names, unknown_bits = options_from_bits(flags)
    option_names = tuple(o for o in option_names if o in BY_NAME)
    supplemental = bool(flags & FLAG_SUPPLEMENTAL)
    policy = SiPolicy(
        version_ex=version_text(version),
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
