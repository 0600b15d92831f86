"""cdf.writer: exact text for a small model, oracle render+reparse, parse(render(x)) == x."""

from __future__ import annotations

from pathlib import Path

from cdf.parser import parse
from cdf.writer import render_bytes


def test_oracle_render_reparse(oracle_dir: Path) -> None:
    original = parse((oracle_dir / "makecat" / "CatalogDefinitionFileName.cdf").read_bytes())
    text = render_bytes(original.definition)
    again = parse(text)
    assert again.definition == original.definition
    assert again.warnings == ()
    assert text.isascii()
    # every non-comment line of the Microsoft-processed file survives verbatim
    for line in (oracle_dir / "makecat" / "CatalogDefinitionFileName.cdf").read_text().splitlines():
        if line and not line.startswith("#") and not line.startswith("PublicVersion"):
            assert line.encode() + b"\r\n" in text
    assert b"PublicVersion=1\r\n" in text
