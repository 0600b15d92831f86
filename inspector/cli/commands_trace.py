"""``inspector start|stop|status|scan``: Package Inspector's command line (tracer.md 1.1, 6).

``start ROOT [-path INSTALLER]``; ``stop ROOT [-out cat|cdf|list] [-Name CAT] [-cdfpath CDF]
[-resdir DIR] [-ph true|false] [-en TYPE] [-ca1 V] [-ca2 V] [-listpath FILE]``; ``scan PATH`` with
the stop options; ``status``. Option names are case-insensitive and accept Package Inspector's
single-dash spellings beside ``--name`` (click's ``token_normalize_func`` lower-cases them and each
option also declares its ``-name`` form). Thin: options in, one pipeline call, output rendered.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from inspector.cli.commands_compare import render_diff
from inspector.cli.exit_codes import ExitCode
from inspector.cli.options import CACHE_HELP, DASK_HELP, fleet_options
from inspector.cli.progress import FileProgress
from inspector.cli.text import count
from inspector.pipeline import demo as demo_pipeline
from inspector.pipeline import outputs, trace
from inspector.pipeline.compare import Previous, changes_since, read_previous
from inspector.pipeline.fleet import FleetOptions
from tracer import SessionOptions

CONTEXT = {"token_normalize_func": str.lower, "help_option_names": ["--help", "-h", "-?"]}
PROGRESS = "Hashing progress on stderr: files, MB/s, ETA (default: when a terminal)."


def _bool(value: str | None, flag: str) -> bool:
    if value is None:
        return False
    v = value.strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise typer.BadParameter(f"{flag} takes true or false, not {value!r}")


SOURCES = ("auto", "fanotify", "watchdog", "processes", "usn", "none")


def _sources(text: str) -> tuple[str, ...]:
    chosen = tuple(s.strip().lower() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown or not chosen:
        raise typer.BadParameter(
            f"{', '.join(unknown) or 'nothing'}: name one or more of {', '.join(SOURCES)}",
            param_hint="-sources",
        )
    return chosen


def _out_kind(out: list[str]) -> str | None:
    """Package Inspector's -out, given once or repeated (``-out cat -out cdf``)."""
    kinds = {o.strip().lower() for item in out for o in item.split(",") if o.strip()}
    unknown = sorted(kinds - set(outputs.OUT_KINDS))
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)}: -out takes cat, cdf or list", param_hint="-out"
        )
    if "list" in kinds and len(kinds) > 1:
        raise typer.BadParameter(
            "-out list writes a file list and no catalog: it cannot be combined with cat or cdf",
            param_hint="-out",
        )
    if kinds == {"cat", "cdf"}:
        return None  # the default writes both
    return next(iter(kinds)) if kinds else None


def _output_options(
    out_given: list[str],
    name: str | None,
    cdfpath: str | None,
    resdir: str | None,
    ph: str | None,
    en: str,
    ca1: str | None,
    ca2: str | None,
    listpath: str | None,
    report: str | None,
    fleet: FleetOptions | None = None,
) -> outputs.OutputOptions:
    out = _out_kind(out_given)
    try:
        int(en, 0)
    except ValueError:
        raise typer.BadParameter(
            f"{en!r} is not a number (e.g. 0x00010001)", param_hint="-en"
        ) from None
    # -Name names the one output asked for (Package Inspector's -out cdf -Name app.cdf).
    if name is not None and out == "cdf" and cdfpath is None:
        cdfpath, name = name, None
    elif name is not None and out == "list" and listpath is None:
        listpath, name = name, None
    return outputs.OutputOptions(
        out=out,
        name=name,
        cdf_path=cdfpath,
        resdir=resdir,
        page_hashes=_bool(ph, "-ph"),
        encoding=en,
        ca1=ca1,
        ca2=ca2,
        list_path=listpath,
        report_path=report,
        fleet=fleet,
    )


