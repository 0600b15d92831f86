"""Parsing of option values shared by several commands (times given on the command line)."""

from __future__ import annotations

import datetime as dt

import typer

MAX_WORKERS = 256
"""Upper bound of ``-j``/``--workers``: beyond it threads only cost memory."""


def parse_iso_time(
    text: str | None, *, option: str, message: str, allow_now: bool = False
) -> dt.datetime | None:
    """An ISO 8601 time (UTC when it names no zone), ``now`` when allowed, or None.

    A bad value raises ``typer.BadParameter`` with ``message`` for ``option``.
    """
    if text is None:
        return None
    if allow_now and text == "now":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(message, param_hint=option) from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
