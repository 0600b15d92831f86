"""``inspector sign``, ``inspector verify`` and ``inspector catalog tbs`` (formats.md 6, 7).

Passwords never come from argv: ``--password-env VAR`` names an environment variable, otherwise an
interactive prompt asks when the key or PFX turns out to be encrypted. ``--key`` also takes a
``pkcs11:`` token URI, ``azure-keyvault://``, ``trusted-signing://`` or ``exec:PROGRAM``
(inspector.pipeline.keystores); a token PIN is prompted for on a terminal when no other source
gives it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import typer

from catalog.asn1 import TbsHash
from catalog.cms import KeySigner, PasswordRequiredError, SignOptions
from catalog.ctl import MemberStatus
from inspector.cli.exit_codes import ExitCode
from inspector.cli.groups import catalog_app
from inspector.cli.options import MAX_WORKERS, parse_iso_time
from inspector.cli.progress import FileProgress
from inspector.cli.text import count
from inspector.pipeline.keystores import KeyOptions, open_signer
from inspector.pipeline.signing import (
    VerifyReport,
    sign_catalog,
    tbs_report,
    verify_catalog,
)


def register(app: typer.Typer) -> None:
    app.command("sign")(sign_command)
    app.command("verify")(verify_command)
    catalog_app.command("tbs")(tbs_command)


def _password_from_env(name: str | None) -> bytes | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise typer.BadParameter(
            f"environment variable {name} is not set", param_hint="--password-env"
        )
    return value.encode("utf-8")


def _pin_prompt(label: str) -> str:
    if not sys.stdin.isatty():
        raise typer.BadParameter(
            "no PIN given: add ?pin-source=file:PATH to the pkcs11: URI or set "
            "INSPECTOR_PKCS11_PIN",
            param_hint="--key",
        )
    value: str = typer.prompt(label, hide_input=True)
    return value


def signing_identity(
    cert: str | None,
    key: str | None,
    pfx: Path | None,
    chain: Path | None,
    password_env: str | None,
    *,
    pkcs11_module: str | None = None,
    metadata: Path | None = None,
    timeout: float = 60.0,
) -> KeySigner:
    """The signer --key/--cert/--pfx/--metadata name; prompts for a password or PIN on a TTY.

    No signer at all is a usage error (exit 2) found before any file is read.
    """
    if pfx is None and key is None and cert is None and metadata is None:
        raise typer.BadParameter(
            "name the signer: --key with --cert, --pfx, or --metadata", param_hint="--key"
        )
    options = KeyOptions(
        key=key,
        cert=cert,
        pfx=pfx,
        chain=chain,
        password=_password_from_env(password_env),
        pkcs11_module=pkcs11_module,
        metadata=metadata,
        timeout=timeout,
    )
    try:
        return open_signer(options, pin_prompt=_pin_prompt)
    except PasswordRequiredError:
        if options.password is not None or not sys.stdin.isatty():
            raise
    typed = typer.prompt(f"Password for {pfx or key}", hide_input=True)
    return open_signer(replace(options, password=typed.encode()), pin_prompt=_pin_prompt)


KEY_HELP = (
    "Private key: a PEM/DER file, 'pkcs11:token=..;object=..' (RFC 7512), "
    "'azure-keyvault://VAULT/keys/NAME', 'trusted-signing://ENDPOINT/ACCOUNT/PROFILE' or "
    "'exec:PROGRAM' (gets 'sha256 HEXDIGEST' on stdin, prints the signature)."
)
CERT_HELP = "Signing certificate (PEM/DER file, or pkcs11:... on the token); + --chain CAs."
MODULE_OPTION = typer.Option(
    None,
    "--pkcs11-module",
    metavar="PATH",
    help="PKCS#11 library for pkcs11: keys (default: $INSPECTOR_PKCS11_MODULE).",
)
METADATA_OPTION = typer.Option(
    None,
    "--metadata",
    help="Trusted Signing metadata.json: Endpoint, CodeSigningAccountName, CertificateProfileName.",
)
TIMESTAMP_OPTION = typer.Option(
    None,
    "--timestamp",
    "--timestamp-url",
    help="RFC 3161 timestamp server URL (SHA256); repeat to give fallbacks tried in order.",
)
UNSTAMPED_OPTION = typer.Option(
    False,
    "--no-timestamp-required",
    help="Allow signing with a cloud key (Key Vault, Trusted Signing) without a timestamp.",
)
TIMEOUT_OPTION = typer.Option(
    60.0, "--sign-timeout", help="Seconds a signing service request or exec: program may take."
)


def _parse_time(text: str | None) -> dt.datetime | None:
    return parse_iso_time(
        text,
        option="--signing-time",
        message="use 'now' or an ISO time such as 2025-06-01T12:00:00Z",
        allow_now=True,
    )


def sign_command(
    catalog: Path = typer.Argument(..., help="Catalog to sign (ours or MakeCat's, signed or not)."),  # noqa: B008
    cert: str | None = typer.Option(None, "--cert", help=CERT_HELP),
    key: str | None = typer.Option(None, "--key", help=KEY_HELP),
    pfx: Path | None = typer.Option(None, "--pfx", help="PFX/PKCS#12 with key and certificate."),  # noqa: B008
    password_env: str | None = typer.Option(
        None,
        "--password-env",
        metavar="VAR",
        help="Environment variable holding the key/PFX password (else you are prompted).",
    ),
    chain: Path | None = typer.Option(  # noqa: B008
        None, "--chain", help="Extra CA certificates (PEM) to embed; ordered automatically."
    ),
    pkcs11_module: str | None = MODULE_OPTION,
    metadata: Path | None = METADATA_OPTION,
    timestamp: list[str] | None = TIMESTAMP_OPTION,
    no_timestamp_required: bool = UNSTAMPED_OPTION,
    sign_timeout: float = TIMEOUT_OPTION,
    output: Path | None = typer.Option(  # noqa: B008
        None, "--output", "-o", help="Write here instead of replacing the catalog."
    ),
    program_name: str | None = typer.Option(
        None, "--program-name", help="Description shown by Windows (SpcSpOpusInfo)."
    ),
    more_info_url: str | None = typer.Option(
        None, "--url", help="More-information URL (SpcSpOpusInfo)."
    ),
    signing_time: str | None = typer.Option(
        None,
        "--signing-time",
        help="Add a signingTime attribute: 'now' or an ISO time (omitted by default).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document for machines."),
) -> None:
    """Sign a catalog with an RSA code-signing certificate (PKCS#7, SHA256), as WDAC needs.

    The key may be a file, a PKCS#11 token, an Azure Key Vault key, a Trusted Signing profile or
    an external program. The certificate is checked first (code-signing EKU, RSA 2048/3072/4096,
    validity, chain order) and a test signature must verify with it. The catalog is replaced
    atomically unless -o is given; nothing is written when any step fails.
    Exit codes: 0 signed; 1 a signature did not verify (key/certificate mismatch, bad service
    answer); 3 bad input (certificate, key, password, catalog); 4 token, service, I/O or network.
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
    options = SignOptions(
        program_name=program_name,
        more_info_url=more_info_url,
        signing_time=_parse_time(signing_time),
    )
    result = sign_catalog(
        catalog,
        identity,
        output=output,
        options=options,
        timestamp_urls=timestamp or (),
        allow_unstamped=no_timestamp_required,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    stamped = ", timestamped" if result.timestamped else ""
    typer.echo(
        f"signed {result.output} ({result.members} subjects, {result.size:,} bytes{stamped})\n"
        f"  signer : {result.signer}\n"
        f"  issuer : {result.issuer}\n"
        f"  key    : {result.backend}\n"
        f"  sha256 : {result.sha256}"
    )


def verify_command(
    catalog: Path = typer.Argument(..., help="The signed catalog (.cat)."),  # noqa: B008
    files: list[Path] | None = typer.Argument(  # noqa: B008
        None, help="Files or folders to look up in the catalog (folders are walked)."
    ),
    roots: list[Path] | None = typer.Option(  # noqa: B008
        None, "--roots", help="Trusted root certificate(s), PEM/DER; repeatable."
    ),
    crls: list[Path] | None = typer.Option(  # noqa: B008
        None,
        "--crl",
        help="Check revocation against this CRL file (PEM/DER); repeatable. Without it (or "
        "--online) revocation is not checked.",
    ),
    online: bool = typer.Option(
        False,
        "--online",
        help="Also fetch the CRLs named by the chain's certificates (http/https only, 10 s and "
        "20 MiB per CRL, 16 URLs at most). Revoked: exit 1; could not check: exit 4.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document for machines."),
    workers: int = typer.Option(
        0, "--workers", "-j", min=0, max=MAX_WORKERS, help="Hashing threads; 0: one per core."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: when a terminal)."
    ),
) -> None:
    """Verify a catalog's signature and chain, and whether files are members of it.

    Exit codes: 0 signature trusted and every file a member; 1 a check failed (bad signature,
    untrusted root, expired or revoked certificate, a file not a member or changed); 3 the catalog
    is not a catalog, or a file could not be read (missing, unreadable) and nothing else failed;
    4 with --online, everything passed but the revocation of some certificate could not be
    checked (each one and why are printed).
    """
    with FileProgress("hashing", progress) as bar:
        report = verify_catalog(
            catalog,
            files or [],
            roots=roots or [],
            workers=workers or None,
            progress=bar,
            crls=crls or None,
            online=online,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(render_verify(report))
    if report.ok:
        unknown = report.revocation_unknown
        if unknown:
            # Soft-fail revocation is what blocking the CRL host buys an attacker: a script that
            # tests for 0 must not accept an unchecked certificate, yet 1 would claim a revocation.
            typer.echo(
                f"warning: revocation could not be checked for {count(len(unknown), 'certificate')}"
                " (listed above); exit 4",
                err=True,
            )
            raise typer.Exit(int(ExitCode.ENVIRONMENT))
        return
    unreadable = [m for m in report.members if m.status is MemberStatus.ERROR]
    for m in unreadable:
        typer.echo(f"error: {m.detail}", err=True)
    checked_ok = report.signature is not None and report.signature.ok
    if checked_ok and all(m.ok or m.status is MemberStatus.ERROR for m in report.members):
        typer.echo(
            f"{count(len(unreadable), 'file')} could not be read (listed above); every file "
            "that could be read is a member",
            err=True,
        )
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))


