"""EKU values against Microsoft's templates: every ``<EKU>`` that names its OID (in FriendlyName
or an OID attribute) must equal what ``policy.eku.eku_value`` writes for that OID, and decode back.

Oracle: ../shared/policy-oracle/examples (Wizard templates, Windows examples, HotCakeX inputs),
written by Microsoft's tools and by hand by their authors - not by this project.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy.eku import eku_oid, eku_value
from policy.errors import PolicyInputError

_EKU = re.compile(rb"<EKU\s[^>]*>")
_OID = re.compile(rb"\b(1\.3\.6\.1(?:\.\d+)+)\b")
_VALUE = re.compile(rb'Value="([0-9A-Fa-f]+)"')


def test_values_in_microsoft_templates(policy_oracle_dir: Path) -> None:
    seen: dict[str, str] = {}
    for xml in sorted((policy_oracle_dir / "examples").rglob("*.xml")):
        for element in _EKU.findall(xml.read_bytes()):
            named, hexed = _OID.search(element), _VALUE.search(element)
            if named and hexed:
                seen[named.group(1).decode()] = hexed.group(1).decode().upper()
    assert len(seen) >= 8, seen  # AntiMalware, ELAM, HAL, RT, Store, Windows, Enclave, ...
    for oid, value in seen.items():
        assert eku_value(oid) == value, oid
        assert eku_oid(value) == oid


@pytest.mark.parametrize("bad", ["1", "1.3.6.x", "3.1.2", "1.40.5", ""])
def test_not_an_oid_is_refused(bad: str) -> None:
    with pytest.raises(PolicyInputError):
        eku_value(bad)


@pytest.mark.parametrize("value", ["02032B0601", "010A2B06", "01022B86", "zz"])
def test_values_not_in_the_01_length_body_form(value: str) -> None:
    assert eku_oid(value) is None
