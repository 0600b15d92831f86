"""Helpers for the catalog bad_pe_fixtures tests that more than one lane uses."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.records import FileKind
from tests.conftest import FIXTURES

BAD_DIR = FIXTURES / "pe" / "bad"


@dataclass(frozen=True, slots=True)
class Expect:
    kind: FileKind
    words: tuple[str, ...]
    """Lower-case words the reason (or, for a PE, the page-hash note) must contain."""
    pe_format: str | None = None


EXPECTED: dict[str, Expect] = {
    "empty.exe": Expect(FileKind.FLAT, ("too small",)),
    "mz-only.exe": Expect(FileKind.FLAT, ("e_lfanew", "end of the file")),
    "no-pe-signature.exe": Expect(FileKind.FLAT, ("pe signature",)),
    "elfanew-beyond-eof.exe": Expect(FileKind.FLAT, ("e_lfanew", "end of the file")),
    "truncated-in-section-table.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section table", "end of the file"), "PE32+"
    ),
    "truncated-in-section-data.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section", "raw data", "truncated"), "PE32+"
    ),
    "nsections-ffff.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section table", "65535", "end of the file"), "PE32+"
    ),
    "nsections-zero.exe": Expect(FileKind.PE, ("no section",), "PE32+"),
    "sizeofheaders-beyond-eof.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("sizeofheaders", "end of the file"), "PE32+"
    ),
    "rva-count-4.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("numberofrvaandsizes", "certificate"), "PE32+"
    ),
    "sizeofoptionalheader-huge.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("section table", "end of the file"), "PE32+"
    ),
    "unknown-magic.exe": Expect(FileKind.PE_NONCONFORMANT, ("magic", "0x1234")),
    "cert-entry-beyond-eof.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("certificate table", "end of the file"), "PE32+"
    ),
    "signed-then-appended.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("certificate table", "not at the end", "23 bytes"), "PE32+"
    ),
    "cert-size-beyond-eof.exe": Expect(
        FileKind.PE_NONCONFORMANT, ("certificate table", "end of the file"), "PE32+"
    ),
}
NAMES = tuple(sorted(EXPECTED))
