"""``inspector events show`` and ``inspector policy from-events``: audit events to rules.

Thin: options in, one ``inspector.pipeline.events`` call, a table or ``--json`` out. Inputs that
could not be read, or records that could not be used, are listed with their reason and counted;
the exit code is 3 when any input could not be read at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inspector.cli.exit_codes import ExitCode
from inspector.cli.groups import policy_app
from inspector.pipeline import events as pipeline
from policy.events import EventSet

events_app = typer.Typer(
    help="Read App Control audit/block events (EVTX, XML, Defender CSV/JSON).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    events_app.command("show")(show_command)
    policy_app.command("from-events")(from_events_command)
    app.add_typer(events_app, name="events")


_INPUTS = typer.Argument(
    ...,
    help="Event files: .evtx logs, XML exports (wevtutil /f:xml, Get-WinEvent ToXml), "
    "Defender advanced-hunting or Log Analytics CSV/JSON exports (format detected per file).",
)
_JSON = typer.Option(False, "--json", help="Print one JSON document for machines.")


def _hex(b: bytes | None, width: int = 16) -> str:
    return b.hex().upper()[:width] if b else "-"


def render_events(found: EventSet) -> str:
    lines = [f"{'kind':<6} {'id':>5} {'seen':>4}  {'sha256':<16}  signer / file"]
    for e in found.events:
        signer = next((s.publisher_name for s in e.signers if s.publisher_name), None)
        who = signer if signer else ("unsigned" if e.signature_count == 0 else "signature unknown")
        lines.append(
            f"{e.kind.value:<6} {e.event_id:>5} {e.occurrences:>4}  {_hex(e.sha256)}  "
            f"{e.path}  [{who}]"
        )
    by_id = ", ".join(f"{k}: {v}" for k, v in found.by_event_id) or "none"
    n = len(found.events)
    lines.append(
        f"{n} file{'' if n == 1 else 's'} from {found.records_read} record"
        f"{'' if found.records_read == 1 else 's'} ({by_id}); {found.duplicates} duplicate"
        f"{'' if found.duplicates == 1 else 's'} merged"
    )
    for path, missing in found.missing:
        lines.append(f"{path}: does not provide {', '.join(missing)}")
    return "\n".join(lines)


def _problems(found: EventSet) -> None:
    for p in found.problems:
        times = f" ({p.count} times)" if p.count > 1 else ""
        typer.echo(f"note: {p.source}: {p.reason}{times}", err=True)
    for path, reason in found.failed_inputs:
        typer.echo(f"error: {path}: {reason}", err=True)


def show_command(inputs: list[Path] = _INPUTS, as_json: bool = _JSON) -> None:
    """The normalised events, de-duplicated (same file and hashes), with counts and gaps."""
    found = pipeline.show_events(inputs)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
    else:
        typer.echo(render_events(found))
    _problems(found)
    if found.failed_inputs:
        raise typer.Exit(int(ExitCode.BAD_INPUT))


def from_events_command(
    inputs: list[Path] = _INPUTS,
    output: Path = typer.Option(..., "--output", "-o", help="Policy XML to write."),  # noqa: B008
    level: str = typer.Option(
        "FilePublisher",
        "--level",
        help="Hash, FileName, FilePublisher, Publisher, PcaCertificate or LeafCertificate.",
    ),
    fallback: list[str] = typer.Option(  # noqa: B008
        [],
        "--fallback",
        help="Levels to try in order when --level does not fit a file (Hash is always last).",
    ),
    base_policy_id: str | None = typer.Option(
        None, "--base-policy-id", help="Write a supplemental policy for this base PolicyID."
    ),
    base: Path | None = typer.Option(  # noqa: B008
        None, "--base", help="Write a supplemental policy for this base policy (XML or .cip)."
    ),
    existing: list[Path] = typer.Option(  # noqa: B008
        [], "--policy", help="Policies already deployed: files they allow get no rule."
    ),
    name: str | None = typer.Option(None, "--name", help="Policy name (PolicyInfo setting)."),
    policy_id: str | None = typer.Option(None, "--policy-id", help="PolicyID GUID."),
    as_json: bool = _JSON,
) -> None:
    """Rules for every audited/blocked file, at a level with ConfigCI's fallback chain."""
    result = pipeline.policy_from_events(
        inputs,
        output,
        level=level,
        fallbacks=fallback,
        base_policy_id=base_policy_id,
        base=base,
        existing=existing,
        name=name,
        policy_id=policy_id,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        p = result.policy
        counts = ", ".join(f"{k}: {v}" for k, v in result.counts) or "no events"
        typer.echo(
            f"wrote {result.output}: {p.policy_type} {p.policy_id}"
            + (f" (base {p.base_policy_id})" if p.is_supplemental else "")
            + f", {len(p.file_rules or ())} file rules, {len(p.signers or ())} signers"
        )
        typer.echo(f"events by level: {counts}")
        for r in result.results:
            if r.level is None and r.already_allowed_by is None:
                typer.echo(f"no rule: {r.event.path}: {'; '.join(r.skipped)}", err=True)
    for w in result.warnings:
        typer.echo(str(w), err=True)
    _problems(result.events)
    if result.events.failed_inputs:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
