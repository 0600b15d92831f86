"""cdf.model: attribute flags, stored values/flags (checked against MakeCat's catalog), problems."""

from __future__ import annotations

from pathlib import Path

from cdf.parser import parse


def _der(tag: int, content: bytes) -> bytes:
    assert len(content) < 0x80  # short form is all these small values need
    return bytes([tag, len(content)]) + content


def _der_int(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return _der(0x02, body)


def _name_value(name: str, flags: int, stored: bytes) -> bytes:
    """CAT_NAMEVALUE as formats.md 4.3 describes it, built by hand for the oracle search."""
    return _der(0x30, _der(0x1E, name.encode("utf-16-be")) + _der_int(flags) + _der(0x04, stored))


def test_stored_bytes_match_makecat_catalog(oracle_dir: Path) -> None:
    """Each oracle CDF attribute, encoded with our stored flags/value, is in MakeCat's .cat."""
    cat = (oracle_dir / "makecat" / "unsigned.cat").read_bytes()
    definition = parse((oracle_dir / "makecat" / "CatalogDefinitionFileName.cdf").read_bytes())
    attributes = [*definition.definition.attributes]
    for member in definition.definition.members:
        attributes.extend(member.attributes)
    assert len(attributes) == 8
    for attribute in attributes:
        encoded = _name_value(attribute.name, attribute.stored_flags, attribute.stored_value())
        assert encoded in cat, attribute
        # and the CDF flags (with 0x01000000) are never what the catalog stores
        wrong = _name_value(attribute.name, attribute.flags, attribute.stored_value())
        assert wrong not in cat
    # the one catalog attribute, bytes quoted in formats.md 4.3 from the same catalog
    assert bytes.fromhex("1e0c004f0053004100740074007202041001000104" + "0c") in cat
