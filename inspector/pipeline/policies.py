"""The ``inspector policy`` jobs: read inputs, call the pure policy cores, write outputs atomically.

sipolicy.md (formats) and formats.md 3 / 6.2 (hash and signer rules). Every output goes through a
temp file and a rename, and nothing is written when any step fails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from catalog import CatalogInputError, FileFailure
from catalog.cms import (
    KeySigner,
    Transport,
    http_transport,
    preflight_signer,
    require_timestamp,
    timestamp_servers,
)
from catalog.pe import HashOptions, hash_paths
from inspector.pipeline.files import read_input, write_atomically
from policy import (
    BY_NAME,
    DEFAULT_FORMAT,
    SCENARIO_KERNEL,
    SCENARIO_USER,
    FileHashes,
    Issue,
    PolicyInputError,
    SignedPolicy,
    Signer,
    SignerLevel,
    SiPolicy,
    add_file_rules,
    add_policy_signer,
    add_signer,
    check_policy,
    compile_policy,
    decompile_policy,
    hash_rules,
    is_signed,
    load_signer_chain,
    looks_like_xml,
    merge_policies,
    new_policy,
    preflight_policy_signing,
    preflight_supplemental_signing,
    read_policy_xml,
    set_policy_info,
    set_rule_options,
    sign_policy_binary,
    signer_rule,
    stable_signer_id,
    unwrap_signed_policy,
    validate_policy,
    with_signer_eku,
    write_policy_xml,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A policy read from XML, a raw binary or a signed binary."""

    policy: SiPolicy
    source_format: str
    """``xml``, ``binary`` or ``signed``."""
    format_version: int | None = None
    signature: SignedPolicy | None = None


def load_policy(path: Path, *, verify: bool = True) -> LoadedPolicy:
    """Read any policy file, telling XML, signed PKCS#7 and raw binary apart by content."""
    data = read_input(path, "policy")
    # UTF-8 or UTF-16 (with or without a BOM) XML, before any binary interpretation.
    if looks_like_xml(data):
        return LoadedPolicy(read_policy_xml(data, str(path)), "xml")
    signature = None
    if is_signed(data):
        signature = unwrap_signed_policy(data, str(path), verify=verify)
        data = signature.policy
    decoded = decompile_policy(data, str(path))
    kind = "signed" if signature is not None else "binary"
    return LoadedPolicy(decoded.policy, kind, decoded.format_version, signature)


def _load_xml(path: Path) -> SiPolicy:
    loaded = load_policy(path)
    if loaded.source_format != "xml":
        raise PolicyInputError(f"{path}: expected a policy XML, found a {loaded.source_format}")
    return loaded.policy


def save_policy_xml(policy: SiPolicy, output: Path, *, check: bool = True) -> tuple[Issue, ...]:
    """Validate (errors refuse the write) and write the XML atomically; return the warnings."""
    warnings = check_policy(policy, str(output)) if check else ()
    write_atomically(output, write_policy_xml(policy))
    return warnings


# ----------------------------------------------------------------------------------------------
# Generators


@dataclass(frozen=True, slots=True)
class GenerateResult:
    output: Path
    policy: SiPolicy
    warnings: tuple[Issue, ...] = ()
    failures: tuple[FileFailure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "output": str(self.output),
            "policy_id": self.policy.policy_id,
            "base_policy_id": self.policy.base_policy_id,
            "policy_type": self.policy.policy_type,
            "file_rules": len(self.policy.file_rules or ()),
            "signers": len(self.policy.signers or ()),
            "warnings": [str(w) for w in self.warnings],
            "failures": [f.to_dict() for f in self.failures],
        }


def _start(
    *,
    merge_into: Path | None,
    template: str,
    name: str,
    policy_id: str | None,
    base_policy_id: str | None,
    version: str | None,
) -> SiPolicy:
    if merge_into is not None:
        return _load_xml(merge_into)
    return new_policy(
        template,
        name=name,
        policy_id=policy_id,
        base_policy_id=base_policy_id,
        version=version or "10.0.0.0",
    )


def supplemental_for_signer(
    signer_path: Path,
    output: Path,
    *,
    base_policy_id: str,
    level: SignerLevel = SignerLevel.PUBLISHER,
    kernel: bool = False,
    name: str | None = None,
    policy_id: str | None = None,
    version: str | None = None,
    eku: str | None = None,
) -> GenerateResult:
    """A supplemental policy trusting the signer of a catalog (or a certificate).

    ``eku``: a dotted OID (a Trusted Signing customer EKU) the signer's certificates must carry.
    """
    signer = _policy_signer(signer_path, level, "ID_SIGNER_S_", "catalog or certificate")
    policy = new_policy(
        "supplemental",
        name=name or f"{signer_path.stem} supplemental",
        policy_id=policy_id,
        base_policy_id=base_policy_id,
        version=version or "10.0.0.0",
    )
    if eku is not None:
        policy, signer = with_signer_eku(policy, signer, eku)
    scenarios = (SCENARIO_USER, SCENARIO_KERNEL) if kernel else (SCENARIO_USER,)
    policy = add_signer(policy, signer, scenarios)
    if not kernel:
        policy = policy.with_changes(
            signing_scenarios=tuple(
                s for s in policy.signing_scenarios or () if s.value != SCENARIO_KERNEL
            )
        )
    return GenerateResult(output, policy, save_policy_xml(policy, output))