def _render(result: trace.TraceOutputs, as_json: bool, previous: Previous | None = None) -> None:
    m = result.manifest
    changes = changes_since(previous, result) if previous is not None else None
    if as_json:
        doc = {
            **({"changes": changes.to_dict()} if changes is not None else {}),
            "session_id": m.session_id,
            "root": m.root,
            "files": len(m.entries),
            "catalogable": result.catalogable,
            "transient": sum(1 for e in m.entries if not e.exists_at_stop),
            "degraded": list(m.degraded),
            "recovered": result.recovered,
            "written": list(result.written),
        }
        if result.damaged_journal is not None:  # only then: the document is otherwise unchanged
            doc["damaged_journal"] = result.damaged_journal
        typer.echo(json.dumps(doc, indent=2))
        return
    transient = sum(1 for e in m.entries if not e.exists_at_stop)
    typer.echo(
        f"{count(len(m.entries), 'file')} under {m.root} ({result.catalogable} catalogable, "
        f"{transient} gone before stop)"
    )
    for path in result.written:
        typer.echo(f"wrote {path}")
    for why in m.degraded:
        typer.echo(f"degraded: {why}", err=True)
    if result.damaged_journal is not None:
        typer.echo(f"kept the damaged journal for inspection: {result.damaged_journal}", err=True)
    for w in (*m.warnings, *result.warnings):
        typer.echo(f"warning: {w}", err=True)
    if changes is not None:
        typer.echo("changes since the previous catalog:")
        typer.echo(render_diff(changes))


PREVIOUS_HELP = "Catalog of the previous version: report files added, removed and changed."


def _finish(result: trace.TraceOutputs, as_json: bool, previous: Previous | None = None) -> None:
    """Render, then exit 5 (DEGRADED) when the recording is incomplete: outputs are written."""
    _render(result, as_json, previous)
    if result.manifest.degraded:
        typer.echo(
            f"the result is degraded ({count(len(result.manifest.degraded), 'reason')} above); "
            f"the outputs were written; exit code {int(ExitCode.DEGRADED)}",
            err=True,
        )
        raise typer.Exit(int(ExitCode.DEGRADED))


_OUT = typer.Option(
    [],
    "--out",
    "-out",
    help="cat, cdf or list; repeatable (-out cat -out cdf); default: both .cat and .cdf.",
)
_NAME = typer.Option(
    None,
    "--name",
    "-name",
    help="Output path: the .cat (the .cdf with -out cdf, the list with -out list).",
)


def _demo_json(r: demo_pipeline.DemoResult) -> None:
    """``demo --json``: what was recorded, written and checked; exit 1 when a check failed."""
    v = r.verify
    signature_ok = v.signature is not None and v.signature.ok
    members = [{"path": x.path, "member": x.ok, "status": x.status.value} for x in v.members]
    steps = [
        {"name": s.name, "output": s.output, "ok": s.ok, "verdict": s.verdict}
        for s in r.policy_steps
    ]
    # The deleted plug-in has no hash at close without fanotify: not a failure of the demo.
    helper = next((e for e in r.outputs.manifest.entries if e.path.endswith("nshelper.dll")), None)
    helper_hashed = helper is not None and bool(helper.hashes_at_close)
    checked = [x for x in v.members if x.path != r.helper_copy or helper_hashed]
    ok = signature_ok and all(x.ok for x in checked) and all(s.ok for s in r.policy_steps)
    doc = {
        "schema_version": 1,
        "workdir": r.workdir,
        "root": r.root,
        "files": len(r.outputs.manifest.entries),
        "written": list(r.outputs.written),
        "signed_catalog": r.signed_catalog,
        "signature_ok": signature_ok,
        "members": members,
        "policy_steps": steps,
        "degraded": list(r.outputs.manifest.degraded),
        "ok": ok,
    }
    typer.echo(json.dumps(doc, indent=2))
    if not ok:
        raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))


