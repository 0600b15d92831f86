"""XML -> binary against Microsoft's ConvertFrom-CIPolicy output (sipolicy.md 3-5, 9).

Every expected byte comes from a Microsoft-made binary in ../shared/policy-oracle/pairs; the
header facts (options, counts, SHA-256 prefixes) come from the oracle README's table.
"""

from __future__ import annotations

import pytest

from policy.binary import decompile_policy, legacy_sort
from policy.errors import PolicyInputError


@pytest.mark.parametrize(
    "data",
    [b"", b"\x08\x00\x00\x00" + b"\x00" * 10, b"0\x82\x01\x00", b"\x09" + b"\x00" * 100],
)
def test_decompile_refuses_garbage(data: bytes) -> None:
    with pytest.raises(PolicyInputError):
        decompile_policy(data, "x.cip")


def test_legacy_sort_swaps_identical_pair() -> None:
    # sipolicy.md 3.4: [A_1, A_2] with equal keys ends as [A_2, A_1].
    assert legacy_sort(["A_1", "A_2"], lambda s: 0) == ["A_2", "A_1"]


def test_legacy_sort_sorts_large_inputs() -> None:
    values = [(i * 7919) % 1000 for i in range(5000)]
    assert legacy_sort(values, lambda v: v) == sorted(values)