def default_for_signer(
    signer_path: Path,
    output: Path,
    *,
    name: str | None = None,
    policy_id: str | None = None,
    version: str | None = None,
    kernel: bool = False,
    eku: str | None = None,
) -> GenerateResult:
    """The "default policy" a Device Guard-style signing service hands back for its signer.

    An audit-mode base policy trusting the signer of ``signer_path`` (a certificate or a catalog
    it signed) at the PcaCertificate level (its issuing CA's TBS), for user mode (and drivers with
    ``kernel``), also as UpdatePolicySigner so the signed policy can be replaced. Merge it with a
    reference-device policy (``policy merge``) to trust what the service signs.
    """
    signer = _policy_signer(
        signer_path, SignerLevel.PCA_CERTIFICATE, "ID_SIGNER_S_", "catalog or certificate"
    )
    policy = new_policy(
        "audit",
        name=name or f"Default policy for {signer.name}",
        policy_id=policy_id,
        version=version or "10.0.0.0",
    )
    if eku is not None:
        policy, signer = with_signer_eku(policy, signer, eku)
    scenarios = (SCENARIO_USER, SCENARIO_KERNEL) if kernel else (SCENARIO_USER,)
    policy = add_signer(policy, signer, scenarios)
    policy = add_policy_signer(policy, signer, "UpdatePolicySigners")
    return GenerateResult(output, policy, save_policy_xml(policy, output))


