"""``inspector sign``, ``inspector verify`` and ``inspector catalog tbs`` (formats.md 6, 7).

Passwords never come from argv: ``--password-env VAR`` names an environment variable, otherwise an
interactive prompt asks when the key or PFX turns out to be encrypted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import typer

from catalog.asn1 import TbsHash
from catalog.cms import PasswordRequiredError, SigningIdentity, SignOptions
from catalog.ctl import MemberStatus
from inspector.cli.exit_codes import ExitCode
from inspector.cli.groups import catalog_app
from inspector.cli.options import parse_iso_time
from inspector.cli.progress import FileProgress
from inspector.pipeline.signing import (
    VerifyReport,
    load_identity,
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


def signing_identity(
    cert: Path | None,
    key: Path | None,
    pfx: Path | None,
    chain: Path | None,
    password_env: str | None,
) -> SigningIdentity:
    """The --cert/--key/--pfx/--chain identity; prompts for a PFX or key password on a TTY."""
    password = _password_from_env(password_env)
    try:
        return load_identity(cert=cert, key=key, pfx=pfx, chain=chain, password=password)
    except PasswordRequiredError:
        if password is not None or not sys.stdin.isatty():
            raise
    typed = typer.prompt(f"Password for {pfx or key}", hide_input=True)
    return load_identity(cert=cert, key=key, pfx=pfx, chain=chain, password=typed.encode())


def _parse_time(text: str | None) -> dt.datetime | None:
    return parse_iso_time(
        text,
        option="--signing-time",
        message="use 'now' or an ISO time such as 2025-06-01T12:00:00Z",
        allow_now=True,
    )


def sign_command(
    catalog: Path = typer.Argument(..., help="Catalog to sign (ours or MakeCat's, signed or not)."),  # noqa: B008
    cert: Path | None = typer.Option(None, "--cert", help="Signing certificate (PEM/DER)."),  # noqa: B008
    key: Path | None = typer.Option(None, "--key", help="Private key of --cert (PEM/DER)."),  # noqa: B008
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
    timestamp_url: str | None = typer.Option(
        None, "--timestamp-url", help="RFC 3161 timestamp server URL."
    ),
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

    The certificate is checked first (code-signing EKU, RSA 2048/3072/4096, validity, key match,
    chain order). The catalog is replaced atomically unless -o is given.
    Exit codes: 0 signed; 3 bad input (certificate, key, password, catalog); 4 I/O or network.
    """
    identity = signing_identity(cert, key, pfx, chain, password_env)
    options = SignOptions(
        program_name=program_name,
        more_info_url=more_info_url,
        signing_time=_parse_time(signing_time),
    )
    result = sign_catalog(
        catalog, identity, output=output, options=options, timestamp_url=timestamp_url
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    stamped = ", timestamped" if result.timestamped else ""
    typer.echo(
        f"signed {result.output} ({result.members} subjects, {result.size:,} bytes{stamped})\n"
        f"  signer : {result.signer}\n"
        f"  issuer : {result.issuer}\n"
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
        help="Check revocation against this CRL file (PEM/DER); repeatable. Without it "
        "revocation is not checked.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document for machines."),
    workers: int = typer.Option(0, "--workers", "-j", help="Hashing threads; 0: one per core."),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: when a terminal)."
    ),
) -> None:
    """Verify a catalog's signature and chain, and whether files are members of it.

    Exit codes: 0 signature trusted and every file a member; 1 anything failed (bad signature,
    untrusted root, expired certificate, file not a member or changed); 3 not a catalog.
    """
    with FileProgress("hashing", progress) as bar:
        report = verify_catalog(
            catalog,
            files or [],
            roots=roots or [],
            workers=workers or None,
            progress=bar,
            crls=crls or None,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(render_verify(report))
    if not report.ok:
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
        lines.append(f"{len(report.members)} files: {summary}")
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
