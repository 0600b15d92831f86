"""The ``inspector`` command line: options in, one pipeline call, output rendered.

The only importer of typer and rich. Each command group lives in its own module and registers itself
on ``app``; package errors become exit codes in ``exit_codes`` and nowhere else.
"""

from __future__ import annotations

import sys

import typer

from inspector import __version__
from inspector.cli import (
    commands_cache,
    commands_catalog,
    commands_compare,
    commands_events,
    commands_hash,
    commands_policy,
    commands_sign,
    commands_simulate,
    commands_trace,
)
from inspector.cli.exit_codes import ExitCode, exit_code_for
from inspector.cli.groups import catalog_app, policy_app

app = typer.Typer(
    name="inspector",
    help=(
        "Record what an install touches, hash it the Windows way, and write MakeCat-compatible "
        "signed catalogs and WDAC policies - on any OS."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inspector {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Package-Inspector-style cataloguing for WDAC (App Control for Business)."""


commands_hash.register(app)
commands_catalog.register(app)
commands_compare.register(app)
commands_sign.register(app)
commands_policy.register(app)
commands_simulate.register(app)
commands_trace.register(app)
commands_cache.register(app)
commands_events.register(app)
# Groups are added last so that help lists top-level commands first.
app.add_typer(catalog_app, name="catalog")
app.add_typer(policy_app, name="policy")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map package errors to exit codes once."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        code = exit_code_for(exc)
        if code is ExitCode.INTERNAL or debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(int(code))
