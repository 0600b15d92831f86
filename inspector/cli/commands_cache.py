"""``inspector cache stats|prune``: look after the incremental hash cache (``--cache``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from catalog.fleet import CacheStats
from inspector.pipeline.fleet import cache_prune, cache_stats

cache_app = typer.Typer(help="Inspect and prune the incremental hash cache.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    cache_app.command("stats")(stats_command)
    cache_app.command("prune")(prune_command)
    app.add_typer(cache_app, name="cache")


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise typer.BadParameter(f"{path}: no hash cache there", param_hint="CACHE")
    return path


def _render(path: Path, stats: CacheStats) -> str:
    return (
        f"{path}: {stats.entries} entries covering {stats.bytes_covered:,} bytes of files; "
        f"{stats.file_bytes:,} bytes on disk (schema {stats.schema_version})"
    )


def stats_command(
    cache: Path = typer.Argument(..., help="The cache file given to --cache."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """How many files the cache covers and how big it is."""
    stats = cache_stats(_existing(cache))
    typer.echo(json.dumps(stats.to_dict(), indent=2) if as_json else _render(cache, stats))


def prune_command(
    cache: Path = typer.Argument(..., help="The cache file given to --cache."),  # noqa: B008
    older_than_days: float | None = typer.Option(
        None, "--older-than-days", help="Also drop entries stored more than N days ago."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Drop entries of files that are gone or changed (and, optionally, old entries)."""
    dropped, stats = cache_prune(_existing(cache), older_than_days=older_than_days)
    if as_json:
        typer.echo(json.dumps({"dropped": dropped, **stats.to_dict()}, indent=2))
    else:
        typer.echo(f"dropped {dropped} entries; " + _render(cache, stats))
