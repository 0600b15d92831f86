"""The order in which Microsoft's converter emits what it sorts, and what it adds.

sipolicy.md section 3.4 (file rules: kind, then six strings compared .NET OrdinalIgnoreCase, then
the hash; ties ordered by the pre-4.5 .NET Framework quicksort, reproduced step by step), section
3.3 item 7 (secure settings sorted by Provider, Key, ValueName; settings synthesised from AppIDTags,
AppID tagging policies and the certificate-remapping option) and trap 8. Signers, EKUs and
scenarios are never sorted. ``encode`` writes what this module orders; nothing here knows bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TypeVar

from policy.binary.layout import KIND_CODE
from policy.model import (
    APPID_TAGGING_POLICY,
    FileRule,
    FileRuleKind,
    Setting,
    SettingType,
    SiPolicy,
)
from policy.options import CERT_REMAPPING_OPTION

T = TypeVar("T")

# AppID tagging policies force these options (section 3.3 item 7; HotCakeX only, unverified).
APPID_TAGGING_FORCED = (
    "Enabled:Audit Mode",
    "Enabled:UMCI",
    "Required:Enforce Store Applications",
    "Enabled:Advanced Boot Options Menu",
    "Disabled:Script Enforcement",
)


@lru_cache(maxsize=4096)
def _upper_unit(unit: int) -> int:
    # .NET OrdinalIgnoreCase: simple upper-case mapping of each UTF-16 code unit on its own.
    # str.upper() may lengthen a character ('ß' -> 'SS'); such characters keep their code unit.
    if 0xD800 <= unit <= 0xDFFF:
        return unit
    upper = chr(unit).upper()
    return ord(upper) if len(upper) == 1 and ord(upper) <= 0xFFFF else unit


def ordinal_ignore_case(text: str) -> tuple[int, ...]:
    data = text.encode("utf-16-le", "surrogatepass")
    return tuple(_upper_unit(u) for u in memoryview(data).cast("H"))


def _string_key(text: str | None) -> tuple[int, tuple[int, ...]]:
    # Absent sorts before present; present strings compare ordinally after upper-casing.
    return (0, ()) if text is None else (1, ordinal_ignore_case(text))


def rule_key(rule: FileRule) -> tuple[object, ...]:
    return (
        KIND_CODE.get(rule.effective_kind, 1)
        if rule.effective_kind is not FileRuleKind.DENY
        else -1,
        _string_key(rule.file_name),
        _string_key(rule.internal_name),
        _string_key(rule.file_description),
        _string_key(rule.product_name),
        _string_key(rule.package_family_name),
        _string_key(rule.file_path),
        rule.hash_bytes,
    )


def legacy_sort(items: Sequence[T], key: Callable[[T], object]) -> list[T]:
    """Sort like the .NET Framework's pre-4.5 depth-limited quicksort (section 3.4).

    Not stable: equal elements are swapped by the partition step, and Microsoft's converter's
    output depends on exactly which swaps happen, so the algorithm is reproduced step by step.
    """
    keys = [key(x) for x in items]
    order = list(range(len(items)))

    def lt(a: int, b: int) -> bool:
        return bool(keys[a] < keys[b])  # type: ignore[operator]

    def swap_if_greater(a: int, b: int) -> None:
        if a != b and lt(order[b], order[a]):
            order[a], order[b] = order[b], order[a]

    def down_heap(i: int, n: int, lo: int) -> None:
        held = order[lo + i - 1]
        while i <= n // 2:
            child = 2 * i
            if child < n and lt(order[lo + child - 1], order[lo + child]):
                child += 1
            if not lt(held, order[lo + child - 1]):
                break
            order[lo + i - 1] = order[lo + child - 1]
            i = child
        order[lo + i - 1] = held

    def heap_sort(lo: int, hi: int) -> None:
        n = hi - lo + 1
        for i in range(n // 2, 0, -1):
            down_heap(i, n, lo)
        for i in range(n, 1, -1):
            order[lo], order[lo + i - 1] = order[lo + i - 1], order[lo]
            down_heap(1, i - 1, lo)

    def quick_sort(left: int, right: int, depth: int) -> None:
        while left < right:
            if depth == 0:
                heap_sort(left, right)
                return
            i, j = left, right
            mid = i + ((j - i) >> 1)
            swap_if_greater(i, mid)
            swap_if_greater(i, j)
            swap_if_greater(mid, j)
            pivot = order[mid]
            while True:
                while lt(order[i], pivot):
                    i += 1
                while lt(pivot, order[j]):
                    j -= 1
                if i > j:
                    break
                if i < j:
                    order[i], order[j] = order[j], order[i]
                i += 1
                j -= 1
                if i > j:
                    break
            depth -= 1
            if j - left <= right - i:
                if left < j:
                    quick_sort(left, j, depth)
                left = i
            else:
                if i < right:
                    quick_sort(i, right, depth)
                right = j

    if len(order) > 1:
        quick_sort(0, len(order) - 1, 32)
    return [items[k] for k in order]


def emitted_options(policy: SiPolicy) -> list[str]:
    """The option names whose bits the header carries (AppID tagging forces five more)."""
    options = list(policy.options)
    if policy.policy_type == APPID_TAGGING_POLICY:
        options += APPID_TAGGING_FORCED
    return options


def emitted_settings(policy: SiPolicy) -> list[Setting]:
    """The secure settings in binary order: the XML's plus the synthesised ones, sorted."""
    settings = list(policy.settings or ())
    # Synthesised settings (section 3.3 item 7): layout from HotCakeX, no Microsoft pair.
    for sc in policy.signing_scenarios or ():
        tags = sc.app_id_tags
        if tags is None:
            continue
        for k, v in tags.tags:
            settings.append(Setting("WDACAppId", "Tagging", k, SettingType.STRING, v))
        if (tags.enforce_dll or "").lower() in ("true", "1"):
            settings.append(
                Setting("WDACAppId", "TaggingSettings", "EnforceDLL", SettingType.BOOLEAN, "true")
            )
    if policy.policy_type == APPID_TAGGING_POLICY:
        settings.append(
            Setting("WDACAppId", "TaggingSettings", "DefaultPolicy", SettingType.BOOLEAN, "true")
        )
    if CERT_REMAPPING_OPTION in policy.options:
        settings.append(
            Setting(
                "Microsoft",
                "PolicySettings",
                "DisabledDefaultWindowsCertificateRemappingValueName",
                SettingType.BOOLEAN,
                "true",
            )
        )
    return legacy_sort(
        settings,
        lambda s: (
            ordinal_ignore_case(s.provider),
            ordinal_ignore_case(s.key),
            ordinal_ignore_case(s.value_name),
        ),
    )
