"""``inspector policy ...``: write, edit, compile, sign and show WDAC policies (sipolicy.md).

Thin: options in, one ``inspector.pipeline.policies`` call, a table or ``--json`` out.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inspector.cli.commands_sign import (
    CERT_HELP,
    KEY_HELP,
    METADATA_OPTION,
    MODULE_OPTION,
    TIMEOUT_OPTION,
    TIMESTAMP_OPTION,
    UNSTAMPED_OPTION,
    signing_identity,
)
from inspector.cli.exit_codes import ExitCode
from inspector.cli.groups import policy_app
from inspector.pipeline import policies
from inspector.pipeline.policies import GenerateResult, ShowReport
from policy import (
    BASE_TEMPLATES,
    SUPPORTED_FORMATS,
    PolicyInputError,
    PolicyValidationError,
    SignerLevel,
    guid_text,
    option_choices,
    resolve_option,
)


def register(app: typer.Typer) -> None:
    del app  # the commands live on the shared ``policy`` group
    policy_app.command("supplemental")(supplemental_command)
    policy_app.command("default-for-signer")(default_for_signer_command)
    policy_app.command("hashes")(hashes_command)
    policy_app.command("new")(new_command)
    policy_app.command("set")(set_command)
    policy_app.command("merge")(merge_command)
    policy_app.command("compile")(compile_command)
    policy_app.command("decompile")(decompile_command)
    policy_app.command("sign")(sign_command)
    policy_app.command("show")(show_command)
    policy_app.command("validate")(validate_command)


def _template(value: str) -> str:
    if value not in BASE_TEMPLATES:
        raise typer.BadParameter(f"{value!r} is not a template; use {' or '.join(BASE_TEMPLATES)}")
    return value


def _options(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        try:
            resolve_option(value)
        except KeyError:
            raise typer.BadParameter(
                f"unknown rule option {value!r}; use a number or a name: {option_choices()}"
            ) from None
    return values


def _guid(value: str | None) -> str | None:
    if value is not None:
        try:
            guid_text(value)
        except PolicyInputError:
            raise typer.BadParameter(
                f"{value!r} is not a GUID; use {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}} (32 hex "
                "digits in groups of 8-4-4-4-12; the braces are optional)"
            ) from None
    return value


def _level(value: str) -> str:
    try:
        SignerLevel.parse(value)
    except PolicyInputError:
        raise typer.BadParameter(
            f"{value!r} is not a signer level; use {', '.join(v.value for v in SignerLevel)}"
        ) from None
    return value


def _format(value: int) -> int:
    if value not in SUPPORTED_FORMATS:
        raise typer.BadParameter(
            f"{value} is not a binary format version; use "
            + " or ".join(str(f) for f in SUPPORTED_FORMATS)
        )
    return value


_OUT = typer.Option(..., "--output", "-o", help="Policy XML to write.")
_JSON = typer.Option(False, "--json", help="Print one JSON document for machines.")
_NAME = typer.Option(None, "--name", help="Policy name (PolicyInfo setting).")
_PID = typer.Option(
    None, "--policy-id", callback=_guid, help="PolicyID GUID (default: derived from the name)."
)
_VERSION = typer.Option(None, "--version-ex", help="VersionEx a.b.c.d (default 10.0.0.0).")
_EKU = typer.Option(
    None,
    "--eku",
    metavar="OID",
    help="The signer's certificates must carry this EKU (a Trusted Signing customer EKU).",
)


def _report(result: GenerateResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        p = result.policy
        typer.echo(
            f"wrote {result.output}: {p.policy_type} {p.policy_id}"
            + (f" (base {p.base_policy_id})" if p.is_supplemental else "")
            + f", {len(p.file_rules or ())} file rules, {len(p.signers or ())} signers"
        )
    for w in result.warnings:
        typer.echo(str(w), err=True)
    for f in result.failures:
        typer.echo(f"error: {f.error}", err=True)
    if result.failures:
        typer.echo(f"{len(result.failures)} inputs could not be hashed (listed above)", err=True)
        raise typer.Exit(int(ExitCode.BAD_INPUT))


def supplemental_command(
    base_policy_id: str = typer.Option(
        ..., "--base-policy-id", callback=_guid, help="The base's PolicyID (a GUID)."
    ),
    signer: Path = typer.Option(  # noqa: B008
        ..., "--signer", help="Signed catalog (.cat) or certificate (PEM/DER) to trust."
    ),
    level: str = typer.Option(
        "Publisher",
        "--level",
        callback=_level,
        help="Publisher, PcaCertificate or LeafCertificate.",
    ),
    kernel: bool = typer.Option(False, "--kernel", help="Also trust it for drivers (131)."),
    output: Path = _OUT,
    name: str | None = _NAME,
    policy_id: str | None = _PID,
    version: str | None = _VERSION,
    eku: str | None = _EKU,
    as_json: bool = _JSON,
) -> None:
    """Supplemental policy trusting the signer of a catalog (scenario 12, optionally 131)."""
    result = policies.supplemental_for_signer(
        signer,
        output,
        base_policy_id=base_policy_id,
        level=SignerLevel.parse(level),
        kernel=kernel,
        name=name,
        policy_id=policy_id,
        version=version,
        eku=eku,
    )
    _report(result, as_json)


def default_for_signer_command(
    signer: Path = typer.Argument(  # noqa: B008
        ..., help="The signing service's certificate (PEM/DER) or a catalog it signed."
    ),
    output: Path = _OUT,
    kernel: bool = typer.Option(False, "--kernel", help="Also trust it for drivers (131)."),
    name: str | None = _NAME,
    policy_id: str | None = _PID,
    version: str | None = _VERSION,
    eku: str | None = _EKU,
    as_json: bool = _JSON,
) -> None:
    """The default policy a Device Guard-style signing service hands back: audit mode, its
    signer's issuing CA (PcaCertificate) trusted and allowed to update the policy. Merge it with
    the reference-device policy: inspector policy merge default.xml device.xml -o merged.xml"""
    result = policies.default_for_signer(
        signer,
        output,
        name=name,
        policy_id=policy_id,
        version=version,
        kernel=kernel,
        eku=eku,
    )
    _report(result, as_json)


def hashes_command(
    inputs: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Files/folders to hash, or one 'inspector hash --json' report."
    ),
    output: Path = _OUT,
    deny: bool = typer.Option(False, "--deny", help="Write Deny rules instead of Allow."),
    supplemental: bool = typer.Option(
        False, "--supplemental/--base", help="Supplemental (needs --base-policy-id) or base."
    ),
    base_policy_id: str | None = typer.Option(None, "--base-policy-id", callback=_guid),
    audit: bool = typer.Option(False, "--audit", help="Base policy in audit mode."),
    kernel: bool = typer.Option(False, "--kernel", help="Also reference rules from 131."),
    merge_into: Path | None = typer.Option(  # noqa: B008
        None, "--merge-into", help="Add the rules to this existing policy XML instead."
    ),
    name: str | None = _NAME,
    policy_id: str | None = _PID,
    version: str | None = _VERSION,
    as_json: bool = _JSON,
) -> None:
    """Hash rules (Sha1, Sha256, Page Sha1, Page Sha256 per PE; flat for other files)."""
    result = policies.hashes_policy(
        inputs,
        output,
        deny=deny,
        supplemental=supplemental,
        base_policy_id=base_policy_id,
        template="audit" if audit else "enforced",
        kernel=kernel,
        name=name,
        policy_id=policy_id,
        version=version,
        merge_into=merge_into,
    )
    _report(result, as_json)


def new_command(
    output: Path = _OUT,
    template: str = typer.Option(
        "audit", "--template", callback=_template, help=f"{' or '.join(BASE_TEMPLATES)}."
    ),
    name: str = typer.Option(..., "--name", help="Policy name."),
    policy_id: str | None = _PID,
    version: str | None = _VERSION,
    option: list[str] | None = typer.Option(  # noqa: B008
        None,
        "--option",
        callback=_options,
        help="Rule option to add, by number or name (repeatable).",
    ),
    remove_option: list[str] | None = typer.Option(  # noqa: B008
        None, "--remove-option", callback=_options, help="Rule option to remove (repeatable)."
    ),
    as_json: bool = _JSON,
) -> None:
    """A base policy from a template (multiple-policy format)."""
    result = policies.new_base_policy(
        output,
        template=template,
        name=name,
        policy_id=policy_id,
        version=version,
        add_options=option or (),
        remove_options=remove_option or (),
    )
    _report(result, as_json)


def set_command(
    policy: Path = typer.Argument(..., help="Policy XML to edit."),  # noqa: B008
    output: Path | None = typer.Option(None, "--output", "-o", help="Default: in place."),  # noqa: B008
    option: list[str] | None = typer.Option(  # noqa: B008
        None, "--option", callback=_options, help="Add a rule option."
    ),
    remove_option: list[str] | None = typer.Option(None, "--remove-option", callback=_options),  # noqa: B008
    name: str | None = _NAME,
    info_id: str | None = typer.Option(None, "--id", help="PolicyInfo Id string."),
    policy_id: str | None = typer.Option(None, "--policy-id", callback=_guid),
    base_policy_id: str | None = typer.Option(None, "--base-policy-id", callback=_guid),
    version: str | None = _VERSION,
    update_signer: Path | None = typer.Option(  # noqa: B008
        None, "--update-signer", help="Certificate (PEM/DER, with its CA) allowed to update it."
    ),
    update_level: str = typer.Option("PcaCertificate", "--update-signer-level", callback=_level),
    supplemental_signer: Path | None = typer.Option(  # noqa: B008
        None,
        "--supplemental-signer",
        help="Certificate or signed catalog allowed to sign supplemental policies (base only).",
    ),
    supplemental_level: str = typer.Option(
        "PcaCertificate", "--supplemental-signer-level", callback=_level
    ),
    eku: str | None = _EKU,
    as_json: bool = _JSON,
) -> None:
    """Set-RuleOption, Set-CIPolicyIdInfo, UpdatePolicySigners and SupplementalPolicySigners on an
    existing policy XML."""
    result = policies.edit_policy(
        policy,
        output,
        add_options=option or (),
        remove_options=remove_option or (),
        name=name,
        info_id=info_id,
        policy_id=policy_id,
        base_policy_id=base_policy_id,
        version=version,
        update_signer=update_signer,
        update_signer_level=SignerLevel.parse(update_level),
        supplemental_signer=supplemental_signer,
        supplemental_signer_level=SignerLevel.parse(supplemental_level),
        eku=eku,
    )
    _report(result, as_json)


def merge_command(
    existing: Path = typer.Argument(..., help="Policy that keeps its IDs and options."),  # noqa: B008
    incoming: list[Path] = typer.Argument(..., help="Policies whose rules are added."),  # noqa: B008
    output: Path = _OUT,
    as_json: bool = _JSON,
) -> None:
    """Merge-CIPolicy: add rules, signers and scenarios without renaming existing IDs."""
    _report(policies.merge_policy_files(existing, incoming, output), as_json)


def compile_command(
    policy: Path = typer.Argument(..., help="Policy XML."),  # noqa: B008
    output: str = typer.Option(
        "{PolicyID}.cip", "--output", "-o", help="Binary to write; {PolicyID} is expanded."
    ),
    format_version: int = typer.Option(
        8, "--format", callback=_format, help="Binary format version (7 or 8)."
    ),
    lenient: bool = typer.Option(
        False, "--lenient", help="Like ConvertFrom-CIPolicy: drop unknown options silently."
    ),
    as_json: bool = _JSON,
) -> None:
    """Compile XML to the binary policy ConvertFrom-CIPolicy writes."""
    result = policies.compile_file(
        policy, output, format_version=format_version, strict=not lenient
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(f"wrote {result.output} ({result.size} bytes, format {result.format_version})")


def decompile_command(
    policy: Path = typer.Argument(..., help="Binary policy (.cip/.p7b), signed or not."),  # noqa: B008
    output: Path = typer.Option(..., "--output", "-o", help="Policy XML to write."),  # noqa: B008
    as_json: bool = _JSON,
) -> None:
    """Recover the XML of a binary policy (IDs and names are regenerated)."""
    _report(policies.decompile_file(policy, output), as_json)


def sign_command(
    policy: Path = typer.Argument(..., help="Unsigned binary policy (.cip)."),  # noqa: B008
    output: Path = typer.Option(..., "--output", "-o", help="Signed policy to write."),  # noqa: B008
    cert: str | None = typer.Option(None, "--cert", help=CERT_HELP),
    key: str | None = typer.Option(None, "--key", help=KEY_HELP),
    pfx: Path | None = typer.Option(None, "--pfx", help="PFX with key and certificate."),  # noqa: B008
    password_env: str | None = typer.Option(None, "--password-env"),
    chain: Path | None = typer.Option(None, "--chain", help="CA certificates (PEM)."),  # noqa: B008
    pkcs11_module: str | None = MODULE_OPTION,
    metadata: Path | None = METADATA_OPTION,
    timestamp: list[str] | None = TIMESTAMP_OPTION,
    no_timestamp_required: bool = UNSTAMPED_OPTION,
    sign_timeout: float = TIMEOUT_OPTION,
    base: Path | None = typer.Option(  # noqa: B008
        None,
        "--base",
        help="Supplemental only: its base policy; refuse unless the base lists this signer.",
    ),
    as_json: bool = _JSON,
) -> None:
    """PKCS#7-sign a binary policy (content type 1.3.6.1.4.1.311.79.1, as signtool -p7co).

    Same keys as 'inspector sign' (file, pkcs11:, azure-keyvault://, trusted-signing://, exec:).
    Exit codes: 0 signed; 1 a signature did not verify; 3 bad input; 4 token/service/I/O.
    """
    identity = signing_identity(
        cert,
        key,
        pfx,
        chain,
        password_env,
        pkcs11_module=pkcs11_module,
        metadata=metadata,
        timeout=sign_timeout,
    )
    result = policies.sign_policy_file(
        policy,
        output,
        identity,
        base=base,
        timestamp_urls=timestamp or (),
        allow_unstamped=no_timestamp_required,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        stamped = ", timestamped" if result.timestamped else ""
        typer.echo(
            f"wrote {result.output} ({result.size} bytes{stamped}), signed by {result.signer} "
            f"({result.backend} key)"
        )


def render_show(report: ShowReport) -> str:
    d = report.to_dict()
    lines = [
        f"{d['path']}: {d['source_format']}"
        + (f" (format {d['format_version']})" if d["format_version"] else ""),
        f"  type        {d['policy_type'] or 'legacy single policy'}",
        f"  PolicyID    {d['policy_id'] or d['policy_type_id']}",
        f"  BaseID      {d['base_policy_id']}",
        f"  version     {d['version']}",
    ]
    sig = d["signature"]
    if sig is not None:
        lines.append(
            f"  signed by   {', '.join(sig['signers']) or '?'} (SignedData v"
            f"{sig['signed_data_version']}, {sig['digest_algorithm']}, "
            f"{'verified' if sig['verified'] else 'NOT verified'})"
        )
    lines.append("  options")
    for o in d["options"]:
        number = "?" if o["number"] is None else o["number"]
        lines.append(f"    {number:>2}  {o['name']}")
    lines.append(f"  file rules ({len(d['file_rules'])})")
    for r in d["file_rules"]:
        what = r.get("hash") or r.get("file_path") or r.get("file_name") or r.get("product_name")
        lines.append(f"    {r['kind']:<10} {r['id']:<40} {what}")
    lines.append(f"  signers ({len(d['signers'])})")
    for s in d["signers"]:
        pub = f" publisher={s['publisher']}" if s["publisher"] else ""
        lines.append(f"    {s['id']:<40} {s['root_type']} {s['root']}{pub}  ({s['name']})")
    for sc in d["scenarios"]:
        lines.append(
            f"  scenario {sc['value']} {sc['id']}: {len(sc['allowed_signers'])} allowed, "
            f"{len(sc['denied_signers'])} denied signers, {len(sc['file_rules'])} file rules"
        )
    lines += [f"  {i}" for i in d["issues"]]
    return "\n".join(lines)


def show_command(
    policy: Path = typer.Argument(..., help="Policy: XML, .cip/.p7b, signed or not."),  # noqa: B008
    as_json: bool = _JSON,
) -> None:
    """Print a policy's identity, options, rules, signers and scenarios."""
    report = policies.show_policy(policy)
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_show(report))


def validate_command(
    policy: Path = typer.Argument(..., help="Policy XML or binary."),  # noqa: B008
) -> None:
    """Structural checks; exit 3 when there are errors."""
    report = policies.show_policy(policy)
    for issue in report.issues:
        typer.echo(str(issue))
    errors = [i for i in report.issues if i.severity == "error"]
    if errors:
        raise PolicyValidationError(
            f"{policy}: {len(errors)} error(s)", tuple(str(e) for e in errors)
        )
    typer.echo(f"{policy}: valid ({len(report.issues)} warnings)")
