"""cdf.parser: the MakeCat oracle CDF, every key, encodings, line endings, errors, warnings."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from cdf.model import CatalogDefinition, CdfAttribute, CdfMember
from cdf.parser import parse


def _file_attr(value: str, flags: int = 0x11010001) -> tuple[CdfAttribute, ...]:
    return (CdfAttribute(1, flags, "File", value),)


# Written by hand from the oracle file's text (not produced by the parser).
ORACLE_EXPECTED = CatalogDefinition(
    name="unsigned.cat",
    result_dir="..\\files",
    public_version=1,
    catalog_version=2,
    hash_algorithms=("SHA256",),
    page_hashes=True,
    encoding_type=0x00010001,
    attributes=(CdfAttribute(1, 0x11010001, "OSAttr", "2:6.0"),),
    members=(
        CdfMember("PEfile", "..\\files\\unsigned.exe", True, None, _file_attr("unsigned.exe")),
        CdfMember(
            "MSIfile",
            "..\\files\\unsigned.msi",
            True,
            None,
            _file_attr("dW5zaWduZWQubXNp", 0x11020001),
        ),
        CdfMember("CABfile", "..\\files\\unsigned.ex_", True, None, _file_attr("unsigned.ex_")),
        CdfMember("PS1file", "..\\files\\unsigned.ps1", True, None, _file_attr("unsigned.ps1")),
        CdfMember("PSC1file", "..\\files\\unsigned.psc1", True, None, _file_attr("unsigned.psc1")),
        CdfMember("MOFfile", "..\\files\\unsigned.mof", True, None, _file_attr("unsigned.mof")),
        CdfMember("JSfile", "..\\files\\unsigned.js", True, None, _file_attr("unsigned.js")),
    ),
)


@pytest.fixture
def oracle_cdf(oracle_dir: Path) -> bytes:
    return (oracle_dir / "makecat" / "CatalogDefinitionFileName.cdf").read_bytes()


def test_oracle_cdf(oracle_cdf: bytes) -> None:
    assert b"\r\n" in oracle_cdf  # the real file has CRLF line endings
    result = parse(oracle_cdf, source="CatalogDefinitionFileName.cdf")
    assert result.definition == ORACLE_EXPECTED
    assert result.warnings == ()
    assert result.encoding == "utf-8"
    assert result.definition.digest_algorithm == "SHA256"


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (b"", "utf-8", "utf-8"),
    ],
)
def test_oracle_cdf_in_other_encodings(
    oracle_cdf: bytes, bom: bytes, codec: str, name: str
) -> None:
    text = oracle_cdf.decode("ascii")
    for newline in ("\r\n", "\n", "\r"):
        data = bom + text.replace("\r\n", newline).encode(codec)
        result = parse(data)
        assert result.definition == ORACLE_EXPECTED
        assert result.encoding == name
