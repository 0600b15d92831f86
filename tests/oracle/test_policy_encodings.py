"""A Microsoft XML saved as UTF-16 (Windows PowerShell 5.1's ``Out-File`` default) still compiles to
Microsoft's own binary, through the CLI (issue 11 item 13).

The oracle's XML files are UTF-8, with and without a BOM (sipolicy.md 2.1); each is re-encoded here
and ``policy compile`` must give the bytes ConvertFrom-CIPolicy wrote for the original.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inspector.cli import app
from tests.support.policy_oracle import PAIRS, Pair

runner = CliRunner()

ENCODINGS = {
    "utf-16-le-bom": lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    "utf-16-be-bom": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "utf-16-le-no-bom": lambda text: text.encode("utf-16-le"),
    "utf-8-bom": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
}
SMALL_PAIRS = [p for p in PAIRS if "yufan-2025-02" in p.xml or "hbkmon" in p.xml]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("pair", SMALL_PAIRS, ids=[p.xml for p in SMALL_PAIRS])
def test_reencoded_oracle_xml_compiles_to_microsofts_binary(
    policy_oracle_dir: Path, tmp_path: Path, pair: Pair, encoding: str
) -> None:
    root = policy_oracle_dir / "pairs"
    xml, binary = (root / pair.xml, root / pair.binary)
    text = xml.read_bytes().decode("utf-8-sig")
    if encoding.startswith("utf-16"):
        text = text.replace('encoding="utf-8"', 'encoding="utf-16"', 1)
    source = tmp_path / f"policy-{encoding}.xml"
    source.write_bytes(ENCODINGS[encoding](text))
    out = tmp_path / "out.bin"
    fmt = "7" if "v7" in pair.features else "8"
    args = ["policy", "compile", str(source), "-o", str(out), "--lenient", "--format", fmt]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == binary.read_bytes()
