"""The catalog reader (catalog.ctl.read) on catalogs made by Microsoft's tools (formats.md 4, 6.1).

Expected values come from ../shared/oracle/README.md, from sha1sum/sha256sum of the member files
and from `openssl asn1parse` of the oracle catalogs - never from the reader itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.ctl.read import MemberType, parse_catalog, signer_summaries
from catalog.errors import CatalogInputError
from tests.support.catalog_reader import load

OEM89_MESSAGE_DIGEST = "3AA308129066A5A09A4A1869DCD98B2CCC8C93DD7FC0FC5A6BD1685D8752722C"
DXCORE = "06FA542CA0A1626E11E99E79896C9EAA79B5CFC3F9AD0AC8B84D4B2E8C5A292C"
MS_V2 = "115fe8649854ad531fb7ecd1318fbee6b33c9cbd78f02ed582092a96d5eb5899.cat"


def test_oem89_ctl_contents_give_the_signed_message_digest(oracle_dir: Path) -> None:
    cat = load(oracle_dir / "microsoft" / "oem89.cat")
    assert hashlib.sha256(cat.ctl_contents).hexdigest().upper() == OEM89_MESSAGE_DIGEST
    # openssl asn1parse: the CTL SEQUENCE starts at 62 with a 4-byte header, contents [66, 1205)
    raw = (oracle_dir / "microsoft" / "oem89.cat").read_bytes()
    assert cat.ctl == raw[62:1205]
    assert cat.ctl_contents == raw[66:1205]
    assert len(cat.certificates) == 2
    assert len(cat.signer_infos) == 1
    assert [a.name for a in cat.attributes][:3] == ["Qualification Level", "DTC", "Submission ID"]
    assert cat.list_identifier == bytes.fromhex("5D8EFB4C5CD45940A6B3A6787E02E51A")
    assert cat.this_update == datetime(2022, 6, 30, 7, 24, 34, tzinfo=UTC)
    (signer,) = signer_summaries(cat)
    assert signer.digest_algorithm == "sha256"
    assert signer.subject is not None
    assert "Microsoft Windows Hardware Compatibility Publisher" in signer.subject


def test_microsoft_v2_catalog_lists_dxcore(oracle_dir: Path) -> None:
    cat = load(oracle_dir / "microsoft" / MS_V2)
    assert cat.version == 2
    entry = cat.find(bytes.fromhex(DXCORE))
    assert entry is not None
    assert entry.member_type is MemberType.PE
    assert entry.digest_algorithm == "sha256"
    assert entry.digest == bytes.fromhex(DXCORE)
    assert not entry.has_page_hashes
    assert cat.find_digest(bytes.fromhex(DXCORE)) is entry
    compat = [m for m in cat.members if m.compat]
    assert compat
    assert all(len(m.identifier) == 20 and m.digest is None for m in compat)


def test_catfiletest_parses(oracle_dir: Path) -> None:
    cat = load(oracle_dir / "microsoft" / "catfiletest.cat")
    assert cat.version == 1
    assert not cat.signed
    (entry,) = cat.members
    assert entry.identifier_text == "3D704299722321C69FAF98AEFBF4767E56E309FD"
    assert entry.member_type is MemberType.FLAT
    assert entry.file_name is None


@pytest.mark.parametrize("name", ["oem89.cat", "catfiletest.cat", MS_V2])
def test_truncated_catalogs_are_refused_with_an_offset(oracle_dir: Path, name: str) -> None:
    data = (oracle_dir / "microsoft" / name).read_bytes()
    for cut in sorted({1, 2, 10, 40, 100, len(data) // 3, len(data) // 2, len(data) - 1}):
        with pytest.raises(CatalogInputError, match="offset"):
            parse_catalog(data[:cut], name)


def test_other_files_are_not_catalogs(oracle_dir: Path) -> None:
    pe = (oracle_dir / "makecat" / "unsigned.exe").read_bytes()
    with pytest.raises(CatalogInputError, match=r"unsigned\.exe.*offset 0"):
        parse_catalog(pe, "unsigned.exe")
    with pytest.raises(CatalogInputError, match="empty"):
        parse_catalog(b"", "empty.cat")


def test_damaged_catalogs_never_crash_the_reader(oracle_dir: Path) -> None:
    """Random byte flips and cuts give a parsed catalog or a CatalogInputError, nothing else."""
    rng = random.Random(1234)
    sources = [
        (oracle_dir / "microsoft" / "oem89.cat").read_bytes(),
        (oracle_dir / "makecat" / "unsigned.cat").read_bytes(),
        (oracle_dir / "microsoft" / MS_V2).read_bytes(),
    ]
    for _ in range(800):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        with contextlib.suppress(CatalogInputError):
            parse_catalog(bytes(data), "fuzz.cat")
