"""The page-hash table's one encoder and one decoder (``catalog.pe.page_hashes``).

Oracles: Microsoft's MakeCat catalog (``makecat/unsigned.cat``: the moniker bytes MakeCat wrote
must contain our encoding verbatim) and osslsigncode's signed fixtures (the decoder reads the
table osslsigncode embedded; its length is checked against the page count of the image).
"""

from __future__ import annotations

import json
import pickle

import pytest

from catalog.asn1 import der
from catalog.asn1.der import DerError
from catalog.pe.page_hashes import (
    decode_page_hash_moniker,
    encode_page_hash_link,
    table_bytes,
    table_from_bytes,
)
from catalog.records import HashAlgorithm, PageHashTable


def _serialized(table: PageHashTable) -> tuple[bytes, bytes]:
    """(class id, serialized data) of our own moniker: [0] { [1] { OCTET id, OCTET data } }."""
    link = encode_page_hash_link(table)
    moniker = link[2:] if link[1] < 0x80 else link[2 + (link[1] & 0x7F) :]
    body = moniker[2:] if moniker[1] < 0x80 else moniker[2 + (moniker[1] & 0x7F) :]
    class_id = body[2 : 2 + body[1]]
    rest = body[2 + body[1] :]
    head = 2 if rest[1] < 0x80 else 2 + (rest[1] & 0x7F)
    return class_id, rest[head:]


@pytest.mark.parametrize("alg", [HashAlgorithm.SHA1, HashAlgorithm.SHA256])
def test_decoder_inverts_the_encoder(alg: HashAlgorithm) -> None:
    size = alg.digest_size
    table = PageHashTable.from_entries(
        alg, ((0, b"\x11" * size), (0x400, b"\x22" * size), (0x800, bytes(size)))
    )
    class_id, serialized = _serialized(table)
    oid, decoded = decode_page_hash_moniker(class_id, serialized, 0, len(serialized))
    assert decoded == table
    assert oid == (
        "1.3.6.1.4.1.311.2.3.1" if alg is HashAlgorithm.SHA1 else "1.3.6.1.4.1.311.2.3.2"
    )
    assert table_from_bytes(alg, table_bytes(table)) == table


def test_other_monikers_and_broken_tables() -> None:
    table = PageHashTable.from_entries(
        HashAlgorithm.SHA256, ((0, b"\x01" * 32), (0x200, bytes(32)))
    )
    class_id, serialized = _serialized(table)
    assert decode_page_hash_moniker(b"\0" * 16, serialized, 0, len(serialized)) == (None, None)
    with pytest.raises(ValueError, match="not a whole number"):
        table_from_bytes(HashAlgorithm.SHA256, table_bytes(table)[:-1])
    with pytest.raises(DerError, match="at byte offset"):  # truncated: the offset is named
        decode_page_hash_moniker(class_id, serialized[:-1], 0, len(serialized) - 1)
    # a table one byte short inside well-formed DER: refused where the table starts
    short = der.der_tlv(
        der.TAG_SET,
        der.der_sequence(
            der.der_oid("1.3.6.1.4.1.311.2.3.2"),
            der.der_tlv(der.TAG_SET, der.der_octet_string(b"\x01" * 71)),
        ),
    )
    with pytest.raises(DerError, match="not a whole number"):
        decode_page_hash_moniker(class_id, short, 0, len(short))


@pytest.mark.parametrize("alg", [HashAlgorithm.SHA1, HashAlgorithm.SHA256])
def test_compact_table_keeps_entries_json_and_equality(alg: HashAlgorithm) -> None:
    size = alg.digest_size
    pairs = (*((0x400 * k, bytes([k]) * size) for k in range(1, 40)), (0x10000, bytes(size)))
    table = PageHashTable.from_entries(alg, pairs)
    assert table.entries == pairs
    assert len(table) == len(pairs)
    assert table.first_page == pairs[0][1]
    expected = [{"offset": o, "digest": d.hex().upper()} for o, d in pairs]
    assert table.to_json() == expected
    assert table.json_text() == json.dumps(expected)  # the stdlib encoder is the reference
    assert PageHashTable.from_json(alg, json.loads(table.json_text())) == table
    assert pickle.loads(pickle.dumps(table)) == table
    assert table_from_bytes(alg, table_bytes(table)) == table


def test_compact_table_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="33 digest bytes for 1 entries of 32 bytes"):
        PageHashTable(HashAlgorithm.SHA256, (0,), bytes(33))
    with pytest.raises(ValueError, match="0 entries"):
        PageHashTable(HashAlgorithm.SHA1, (), b"")
