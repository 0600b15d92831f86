"""Binary policies (.cip / unsigned .p7b): SiPolicy model <-> the bytes ConvertFrom-CIPolicy writes.

sipolicy.md section 3. Two jobs, four modules: the byte *layout* (``layout``: the section 3.1
primitives and header constants; ``encode``: model -> bytes in file order, sections 3.2-3.3;
``decode``: bytes -> model) and the *ordering* Microsoft's converter applies (``ordering``: the
section 3.4 file-rule sort with its legacy .NET quicksort ties, the sorted and synthesised secure
settings of section 3.3 item 7). Callers use the names below.
"""

from policy.binary.decode import DecompiledPolicy, decompile_policy
from policy.binary.encode import compile_policy
from policy.binary.layout import DEFAULT_FORMAT, MAX_BINARY_BYTES, SUPPORTED_FORMATS
from policy.binary.ordering import legacy_sort

__all__ = [
    "DEFAULT_FORMAT",
    "MAX_BINARY_BYTES",
    "SUPPORTED_FORMATS",
    "DecompiledPolicy",
    "compile_policy",
    "decompile_policy",
    "legacy_sort",
]
