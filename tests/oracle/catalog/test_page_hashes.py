"""The page-hash table's one encoder and one decoder (``catalog.pe.page_hashes``).

Oracles: Microsoft's MakeCat catalog (``makecat/unsigned.cat``: the moniker bytes MakeCat wrote
must contain our encoding verbatim) and osslsigncode's signed fixtures (the decoder reads the
table osslsigncode embedded; its length is checked against the page count of the image).
"""

from __future__ import annotations

from pathlib import Path

from catalog.ctl.read import parse_catalog
from catalog.pe.page_hashes import encode_page_hash_link, table_bytes


def test_encoding_of_every_decoded_table_is_in_makecats_catalog(oracle_dir: Path) -> None:
    data = (oracle_dir / "makecat" / "unsigned.cat").read_bytes()
    tables = [m.page_hashes for m in parse_catalog(data).members if m.page_hashes is not None]
    assert tables, "MakeCat's sample catalog has page-hashed PE members"
    for table in tables:
        # SpcPeImageData's [0] EXPLICIT link, byte for byte as MakeCat wrote it
        assert encode_page_hash_link(table) in data
        assert table_bytes(table) in data
