"""How ``--help`` reads: words a user types, not Python types.

typer prints each parameter's Python annotation (``<bool>``, ``<list[Path]>``) and wraps required
arguments in braces (``{paths}...``). Every command and group of ``inspector`` is built with the
classes below instead: flags show no value, options show PATH / TEXT / INTEGER, arguments read
``PATHS...`` (``[FILES]...`` when optional), as click and most Unix tools write them. ``-h`` and
``-?`` (Package Inspector's spelling) are accepted wherever ``--help`` is (``HELP_OPTIONS``).

The same classes switch off typer's up-front ``readable`` check of path parameters: it failed the
whole command with a usage error (exit 2) when one of many paths was unreadable. The pipelines
read every path themselves and report an unreadable one per file (exit 3, the rest processed).
"""

from __future__ import annotations

import types
import typing
from pathlib import PurePath
from typing import Any

import typer.core

HELP_OPTIONS = ["--help", "-h", "-?"]

_LABELS: tuple[tuple[type, str], ...] = (
    (bool, ""),
    (int, "INTEGER"),
    (float, "NUMBER"),
    (PurePath, "PATH"),
    (str, "TEXT"),
)


def _label_of(annotation: Any) -> str | None:
    """PATH, TEXT, INTEGER... for an annotation (``list[X]`` and ``X | None`` use X)."""
    origin = typing.get_origin(annotation)
    if origin is list or origin is types.UnionType or origin is typing.Union:
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _label_of(arg)
        return None
    if isinstance(annotation, type):
        for base, label in _LABELS:
            if issubclass(annotation, base):
                return label
    return None


def _no_readable_check(param: Any) -> None:
    """Leave unreadable paths to the pipelines (per-file errors) instead of a usage error."""
    descriptor = getattr(param, "type_descriptor", None)
    info = getattr(descriptor, "parameter_info", None)
    if info is not None and getattr(info, "readable", False):
        info.readable = False
    click_type = getattr(param, "type", None)
    if click_type is not None and getattr(click_type, "readable", False):
        click_type.readable = False


def _plain(param: Any) -> None:
    """Give ``param`` a metavar a user understands, and no Python type in the help table."""
    _no_readable_check(param)
    is_argument = getattr(param, "param_type_name", "") == "argument"
    descriptor = getattr(param, "type_descriptor", None)
    label: str | None
    if is_argument:
        label = param.metavar or str(param.name).upper()
    elif getattr(param, "is_flag", False) or getattr(param, "count", False):
        label = ""
    else:
        label = None if descriptor is None else _label_of(descriptor.annotation)
        if label is None:
            click_type = getattr(param, "type", None)
            label = str(getattr(click_type, "name", "value")).upper()
    param.metavar = label
    if hasattr(param, "display_type_rich"):
        # typer >= 0.2x prints the annotation beside each parameter; show the label instead
        # (nothing for arguments, whose name column already reads PATHS...).
        shown = None if is_argument else label
        param.display_type_rich = lambda ctx, _shown=shown: _shown


class _PlainHelp:
    """What commands and groups share: plain labels on every parameter and on the help option,
    whose spellings keep ``HELP_OPTIONS``' order (click returns them in set order, so help read
    ``-h,-?`` or ``-?,-h`` depending on the interpreter's hash seed)."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _plain(param)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _plain(option)
        return option

    def get_help_option_names(self, ctx: Any) -> list[str]:
        taken = {name for param in self.params for name in (*param.opts, *param.secondary_opts)}
        return [name for name in ctx.help_option_names if name not in taken]


class InspectorCommand(_PlainHelp, typer.core.TyperCommand):
    """A typer command whose help shows PATH/TEXT/INTEGER and ``ARG...``, not Python types."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", "") != "argument":
                continue
            name = str(param.metavar or str(param.name).upper())
            if param.nargs != 1:
                name += "..."
            pieces.append(name if param.required else f"[{name}]")
        return pieces


class InspectorGroup(_PlainHelp, typer.core.TyperGroup):
    """A typer group whose own options (``--version``, ``--help``) show no Python type."""
