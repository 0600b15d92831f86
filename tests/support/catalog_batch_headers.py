"""Helpers for the catalog batch_headers tests that more than one lane uses."""

from __future__ import annotations

from pathlib import Path

from catalog.errors import CatalogInputError
from catalog.pe.headers import Parsed, parse_layouts
from catalog.pe.layout import PeLayout, parse_pe_layout


def reference(data: bytes, size: int) -> Parsed:
    try:
        return parse_pe_layout(data, size)
    except CatalogInputError as exc:
        return exc


def same(batched: Parsed, scalar: Parsed) -> bool:
    if isinstance(scalar, PeLayout):
        return batched == scalar
    return type(batched) is type(scalar) and str(batched) == str(scalar)


def check(items: list[tuple[bytes, int]]) -> None:
    batched = parse_layouts([d for d, _ in items], [s for _, s in items])
    assert len(batched) == len(items)
    for (data, size), got in zip(items, batched, strict=True):
        want = reference(data, size)
        assert same(got, want), (got, want)


def fixture_files(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()]
