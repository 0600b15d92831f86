"""PE files: layout, Authenticode/flat digests and page hashes, version metadata, embedded
signatures (formats.md 2-3). The one reader of files. May import ``catalog.asn1``."""

from __future__ import annotations

from catalog.pe.hashing import (
    SMALL_FILE_LIMIT,
    HashOptions,
    HashProgress,
    hash_batch,
    hash_buffer,
    hash_file,
    hash_one,
    hash_paths,
    iter_files,
)
from catalog.pe.layout import (
    IncompleteHeadersError,
    NonConformantPeError,
    NotAPeError,
    parse_pe_layout,
)
from catalog.pe.page_hashes import (
    decode_page_hash_moniker,
    encode_page_hash_link,
    table_bytes,
    table_from_bytes,
)
from catalog.pe.pool import default_workers, run_ordered, warm_up
from catalog.pe.signature import decode_signed_data

__all__ = [
    "SMALL_FILE_LIMIT",
    "HashOptions",
    "HashProgress",
    "IncompleteHeadersError",
    "NonConformantPeError",
    "NotAPeError",
    "decode_page_hash_moniker",
    "decode_signed_data",
    "default_workers",
    "encode_page_hash_link",
    "hash_batch",
    "hash_buffer",
    "hash_file",
    "hash_one",
    "hash_paths",
    "iter_files",
    "parse_pe_layout",
    "run_ordered",
    "table_bytes",
    "table_from_bytes",
    "warm_up",
]
