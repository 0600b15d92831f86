"""Three small inputs for the bench/ smoke tests (unit and integration lanes)."""

from __future__ import annotations

from pathlib import Path

from tests.support.synthetic_pe import SyntheticPe


def write_three_files(folder: Path) -> list[Path]:
    """An aligned PE32+, an unaligned PE32 with an overlay, and a text file, written to folder."""
    aligned = folder / "aligned.dll"
    aligned.write_bytes(SyntheticPe().build())  # 0x1800 bytes: a multiple of 8
    unaligned = folder / "unaligned.exe"
    unaligned.write_bytes(SyntheticPe(pe32_plus=False, overlay=b"tail").build())
    text = folder / "notes.txt"
    text.write_bytes(b"not a PE at all\n" * 100)
    return [aligned, unaligned, text]
