"""``inspector catalog diff`` and ``inspector catalog merge``: catalogs that follow app updates."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from catalog.ctl import AttributeChange, CatalogDiff
from inspector.cli.groups import catalog_app
from inspector.pipeline.compare import diff_files, merge_files


def register(_app: typer.Typer) -> None:
    catalog_app.command("diff")(diff_command)
    catalog_app.command("merge")(merge_command)


def diff_command(
    old: Path = typer.Argument(..., help="The earlier catalog (.cat)."),  # noqa: B008
    new: Path = typer.Argument(..., help="The later catalog (.cat)."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Members added, removed and changed between two catalogs, matched by their File attribute.

    Exit codes: 0 always when both catalogs were read (the difference is the output); 3 when a
    catalog cannot be read.
    """
    diff = diff_files(old, new)
    if as_json:
        typer.echo(json.dumps(diff.to_dict(), indent=2))
    else:
        typer.echo(render_diff(diff))


def merge_command(
    inputs: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Catalogs to merge, oldest first: on a conflict the later one wins."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The merged catalog to write."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Union of catalogs into one unsigned catalog (sign it with `inspector sign`).

    All inputs must have the same version (SHA1 or SHA256). A member whose attributes differ
    between inputs, and a catalog attribute with different values, are taken from the last input
    and reported. Same inputs in the same order give a byte-identical catalog.
    """
    result = merge_files(inputs, output)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    for note in result.conflicts:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"{output}: version {result.version}, {result.member_count} members from "
        f"{len(inputs)} catalogs ({len(result.conflicts)} conflicts), unsigned"
    )


def _attrs(changes: tuple[AttributeChange, ...], indent: str) -> list[str]:
    return [f"{indent}{c.name}: {c.old or '(none)'} -> {c.new or '(none)'}" for c in changes]


def render_diff(diff: CatalogDiff) -> str:
    """A table: one line per member (+ added, - removed, ~ changed), then a summary."""
    lines: list[str] = []
    if diff.old_version != diff.new_version:
        lines.append(f"catalog version: {diff.old_version} -> {diff.new_version}")
    for attr in diff.catalog_attributes:
        lines.append(
            f"catalog attribute {attr.name}: {attr.old or '(none)'} -> {attr.new or '(none)'}"
        )
    width = max(
        [len(m.name) for m in (*diff.added, *diff.removed)]
        + [len(c.new.name) for c in diff.changed]
        + [4]
    )
    for m in diff.added:
        lines.append(f"+ {m.name.ljust(width)}  {m.digest_algorithm or '-'} {m.digest or '-'}")
    for m in diff.removed:
        lines.append(f"- {m.name.ljust(width)}  {m.digest_algorithm or '-'} {m.digest or '-'}")
    for c in diff.changed:
        what = (
            f"{c.old.digest or '-'} -> {c.new.digest or '-'}"
            if c.content_changed
            else "same content"
        )
        lines.append(f"~ {c.new.name.ljust(width)}  {what}")
        lines.extend(_attrs(c.attributes, "    "))
    lines.append(
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed, "
        f"{diff.unchanged} unchanged"
    )
    return "\n".join(lines)
