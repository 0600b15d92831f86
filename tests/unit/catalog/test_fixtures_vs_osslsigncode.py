"""The hasher on the project's own PE fixtures, against independent oracles (formats.md 1-3, 7).

Oracles: osslsigncode 2.9 (``extract-data -ph`` recomputes the Authenticode digest and the page
table; ``extract-signature`` returns the digest and table written at signing time),
``sha1sum``/``sha256sum`` (flat hashes) and the windres inputs in fixtures/src/*.rc (version
strings). Every fixture has SectionAlignment 0x1000, where osslsigncode's page size (it uses
SectionAlignment) equals Windows' 4096 (formats.md 2.1); ``test_fixture_preconditions`` checks it.
The DER that osslsigncode writes is walked with a small TLV reader here, independent of catalog/.
"""

from __future__ import annotations

import re
import struct

import pytest

from catalog.records import PeMetadata
from fixtures.generate import BUILDS, SIGNED
from tests.conftest import FIXTURES
from tests.support.catalog_fixtures_vs_osslsigncode import ALL_PES, PE_DIR, digests

SRC_DIR = FIXTURES / "src"


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PES)
def test_fixture_preconditions(name: str) -> None:
    """Independent header read: SectionAlignment 0x1000 (so osslsigncode's pages are 4096)."""
    data = (PE_DIR / name).read_bytes()
    (e_lfanew,) = struct.unpack_from("<I", data, 0x3C)
    assert data[e_lfanew : e_lfanew + 4] == b"PE\0\0"
    (section_alignment,) = struct.unpack_from("<I", data, e_lfanew + 24 + 32)
    assert section_alignment == 0x1000


# --- version resources vs the windres input -----------------------------------------------------

RC_FIELDS = {
    "CompanyName": "company_name",
    "FileDescription": "file_description",
    "FileVersion": "file_version",
    "InternalName": "internal_name",
    "OriginalFilename": "original_filename",
    "ProductName": "product_name",
    "ProductVersion": "product_version",
}
VALUE_LINE = re.compile(r'^\s*VALUE\s+"(\w+)",\s*"([^"]*)"\s*$', re.MULTILINE)


def rc_strings(rc_name: str) -> dict[str, str]:
    text = (SRC_DIR / rc_name).read_text(encoding="utf-8")
    found = {RC_FIELDS[key]: value for key, value in VALUE_LINE.findall(text) if key in RC_FIELDS}
    assert set(found) == set(RC_FIELDS.values()), f"{rc_name} lacks some version strings"
    return found


METADATA_CASES = [(b.name, b.rc) for b in BUILDS if b.rc] + [
    (s.name, next(b.rc for b in BUILDS if b.name == s.base))
    for s in SIGNED
    if any(b.name == s.base and b.rc for b in BUILDS)
]


@pytest.mark.parametrize(("name", "rc"), METADATA_CASES)
def test_metadata_equals_windres_input(name: str, rc: str | None) -> None:
    assert rc is not None
    metadata = digests(name).metadata
    assert metadata is not None
    found = metadata.to_dict()
    binary = found.pop("binary_file_version")
    assert found == rc_strings(rc)
    # The binary FILEVERSION statement of the same .rc (what WDAC version rules compare).
    (numbers,) = re.findall(r"^FILEVERSION\s+([\d,\s]+)$", (SRC_DIR / rc).read_text(), re.M)
    assert binary == ".".join(n.strip() for n in numbers.split(","))


def test_non_ascii_company_name_survives() -> None:
    """version32.rc's CompanyName has an o-umlaut: UTF-8 source -> UTF-16 resource -> str."""
    metadata = digests("version32.dll").metadata
    assert metadata is not None
    assert metadata.company_name == "Inspect\u00f6r Test Fixtures GmbH"


@pytest.mark.parametrize("name", [b.name for b in BUILDS if not b.rc])
def test_no_version_resource_means_no_strings(name: str) -> None:
    metadata = digests(name).metadata
    assert metadata is None or metadata == PeMetadata()
