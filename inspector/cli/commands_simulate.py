"""``inspector policy simulate``: will these files run under these App Control policies, and why.

Thin: options in, one ``inspector.pipeline.simulate.simulate`` call, a table (or ``--json``, or the
reasoning per file with ``--explain``) out. Exit code 0 when every file is allowed, 1 when any is
blocked (audit-mode blocks included: they are what enforcement would do), 3 when some file could
not be read.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inspector.cli.exit_codes import ExitCode
from inspector.cli.groups import policy_app
from inspector.pipeline.simulate import SimulateReport, simulate
from policy.evaluate import SCENARIO_KERNEL, SCENARIO_USER, Verdict


def register(app: typer.Typer) -> None:
    del app  # the command lives on the shared ``policy`` group
    policy_app.command("simulate")(simulate_command)


def _rule(v: Verdict) -> str:
    d = v.deciding
    if d is None:
        return "-"
    name = f" ({d.friendly_name})" if d.friendly_name else ""
    return f"{d.kind} {d.rule_id or ''}{name}".strip()


def render_table(report: SimulateReport) -> str:
    lines = [f"{'VERDICT':<18} {'SCEN':<5} {'FILE':<40} DECIDED BY"]
    for v in report.verdicts:
        verdict = v.verdict + ("" if v.enforced else " (audit)")
        lines.append(f"{verdict:<18} {v.scenario:<5} {v.path:<40} {_rule(v)}")
    for f in report.failures:
        lines.append(f"{'error':<18} {'-':<5} {f.path:<40} {f.error}")
    lines.append(
        f"{len(report.verdicts) - report.blocked} allowed, {report.blocked} blocked, "
        f"{len(report.failures)} unreadable"
    )
    return "\n".join(lines)


def render_explain(v: Verdict) -> str:
    lines = [f"{v.path}: {v.verdict.upper()}{'' if v.enforced else ' (audit mode: not enforced)'}"]
    lines += [f"  - {step}" for step in v.reasoning]
    for d in v.decided_by:
        lines.append(f"  decided by {d.policy_id}: {d.action} via {d.kind} {d.rule_id or ''}")
        if d.detail:
            lines.append(f"      {d.detail}")
    for s in v.signatures:
        where = f" ({s.catalog}, member {s.member})" if s.catalog else ""
        state = "verified" if s.valid else f"NOT trusted: {s.problem}"
        lines.append(f"  signature {s.source}{where}: {s.signer} by {s.issuer}, {state}")
    for n in v.nearest:
        lines.append(f"  nearly: {n.kind} {n.rule_id}: {n.failed}")
    for w in v.would_allow:
        rule = ", ".join(f"{k}={val}" for k, val in w.rule)
        lines.append(f"  would allow at {w.level}: {rule}")
        lines.append(f"      {w.command}")
    lines += [f"  depends on: {d}" for d in v.depends_on]
    lines += [f"  note: {n}" for n in v.notes]
    return "\n".join(lines)


def simulate_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders to judge."),  # noqa: B008
    policy: list[Path] = typer.Option(  # noqa: B008
        ..., "--policy", "-p", help="Policy XML, .cip or .p7b (repeat: bases and supplementals)."
    ),
    catalog: list[Path] = typer.Option(  # noqa: B008
        [], "--catalog", "-c", help="Signed catalog (.cat) whose members count as signed."
    ),
    catroot: Path | None = typer.Option(  # noqa: B008
        None, "--catroot", help="Folder of catalogs (like CatRoot), searched recursively."
    ),
    kernel: bool = typer.Option(False, "--kernel", help="Judge every file as a driver (131)."),
    user: bool = typer.Option(False, "--user", help="Judge every file as user mode (12)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document for machines."),
    explain: bool = typer.Option(False, "--explain", help="The reasoning for every file."),
) -> None:
    """Offline App Control evaluation: the verdict per file and the rule that decided it."""
    if kernel and user:
        raise typer.BadParameter("give --kernel or --user, not both", param_hint="--kernel")
    scenario = SCENARIO_KERNEL if kernel else SCENARIO_USER if user else None
    report = simulate(policy, paths, catalogs=catalog, catroot=catroot, scenario=scenario)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for note in report.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(render_table(report))
        if explain:
            for v in report.verdicts:
                typer.echo("")
                typer.echo(render_explain(v))
    if report.failures:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    if report.blocked:
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))