def register(app: typer.Typer) -> None:
    """Attach start, stop, status and scan to the application."""

    # Verbs are case-insensitive ("Stop C: -Name"): the application's normaliser (application.py).
    @app.command(context_settings=CONTEXT)
    def start(
        root: str = typer.Argument(..., help="Folder or drive (C:) to record."),
        path: str | None = typer.Option(
            None, "--path", "-path", help="The installer being inspected (catalogued as run)."
        ),
        sources: str = typer.Option(
            "auto",
            "--sources",
            "-sources",
            help="Live sources: auto, or a comma list of fanotify,watchdog,processes,usn,none.",
        ),
        include: list[str] = typer.Option(  # noqa: B008 - typer's declaration style
            [], "--include", help="Keep only paths matching this glob (relative to ROOT)."
        ),
        exclude: list[str] = typer.Option(  # noqa: B008
            [], "--exclude", help="Leave out paths matching this glob (relative to ROOT)."
        ),
        exclude_dir: list[str] = typer.Option(  # noqa: B008
            [], "--exclude-dir", help="Directory not to walk or record (absolute)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Start recording what happens under ROOT (returns once the recorder is ready)."""
        options = SessionOptions(
            sources=_sources(sources),
            excluded_dirs=tuple(exclude_dir),
            include=tuple(include),
            exclude=tuple(exclude),
        )
        info = trace.start(root, path, options)
        if as_json:
            typer.echo(json.dumps(info.to_dict(), indent=2))
        else:
            typer.echo(info.session_id)
            typer.echo(f"recording {info.root}; run 'inspector stop {root}' when done", err=True)

    @app.command(context_settings=CONTEXT)
    def stop(
        root: str = typer.Argument(..., help="The folder or drive given to start."),
        out: list[str] = _OUT,
        name: str | None = _NAME,
        cdfpath: str | None = typer.Option(None, "--cdfpath", "-cdfpath", help="CDF path."),
        resdir: str | None = typer.Option(None, "--resdir", "-resdir", help="Result folder."),
        ph: str | None = typer.Option(None, "--ph", "-ph", help="Page hashes: true or false."),
        en: str = typer.Option(
            outputs.DEFAULT_ENCODING, "--en", "-en", help="EncodingType for the CDF."
        ),
        ca1: str | None = typer.Option(None, "--ca1", "-ca1", help="CATATTR1 value."),
        ca2: str | None = typer.Option(None, "--ca2", "-ca2", help="CATATTR2 value."),
        listpath: str | None = typer.Option(
            None, "--listpath", "-listpath", help="Where -out list writes the file list."
        ),
        report: str | None = typer.Option(
            None, "--report", "-report", help="JSON report path (default beside the output)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
        progress: bool | None = typer.Option(None, "--progress/--no-progress", help=PROGRESS),
        previous: Path | None = typer.Option(None, "--previous", help=PREVIOUS_HELP),  # noqa: B008
        cache: Path | None = typer.Option(None, "--cache", help=CACHE_HELP),  # noqa: B008
        dask: str | None = typer.Option(None, "--dask", help=DASK_HELP),
    ) -> None:
        """Stop recording ROOT and write the catalog, CDF or file list plus a JSON report."""
        opts = _output_options(
            out, name, cdfpath, resdir, ph, en, ca1, ca2, listpath, report,
            fleet_options(cache, dask),
        )  # fmt: skip
        old = read_previous(previous) if previous is not None else None
        with FileProgress("hashing", progress) as bar:
            result = trace.stop(root, opts, progress=bar)
        _finish(result, as_json, old)

    @app.command(context_settings=CONTEXT)
    def scan(
        path: str = typer.Argument(..., help="Folder to take every file from (no recording)."),
        out: list[str] = _OUT,
        name: str | None = _NAME,
        cdfpath: str | None = typer.Option(None, "--cdfpath", "-cdfpath", help="CDF path."),
        resdir: str | None = typer.Option(None, "--resdir", "-resdir", help="Result folder."),
        ph: str | None = typer.Option(None, "--ph", "-ph", help="Page hashes: true or false."),
        en: str = typer.Option(outputs.DEFAULT_ENCODING, "--en", "-en", help="EncodingType."),
        ca1: str | None = typer.Option(None, "--ca1", "-ca1", help="CATATTR1 value."),
        ca2: str | None = typer.Option(None, "--ca2", "-ca2", help="CATATTR2 value."),
        listpath: str | None = typer.Option(None, "--listpath", "-listpath", help="List path."),
        report: str | None = typer.Option(None, "--report", "-report", help="JSON report."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
        progress: bool | None = typer.Option(None, "--progress/--no-progress", help=PROGRESS),
        previous: Path | None = typer.Option(None, "--previous", help=PREVIOUS_HELP),  # noqa: B008
        cache: Path | None = typer.Option(None, "--cache", help=CACHE_HELP),  # noqa: B008
        dask: str | None = typer.Option(None, "--dask", help=DASK_HELP),
    ) -> None:
        """Catalog every file already under PATH (Package Inspector's scan)."""
        opts = _output_options(
            out, name, cdfpath, resdir, ph, en, ca1, ca2, listpath, report,
            fleet_options(cache, dask),
        )  # fmt: skip
        old = read_previous(previous) if previous is not None else None
        with FileProgress("hashing", progress) as bar:
            result = trace.scan(path, opts, progress=bar)
        _finish(result, as_json, old)

    @app.command(context_settings=CONTEXT)
    def demo(
        workdir: str | None = typer.Option(
            None,
            "--dir",
            help=f"Work folder, kept for inspection (default: ./{demo_pipeline.DEMO_DIR}; emptied "
            "first when an earlier demo made it).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Record a scripted install of fixture PEs, write .cdf/.cat/report, sign and verify,
        then write, compile, sign and re-read WDAC policies trusting the catalog's signer."""
        r = demo_pipeline.run_demo(workdir)
        m = r.outputs.manifest
        if as_json:
            _demo_json(r)
            return
        typer.echo(f"recorded {r.root} (sources: {', '.join(s.name for s in m.sources)})")
        for e in m.entries:
            rel = e.path[len(r.root) + 1 :] if e.path.startswith(r.root) else e.path
            why = ",".join(sorted(x.value for x in e.reasons))
            where = "" if e.exists_at_stop else "  (gone at stop)"
            typer.echo(f"  {rel:<44} {why:<22} {'catalog' if e.catalogable else '-':<8}{where}")
        for w in r.outputs.written:
            typer.echo(f"wrote {w}")
        v = r.verify
        sig = "ok" if v.signature is not None and v.signature.ok else "NOT ok"
        typer.echo(f"signed {r.signed_catalog}: signature {sig}")
        helper = next((e for e in m.entries if e.path.endswith("nshelper.dll")), None)
        helper_hashed = helper is not None and bool(helper.hashes_at_close)
        failed = v.signature is None or not v.signature.ok
        for member in v.members:
            name = member.path
            if member.path == r.helper_copy:
                name = "nshelper.dll (deleted during install)"
                if not helper_hashed:
                    typer.echo(f"  not in the catalog: {name} - no hash at close without fanotify")
                    continue
            typer.echo(f"  {'member' if member.ok else 'NOT a member'}: {name}")
            failed = failed or not member.ok
        for step in r.policy_steps:
            typer.echo(f"{step.name}: {step.output}")
            typer.echo(f"  {'ok' if step.ok else 'FAILED'}: {step.verdict}")
            failed = failed or not step.ok
        for why in m.degraded:
            typer.echo(f"degraded: {why}", err=True)
        typer.echo(f"demo files kept in {r.workdir}")
        if failed:
            raise typer.Exit(int(ExitCode.VERIFICATION_FAILED))

    @app.command(context_settings=CONTEXT)
    def status(
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """List recording sessions (active, unresponsive, stale) with sources and counts."""
        sessions = trace.status()
        if as_json:
            typer.echo(json.dumps([s.to_dict() for s in sessions], indent=2))
            return
        if not sessions:
            typer.echo("no sessions")
            return
        for s in sessions:
            started = dt.datetime.fromtimestamp(s.info.created_ns / 1e9, dt.UTC)
            typer.echo(
                f"{s.info.session_id}  {s.state:<12} {s.info.root}  since "
                f"{started:%Y-%m-%d %H:%M:%S}Z  events={s.events if s.events is not None else '-'}"
            )
            if s.detail:
                typer.echo(f"    {s.detail}")
            for src in s.sources:
                flag = " DEGRADED" if src.degraded else ""
                typer.echo(
                    f"    {src.name}: {'armed' if src.armed else 'off'}{flag} ({src.detail})"
                )
            for why in s.degraded:
                typer.echo(f"    degraded: {why}")
