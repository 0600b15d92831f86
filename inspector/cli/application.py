"""The typer application, assembled from the command modules on demand.

Importing a command module imports its pipelines (cryptography, the policy compiler, SQLite...):
about 0.4 s for all of them, which ``inspector hash`` over a handful of files would spend on
code it never runs. ``register_for(args)`` therefore registers only the modules that provide the
command word in ``args``; help for the whole tool, an unknown word or ``full_app()`` registers them
all. ``MODULES`` is the table of which module provides which command word;
``tests/unit/inspector/test_cli_lazy.py`` checks it against the full application.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer
import typer.core

from inspector import __version__
from inspector.cli.groups import catalog_app, policy_app
from inspector.cli.help import HELP_OPTIONS, InspectorCommand, InspectorGroup

MODULES: dict[str, tuple[str, ...]] = {
    "commands_hash": ("hash",),
    "commands_catalog": ("makecat", "catalog"),
    "commands_compare": ("catalog",),
    "commands_sign": ("sign", "verify", "catalog"),
    "commands_policy": ("policy",),
    "commands_simulate": ("policy",),
    "commands_trace": ("start", "stop", "scan", "demo", "status"),
    "commands_cache": ("cache",),
    "commands_events": ("events", "policy"),
}
"""Each command module (in help order) and the top-level command words it registers."""

SHARED_GROUPS = (("catalog", catalog_app), ("policy", policy_app))
"""Groups several modules fill; added after the modules' own commands and groups."""

app = typer.Typer(
    name="inspector",
    help=(
        "Record what an install touches, hash it the Windows way, and write MakeCat-compatible "
        "signed catalogs and WDAC policies - on any OS."
    ),
    cls=InspectorGroup,
    # Package Inspector's verbs are case-insensitive ("Stop C: -Name ..." in Microsoft's docs);
    # click passes the group's normaliser on to every command.
    context_settings={"help_option_names": HELP_OPTIONS, "token_normalize_func": str.lower},
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


_registered: list[str] = []
_order: dict[int, tuple[int, int]] = {}
"""id(command or group info) -> (module index, position): help order whatever the load order."""


def _lists() -> list[list[typer.models.CommandInfo] | list[typer.models.TyperInfo]]:
    """Every list a module's ``register`` appends to."""
    lists: list[list[typer.models.CommandInfo] | list[typer.models.TyperInfo]] = [
        app.registered_commands,
        app.registered_groups,
    ]
    lists.extend(group_app.registered_commands for _, group_app in SHARED_GROUPS)
    return lists


def _register(names: Sequence[str]) -> None:
    for name in names:
        if name in _registered:
            continue
        index = list(MODULES).index(name)
        before = [len(items) for items in _lists()]
        importlib.import_module(f"inspector.cli.{name}").register(app)
        for items, start in zip(_lists(), before, strict=True):
            for k, item in enumerate(items[start:]):
                _order[id(item)] = (index, k)
        _registered.append(name)
    present = {group.name for group in app.registered_groups}
    for k, (word, group_app) in enumerate(SHARED_GROUPS):
        if word not in present and group_app.registered_commands:
            app.add_typer(group_app, name=word)
            _order[id(app.registered_groups[-1])] = (len(MODULES), k)
    for items in _lists():
        items.sort(key=lambda item: _order[id(item)])
    _use_plain_help(app)


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


def command_word(args: Sequence[str]) -> str | None:
    """The top-level command word of ``args`` (lower case: verbs are case-insensitive), or None
    when there is none (``--help``, ``--version``, no arguments)."""
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg.lower()
    return None


def register_for(args: Sequence[str]) -> typer.Typer:
    """The application with at least the modules ``args``'s command word needs registered."""
    word = command_word(args)
    needed = [name for name, words in MODULES.items() if word in words]
    _register(needed or list(MODULES))
    return app


def full_app() -> typer.Typer:
    """The application with every command registered (help, tests)."""
    _register(list(MODULES))
    return app
