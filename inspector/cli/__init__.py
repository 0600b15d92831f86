"""The ``inspector`` command line: options in, one pipeline call, output rendered.

The only importer of typer and rich. Each command group lives in its own module and registers itself
on the application (``application.py``, which loads only the module a command needs); package errors
become exit codes in ``exit_codes`` and nowhere else.
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING

import typer

from inspector.cli.application import DEBUG_FLAG, full_app, register_for
from inspector.cli.exit_codes import ExitCode, exit_code_for

if TYPE_CHECKING:
    app: typer.Typer
    """The whole application (every command registered); for tests and embedding."""


def __getattr__(name: str) -> typer.Typer:
    # ``from inspector.cli import app``: built in full on first use; ``main`` registers only
    # the command it runs (inspector/cli/application.py).
    if name == "app":
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


HASHING_COMMANDS = frozenset(
    {("hash",), ("scan",), ("stop",), ("makecat",), ("verify",), ("catalog", "build")}
)
"""Commands that may hash thousands of files: their worker processes' fork server is started
first, while the command line is still being built (about 0.2 s sooner to the first result).
Other commands (``catalog show``, ``policy ...``) do not start an interpreter they never use."""


def hashes_many(args: list[str]) -> bool:
    """Whether ``args`` runs one of ``HASHING_COMMANDS`` (verbs are case-insensitive)."""
    words = tuple(a.lower() for a in args if not a.startswith("-"))
    return words[:1] in HASHING_COMMANDS or words[:2] in HASHING_COMMANDS


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
    if hashes_many(args):
        from catalog.pe import warm_up

        warm_up()
    try:
        register_for(args)(args=args, standalone_mode=True)
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