def _hash_inputs(inputs: Sequence[Path]) -> tuple[list[FileHashes], list[FileFailure]]:
    if len(inputs) == 1 and inputs[0].suffix.lower() == ".json" and inputs[0].is_file():
        source = str(inputs[0])
        try:
            doc = json.loads(read_input(inputs[0], "hash report"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise PolicyInputError(f"{source}: not a JSON hash report: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
            raise PolicyInputError(
                f"{source}: expected the JSON of 'inspector hash --json' (a 'files' list)"
            )
        files = [FileHashes.from_report(e, source) for e in doc["files"]]
        failures = [
            FileFailure(str(f.get("path")), str(f.get("error")), str(f.get("category", "input")))
            for f in doc.get("failures", [])
            if isinstance(f, dict)
        ]
        return files, failures
    good: list[FileHashes] = []
    bad: list[FileFailure] = []
    options = HashOptions(metadata=False, signature=False)
    for result in hash_paths([str(p) for p in inputs], options):
        if isinstance(result, FileFailure):
            bad.append(result)
            continue
        try:
            good.append(FileHashes.from_digests(result))
        except CatalogInputError as exc:
            bad.append(FileFailure(result.path, str(exc), "input"))
    return good, bad


def hashes_policy(
    inputs: Sequence[Path],
    output: Path,
    *,
    deny: bool = False,
    supplemental: bool = False,
    base_policy_id: str | None = None,
    template: str = "enforced",
    kernel: bool = False,
    name: str | None = None,
    policy_id: str | None = None,
    version: str | None = None,
    merge_into: Path | None = None,
) -> GenerateResult:
    """Hash rules for files (hashed here) or a hash report, as a new or merged policy."""
    if supplemental and not base_policy_id and merge_into is None:
        raise PolicyInputError("--supplemental needs --base-policy-id GUID")
    files, failures = _hash_inputs(inputs)
    if not files:
        raise PolicyInputError("no file could be hashed; nothing to write")
    rules = hash_rules(files, deny=deny)
    base = _start(
        merge_into=merge_into,
        template="supplemental" if supplemental else template,
        name=name or output.stem,
        policy_id=policy_id,
        base_policy_id=base_policy_id,
        version=version,
    )
    scenarios = (SCENARIO_USER, SCENARIO_KERNEL) if kernel else (SCENARIO_USER,)
    fresh = add_file_rules(
        new_policy("enforced", name="incoming", policy_id="{00000000-0000-0000-0000-000000000001}"),
        rules,
        scenarios,
    )
    policy = merge_policies(base, fresh)
    return GenerateResult(output, policy, save_policy_xml(policy, output), tuple(failures))


def new_base_policy(
    output: Path,
    *,
    template: str,
    name: str,
    policy_id: str | None = None,
    version: str | None = None,
    add_options: Sequence[str] = (),
    remove_options: Sequence[str] = (),
) -> GenerateResult:
    policy = new_policy(template, name=name, policy_id=policy_id, version=version or "10.0.0.0")
    policy = set_rule_options(policy, add_options, remove_options)
    return GenerateResult(output, policy, save_policy_xml(policy, output))


def _policy_signer(
    path: Path, level: SignerLevel, prefix: str, what: str = "certificate"
) -> Signer:
    """The Signer for a certificate (or signed catalog) at ``level``, with an ID derived from what
    it trusts, so editing a policy twice gives the same IDs."""
    chain = load_signer_chain(read_input(path, what), str(path))
    probe = signer_rule(chain, level, prefix + "X")
    return replace(probe, id=stable_signer_id(probe, prefix))


def edit_policy(
    path: Path,
    output: Path | None,
    *,
    add_options: Sequence[str] = (),
    remove_options: Sequence[str] = (),
    name: str | None = None,
    info_id: str | None = None,
    policy_id: str | None = None,
    base_policy_id: str | None = None,
    version: str | None = None,
    update_signer: Path | None = None,
    update_signer_level: SignerLevel = SignerLevel.PCA_CERTIFICATE,
    supplemental_signer: Path | None = None,
    supplemental_signer_level: SignerLevel = SignerLevel.PCA_CERTIFICATE,
    eku: str | None = None,
) -> GenerateResult:
    """Set-RuleOption + Set-CIPolicyIdInfo on an XML policy (in place unless ``output``).

    ``update_signer``: a certificate (or signed catalog) whose signer may replace the policy once
    it is deployed signed (an UpdatePolicySigner, required before signing).
    ``supplemental_signer``: one whose signer may sign supplemental policies of this base policy
    (a SupplementalPolicySigner: without it Windows refuses signed supplementals). A Signer that
    already trusts the same certificate at the same level is reused, not duplicated.
    ``eku``: a dotted OID (Trusted Signing customer EKU) those signers' certificates must carry.
    """
    if eku is not None and update_signer is None and supplemental_signer is None:
        raise PolicyInputError("--eku applies to --update-signer/--supplemental-signer; give one")
    policy = _load_xml(path)
    policy = set_rule_options(policy, add_options, remove_options)
    policy = set_policy_info(
        policy,
        name=name,
        info_id=info_id,
        policy_id=policy_id,
        base_policy_id=base_policy_id,
        version=version,
    )
    # After Set-CIPolicyIdInfo: --base-policy-id in the same call can make the policy supplemental.
    for role, signer_path, level, prefix in (
        ("UpdatePolicySigners", update_signer, update_signer_level, "ID_SIGNER_U_"),
        (
            "SupplementalPolicySigners",
            supplemental_signer,
            supplemental_signer_level,
            "ID_SIGNER_P_",
        ),
    ):
        if signer_path is not None:
            signer = _policy_signer(signer_path, level, prefix)
            if eku is not None:
                policy, signer = with_signer_eku(policy, signer, eku)
            policy = add_policy_signer(policy, signer, role)
    target = output or path
    return GenerateResult(target, policy, save_policy_xml(policy, target))


def merge_policy_files(existing: Path, incoming: Sequence[Path], output: Path) -> GenerateResult:
    policy = _load_xml(existing)
    for path in incoming:
        policy = merge_policies(policy, _load_xml(path))
    return GenerateResult(output, policy, save_policy_xml(policy, output))


# ----------------------------------------------------------------------------------------------
# Compile, sign, show


@dataclass(frozen=True, slots=True)
class CompileResult:
    output: Path
    policy_id: str | None
    size: int
    format_version: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "output": str(self.output),
            "policy_id": self.policy_id,
            "size": self.size,
            "format_version": self.format_version,
        }


def output_name(template: str, policy: SiPolicy) -> Path:
    """Expand ``{PolicyID}`` in an output name (``{PolicyID}.cip`` is how Windows wants it)."""
    pid = policy.policy_id or policy.policy_type_id or ""
    return Path(template.replace("{PolicyID}", pid))


def compile_file(
    path: Path, output: str, *, format_version: int = DEFAULT_FORMAT, strict: bool = True
) -> CompileResult:
    policy = _load_xml(path)
    data = compile_policy(policy, format_version=format_version, strict=strict, source=str(path))
    target = output_name(output, policy)
    write_atomically(target, data)
    return CompileResult(target, policy.policy_id, len(data), format_version)


def decompile_file(path: Path, output: Path) -> GenerateResult:
    """Binary (signed or not) -> XML; IDs and names are regenerated (the binary has none)."""
    loaded = load_policy(path)
    if loaded.source_format == "xml":
        raise PolicyInputError(f"{path}: already XML")
    write_atomically(output, write_policy_xml(loaded.policy))
    return GenerateResult(output, loaded.policy, validate_policy(loaded.policy))


@dataclass(frozen=True, slots=True)
class PolicySignResult:
    output: Path
    size: int
    signer: str
    backend: str = "file"
    timestamped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "output": str(self.output),
            "size": self.size,
            "signer": self.signer,
            "backend": self.backend,
            "timestamped": self.timestamped,
        }


def sign_policy_file(
    path: Path,
    output: Path,
    identity: KeySigner,
    *,
    now: dt.datetime | None = None,
    base: Path | None = None,
    timestamp_urls: Sequence[str] = (),
    allow_unstamped: bool = False,
    transport: Transport = http_transport,
) -> PolicySignResult:
    """Sign an unsigned binary policy (.cip) after the WDAC pre-flight checks.

    ``base`` (supplemental policies): the base policy (XML or binary, signed or not); signing is
    refused unless the signing certificate is one of its SupplementalPolicySigners.
    ``timestamp_urls``: RFC 3161 servers tried in order (the token is verified before writing).
    """
    data = read_input(path, "binary policy")
    if looks_like_xml(data):
        raise PolicyInputError(f"{path}: this is XML; compile it first (inspector policy compile)")
    if is_signed(data):
        raise PolicyInputError(f"{path}: already signed; sign the unsigned .cip")
    decoded = decompile_policy(data, str(path))
    stamper = timestamp_servers(timestamp_urls, transport)
    require_timestamp(identity, stamper is not None, allow_unstamped)
    preflight_signer(identity, now or dt.datetime.now(dt.UTC))
    preflight_policy_signing(decoded.policy, identity)
    if base is not None:
        base_policy = load_policy(base, verify=False).policy
        preflight_supplemental_signing(decoded.policy, base_policy, identity, str(base))
    signed = sign_policy_binary(data, identity, stamper)
    write_atomically(output, signed)
    return PolicySignResult(
        output,
        len(signed),
        identity.certificate.subject.rfc4514_string(),
        identity.backend,
        stamper is not None,
    )


@dataclass(frozen=True, slots=True)
class ShowReport:
    path: Path
    loaded: LoadedPolicy
    issues: tuple[Issue, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        p = self.loaded.policy
        sig = self.loaded.signature
        return {
            "schema_version": SCHEMA_VERSION,
            "path": str(self.path),
            "source_format": self.loaded.source_format,
            "format_version": self.loaded.format_version,
            "signature": None
            if sig is None
            else {
                "signers": list(sig.signer_subjects),
                "signed_data_version": sig.signed_data_version,
                "digest_algorithm": sig.digest_algorithm,
                "verified": sig.verified,
            },
            "policy_type": p.policy_type,
            "policy_id": p.policy_id,
            "base_policy_id": p.base_policy_id,
            "policy_type_id": p.policy_type_id,
            "version": p.version_ex,
            "options": [
                {"name": o, "number": BY_NAME[o].number if o in BY_NAME else None}
                for o in p.options
            ],
            "file_rules": [
                {
                    k: v
                    for k, v in {
                        "id": r.id,
                        "kind": r.kind.value,
                        "friendly_name": r.friendly_name,
                        "file_name": r.file_name,
                        "internal_name": r.internal_name,
                        "file_description": r.file_description,
                        "product_name": r.product_name,
                        "file_path": r.file_path,
                        "minimum_file_version": r.minimum_file_version,
                        "maximum_file_version": r.maximum_file_version,
                        "hash": r.hash,
                    }.items()
                    if v is not None
                }
                for r in p.file_rules or ()
            ],
            "signers": [
                {
                    "id": s.id,
                    "name": s.name,
                    "root_type": s.cert_root.type,
                    "root": s.cert_root.value,
                    "publisher": s.cert_publisher,
                }
                for s in p.signers or ()
            ],
            "scenarios": [
                {
                    "id": sc.id,
                    "value": sc.value,
                    "allowed_signers": [r.signer_id for r in sc.product_signers.allowed or ()],
                    "denied_signers": [r.signer_id for r in sc.product_signers.denied or ()],
                    "file_rules": [r.id for r in sc.product_signers.file_rules_ref or ()],
                }
                for sc in p.signing_scenarios or ()
            ],
            "update_policy_signers": [r.id for r in p.update_policy_signers or ()],
            "supplemental_policy_signers": [r.id for r in p.supplemental_policy_signers or ()],
            "issues": [str(i) for i in self.issues],
        }


def show_policy(path: Path) -> ShowReport:
    loaded = load_policy(path)
    return ShowReport(path, loaded, validate_policy(loaded.policy))
