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
from inspector.pipeline import tracing
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


def _output_options(
    out: str | None,
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
) -> tracing.OutputOptions:
    if out is not None and out.lower() not in tracing.OUT_KINDS:
        raise typer.BadParameter(f"-out takes cat, cdf or list, not {out!r}")
    return tracing.OutputOptions(
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


def _render(result: tracing.TraceOutputs, as_json: bool, previous: Previous | None = None) -> None:
    m = result.manifest
    changes = changes_since(previous, result) if previous is not None else None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **({"changes": changes.to_dict()} if changes is not None else {}),
                    "session_id": m.session_id,
                    "root": m.root,
                    "files": len(m.entries),
                    "catalogable": result.catalogable,
                    "transient": sum(1 for e in m.entries if not e.exists_at_stop),
                    "degraded": list(m.degraded),
                    "recovered": result.recovered,
                    "written": list(result.written),
                },
                indent=2,
            )
        )
        return
    transient = sum(1 for e in m.entries if not e.exists_at_stop)
    typer.echo(
        f"{len(m.entries)} files under {m.root} ({result.catalogable} catalogable, "
        f"{transient} gone before stop)"
    )
    for path in result.written:
        typer.echo(f"wrote {path}")
    for why in m.degraded:
        typer.echo(f"degraded: {why}", err=True)
    for w in (*m.warnings, *result.warnings):
        typer.echo(f"warning: {w}", err=True)
    if changes is not None:
        typer.echo("changes since the previous catalog:")
        typer.echo(render_diff(changes))


PREVIOUS_HELP = "Catalog of the previous version: report files added, removed and changed."


def register(app: typer.Typer) -> None:
    """Attach start, stop, status and scan to the application."""
    # Package Inspector's verbs are case-insensitive ("Stop C: -Name ..." in Microsoft's docs);
    # click inherits the group's normaliser into every command, so set it on the app.
    settings = dict(app.info.context_settings or {})
    settings.setdefault("token_normalize_func", str.lower)
    app.info.context_settings = settings

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
            sources=tuple(s.strip() for s in sources.split(",") if s.strip()),
            excluded_dirs=tuple(exclude_dir),
            include=tuple(include),
            exclude=tuple(exclude),
        )
        info = tracing.start(root, path, options)
        if as_json:
            typer.echo(json.dumps(info.to_dict(), indent=2))
        else:
            typer.echo(info.session_id)
            typer.echo(f"recording {info.root}; run 'inspector stop {root}' when done", err=True)

    @app.command(context_settings=CONTEXT)
    def stop(
        root: str = typer.Argument(..., help="The folder or drive given to start."),
        out: str | None = typer.Option(
            None, "--out", "-out", help="cat, cdf or list (default: both .cat and .cdf)."
        ),
        name: str | None = typer.Option(None, "--name", "-name", help="Catalog (.cat) path."),
        cdfpath: str | None = typer.Option(None, "--cdfpath", "-cdfpath", help="CDF path."),
        resdir: str | None = typer.Option(None, "--resdir", "-resdir", help="Result folder."),
        ph: str | None = typer.Option(None, "--ph", "-ph", help="Page hashes: true or false."),
        en: str = typer.Option(
            tracing.DEFAULT_ENCODING, "--en", "-en", help="EncodingType for the CDF."
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
            outputs = tracing.stop(root, opts, progress=bar)
        _render(outputs, as_json, old)

    @app.command(context_settings=CONTEXT)
    def scan(
        path: str = typer.Argument(..., help="Folder to take every file from (no recording)."),
        out: str | None = typer.Option(None, "--out", "-out", help="cat, cdf or list."),
        name: str | None = typer.Option(None, "--name", "-name", help="Catalog (.cat) path."),
        cdfpath: str | None = typer.Option(None, "--cdfpath", "-cdfpath", help="CDF path."),
        resdir: str | None = typer.Option(None, "--resdir", "-resdir", help="Result folder."),
        ph: str | None = typer.Option(None, "--ph", "-ph", help="Page hashes: true or false."),
        en: str = typer.Option(tracing.DEFAULT_ENCODING, "--en", "-en", help="EncodingType."),
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
            outputs = tracing.scan(path, opts, progress=bar)
        _render(outputs, as_json, old)

    @app.command(context_settings=CONTEXT)
    def demo(
        workdir: str | None = typer.Option(
            None,
            "--dir",
            help=f"Work folder, kept for inspection (default: ./{tracing.DEMO_DIR}; emptied "
            "first when an earlier demo made it).",
        ),
    ) -> None:
        """Record a scripted install of fixture PEs, write .cdf/.cat/report, sign and verify,
        then write, compile, sign and re-read WDAC policies trusting the catalog's signer."""
        r = tracing.run_demo(workdir)
        m = r.outputs.manifest
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
        sessions = tracing.status()
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
