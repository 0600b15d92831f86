"""Small wording helpers for messages: counts with the right plural ("1 file", "2 files")."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``word`` or its plural for ``n`` (``many`` overrides the plural)."""
    if n == 1:
        return word
    if many is not None:
        return many
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return f"{word[:-1]}ies"  # entry -> entries, policy -> policies
    return f"{word}s"


def count(n: int, word: str, many: str | None = None) -> str:
    """``"1 file"``, ``"3 files"``, ``"0 files"``."""
    return f"{n:,} {plural(n, word, many)}"