def render_verify(report: VerifyReport) -> str:
    lines = [f"catalog {report.catalog}"]
    sig = report.signature
    if sig is None:
        lines.append(f"  signature : BAD - {report.signature_error}")
    else:
        lines += [
            f"  signature : valid ({sig.digest_algorithm}, messageDigest {sig.message_digest})",
            f"  signer    : {sig.signer_subject}",
            f"  chain     : {' <- '.join(sig.chain[::-1])}",
            f"  trust     : {sig.trust.value} (checked at {sig.checked_at:%Y-%m-%d %H:%M:%S}Z "
            f"from {sig.time_source})",
            f"  revocation: {sig.revocation}",
        ]
        lines += [f"    {c.subject}: {c.describe()}" for c in sig.revocation_checks]
        if sig.signer_count > 1:
            states = ", ".join(f"#{s.signer_index} {s.trust.value}" for s in sig.signers)
            lines.append(
                f"  signers   : {sig.signer_count} ({states}); verdict by signer "
                f"#{sig.signer_index} of {sig.signer_count}"
            )
        if sig.timestamp is not None:
            lines.append(
                f"  timestamp : {sig.timestamp:%Y-%m-%d %H:%M:%S}Z by {sig.timestamp_authority}"
            )
        lines += [f"  problem   : {p}" for p in sig.problems]
    counts: dict[MemberStatus, int] = {}
    for m in report.members:
        counts[m.status] = counts.get(m.status, 0) + 1
        how = f" as {m.identifier_kind} {m.identifier}" if m.ok else ""
        pages = f", page hashes {m.page_hashes}" if m.ok else ""
        detail = f" - {m.detail}" if m.detail and not m.ok else ""
        lines.append(f"  {m.status.value:<18} {m.path}{how}{pages}{detail}")
    if report.members:
        summary = ", ".join(f"{n} {s.value}" for s, n in counts.items())
        lines.append(f"{count(len(report.members), 'file')}: {summary}")
    unknown = report.revocation_unknown
    if report.ok and unknown:
        lines.append(f"OK, but revocation NOT checked for {count(len(unknown), 'certificate')}")
    else:
        lines.append("OK" if report.ok else "FAILED")
    return "\n".join(lines)


def tbs_command(
    source: Path = typer.Argument(  # noqa: B008
        ..., help="Certificate (PEM/DER), catalog (.cat), PKCS#7 (.p7b) or signed PE."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document for machines."),
) -> None:
    """Print each certificate's subject, signature algorithm and WDAC TBS hash.

    The TBS value is what a WDAC signer rule's CertRoot Type="TBS" holds: the hash of the
    certificate's TBSCertificate using its own signature's hash algorithm.
    """
    found = tbs_report(source)
    if as_json:
        doc = {
            "schema_version": 1,
            "source": str(source),
            "certificates": [t.to_dict() for t in found],
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo("\n\n".join(_tbs_block(t) for t in found))


def _tbs_block(t: TbsHash) -> str:
    rows = [
        ("subject", t.subject),
        ("issuer", t.issuer),
        ("signature", f"{t.signature_algorithm} (TBS hashed with {t.hash_algorithm})"),
        ("TBS", t.tbs_hash),
    ]
    if t.note:
        rows.append(("note", t.note))
    return "\n".join(f"{k:<10} {v}" for k, v in rows)
