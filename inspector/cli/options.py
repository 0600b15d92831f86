"""Parsing of option values shared by several commands (times given on the command line)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from inspector.pipeline.fleet import FleetOptions

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


CACHE_HELP = "Hash cache (SQLite): files whose stat is unchanged are not read again."
DASK_HELP = (
    "Hash on a Dask cluster: tcp://host:8786 (workers must see the same paths), or local[:N] "
    "for N local worker processes. Needs the [fleet] extra."
)


def fleet_options(cache: Path | None, dask: str | None) -> FleetOptions | None:
    """``--cache`` / ``--dask`` as the pipelines take them (None: the default hasher)."""
    if cache is None and dask is None:
        return None
    if dask is not None and not dask.strip():
        raise typer.BadParameter("give a scheduler address or local[:N]", param_hint="--dask")
    return FleetOptions(cache=cache, dask=dask)
