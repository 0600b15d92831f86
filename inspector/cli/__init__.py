"""The ``inspector`` command line: options in, one pipeline call, output rendered.

The only importer of typer and rich. Each command group lives in its own module and registers itself
on ``app``; package errors become exit codes in ``exit_codes`` and nowhere else.
"""

from __future__ import annotations

import sys
import traceback

import typer
import typer.core

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
from inspector.cli.help import HELP_OPTIONS, InspectorCommand, InspectorGroup

app = typer.Typer(
    name="inspector",
    help=(
        "Record what an install touches, hash it the Windows way, and write MakeCat-compatible "
        "signed catalogs and WDAC policies - on any OS."
    ),
    cls=InspectorGroup,
    context_settings={"help_option_names": HELP_OPTIONS},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEBUG_FLAG = "--debug"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inspector {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False,
        DEBUG_FLAG,
        help="On an internal error (exit 70), print the traceback (accepted anywhere).",
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


def _use_plain_help(group: typer.Typer) -> None:
    """Every command and sub-group, wherever registered, gets the plain help classes."""
    for command in group.registered_commands:
        if command.cls is None or command.cls is typer.core.TyperCommand:
            command.cls = InspectorCommand
    for sub in group.registered_groups:
        if sub.typer_instance is None:
            continue
        info = sub.typer_instance.info
        if not isinstance(info.cls, type) or info.cls is typer.core.TyperGroup:
            info.cls = InspectorGroup
        _use_plain_help(sub.typer_instance)


_use_plain_help(app)


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere before ``--`` (it is a global switch, not one command's option)."""
    if "--" in argv:
        cut = argv.index("--")
        head, tail = argv[:cut], argv[cut:]
    else:
        head, tail = argv, []
    kept = [a for a in head if a != DEBUG_FLAG]
    return kept + tail, len(kept) != len(head)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map every exception to an exit code once.

    Package errors become 1/3/4 with their message; anything else is a bug: exit 70 with a
    one-line message and a hint (``--debug`` prints the traceback instead).
    """
    args, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        code = exit_code_for(exc)
        if debug:
            traceback.print_exc()
        if code is ExitCode.INTERNAL:
            where = f" (in {command_name(args)})" if command_name(args) else ""
            typer.echo(f"internal error{where}: {type(exc).__name__}: {one_line(exc)}", err=True)
            if not debug:
                typer.echo(
                    "hint: this is a bug in inspector; run the same command with --debug and "
                    "report the traceback it prints",
                    err=True,
                )
        else:
            typer.echo(f"error: {str(exc) or type(exc).__name__}", err=True)
        sys.exit(int(code))


def command_name(args: list[str]) -> str:
    """The command words of ``args`` (``policy compile``), for messages."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
        if arg not in ("catalog", "policy"):
            break
    return " ".join(words)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."
