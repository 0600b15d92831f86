"""Frozen records that leave the hasher: what a file hashes to, the Windows way.

These are the contract between the hasher (``catalog.pe.hashing``) and its consumers: the catalog
builder, the policy writer and the ``inspector`` pipeline. formats.md sections 1-3 define them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class HashAlgorithm(enum.Enum):
    """The two digest algorithms Authenticode catalogs and WDAC rules use."""

    SHA1 = "sha1"
    SHA256 = "sha256"

    @property
    def digest_size(self) -> int:
        return 20 if self is HashAlgorithm.SHA1 else 32

    @classmethod
    def parse(cls, text: str) -> HashAlgorithm:
        """Accept ``sha1``/``SHA-256``/``sha256`` spellings; raise ``ValueError`` otherwise."""
        key = text.strip().lower().replace("-", "")
        for alg in cls:
            if alg.value == key:
                return alg
        raise ValueError(f"unknown hash algorithm {text!r}; use sha1 or sha256")


ALL_ALGORITHMS: frozenset[HashAlgorithm] = frozenset(HashAlgorithm)


class FileKind(enum.Enum):
    """How Windows hashes a file (formats.md 1.4 and 3)."""

    PE = "pe"
    """A conformant PE32/PE32+: the Authenticode image hash is its catalog/WDAC digest."""
    PE_NONCONFORMANT = "pe-nonconformant"
    """A PE Windows will not image-hash: it falls back to the flat hash (``reason`` says why)."""
    FLAT = "flat"
    """Not a PE at all (scripts, MSI, text, ...): flat hash of every byte."""


@dataclass(frozen=True, slots=True)
class PageHashTable:
    """A page-hash table (formats.md 2.2): ``(file offset, digest)`` pairs, terminator included.

    The last entry is the terminator: the end offset of the last hashed section and an all-zero
    digest. Entry 0 (offset 0) is the header page, whose digest is WDAC's "Hash Page" value.

    Held compactly - the offsets, and the digests concatenated in one ``bytes`` - because a large
    PE has tens of thousands of entries: one tuple and one ``bytes`` object per entry cost more to
    build, send between processes and render than hashing the page did. ``entries`` gives the
    pairs; ``from_entries`` builds a table from them.
    """

    algorithm: HashAlgorithm
    offsets: tuple[int, ...]
    digests: bytes
    """``len(offsets) * algorithm.digest_size`` bytes: entry k's digest is the k-th slice."""

    def __post_init__(self) -> None:
        size = self.algorithm.digest_size
        if not self.offsets or len(self.digests) != len(self.offsets) * size:
            raise ValueError(
                f"{self.algorithm.value} page-hash table: {len(self.digests)} digest bytes for "
                f"{len(self.offsets)} entries of {size} bytes"
            )

    @classmethod
    def from_entries(
        cls, algorithm: HashAlgorithm, entries: Iterable[tuple[int, bytes]]
    ) -> PageHashTable:
        pairs = tuple(entries)
        return cls(algorithm, tuple(o for o, _ in pairs), b"".join(d for _, d in pairs))

    @property
    def entries(self) -> tuple[tuple[int, bytes], ...]:
        """The ``(offset, digest)`` pairs, terminator included."""
        size, digests = self.algorithm.digest_size, self.digests
        return tuple(
            (offset, digests[k : k + size])
            for offset, k in zip(self.offsets, range(0, len(digests), size), strict=True)
        )

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def first_page(self) -> bytes:
        """WDAC's "Hash Page Sha1/Sha256" value: the digest of the header page (entry 0)."""
        return self.digests[: self.algorithm.digest_size]

    def to_json(self) -> list[dict[str, Any]]:
        """The JSON form (reports, trace journals): ``[{"offset": n, "digest": "HEX"}, ...]``.

        The binary and DER forms live in ``catalog.pe.page_hashes``.
        """
        pairs = zip(self.offsets, self._hex(), strict=True)
        return [{"offset": offset, "digest": digest} for offset, digest in pairs]

    def json_text(self) -> str:
        """``json.dumps(self.to_json())`` (same text), without building a dict per entry."""
        pairs = zip(self.offsets, self._hex(), strict=True)
        return "[" + ", ".join([f'{{"offset": {o}, "digest": "{d}"}}' for o, d in pairs]) + "]"

    def _hex(self) -> list[str]:
        """Every digest in uppercase hex (one conversion for the whole table)."""
        return self.digests.hex("|", self.algorithm.digest_size).upper().split("|")

    @classmethod
    def from_json(cls, algorithm: HashAlgorithm, value: object) -> PageHashTable:
        """The inverse of ``to_json``; ``ValueError``/``KeyError`` on a malformed list."""
        if not isinstance(value, list):
            raise ValueError(f"page table must be a list, not {type(value).__name__}")
        return cls.from_entries(
            algorithm, ((int(e["offset"]), bytes.fromhex(str(e["digest"]))) for e in value)
        )


@dataclass(frozen=True, slots=True)
class EmbeddedSignature:
    """What a signed PE's own Authenticode signature claims (SpcIndirectDataContent)."""

    digest_algorithm: str
    """The digest algorithm's name as found (``sha1``, ``sha256``, or a dotted OID if unknown)."""
    digest: bytes
    page_hashes: PageHashTable | None = None


@dataclass(frozen=True, slots=True)
class PeMetadata:
    """Version-resource strings WDAC FilePublisher/FileName rules use (absent ones are None)."""

    original_filename: str | None = None
    internal_name: str | None = None
    file_description: str | None = None
    product_name: str | None = None
    company_name: str | None = None
    file_version: str | None = None
    product_version: str | None = None
    binary_file_version: str | None = None
    """VS_FIXEDFILEINFO's FileVersion as ``a.b.c.d``: the number WDAC compares with a rule's
    MinimumFileVersion / MaximumFileVersion (the string above is only text)."""

    def to_dict(self) -> dict[str, str | None]:
        return {
            "original_filename": self.original_filename,
            "internal_name": self.internal_name,
            "file_description": self.file_description,
            "product_name": self.product_name,
            "company_name": self.company_name,
            "file_version": self.file_version,
            "product_version": self.product_version,
            "binary_file_version": self.binary_file_version,
        }


@dataclass(frozen=True, slots=True)
class FileDigests:
    """Every hash of one file, computed in one read of its bytes.

    Digests for algorithms that were not requested are None. ``authenticode_*`` and page tables are
    set only for ``FileKind.PE``; ``flat_*`` always (for the requested algorithms).
    """

    path: str
    size: int
    kind: FileKind
    reason: str | None = None
    """Why the file is ``PE_NONCONFORMANT`` or ``FLAT`` (None for a conformant PE)."""
    pe_format: str | None = None
    """``PE32`` or ``PE32+`` for any file with a parseable PE header."""
    flat_sha1: bytes | None = None
    flat_sha256: bytes | None = None
    authenticode_sha1: bytes | None = None
    authenticode_sha256: bytes | None = None
    page_table_sha1: PageHashTable | None = None
    page_table_sha256: PageHashTable | None = None
    page_hash_note: str | None = None
    """Why a conformant PE has no page hashes (for example SizeOfHeaders > 4096)."""
    signed: bool = False
    """The PE carries an Authenticode signature (a certificate table)."""
    signature: EmbeddedSignature | None = None
    signature_note: str | None = None
    """Why the embedded signature could not be decoded, when ``signed`` and no ``signature``."""
    metadata: PeMetadata | None = None
    page_hash_sha1: bytes | None = None
    """WDAC's "Hash Page" (the header page's digest), also when the full table was not kept."""
    page_hash_sha256: bytes | None = None

    def flat(self, alg: HashAlgorithm) -> bytes | None:
        return self.flat_sha1 if alg is HashAlgorithm.SHA1 else self.flat_sha256

    def authenticode(self, alg: HashAlgorithm) -> bytes | None:
        return self.authenticode_sha1 if alg is HashAlgorithm.SHA1 else self.authenticode_sha256

    def page_table(self, alg: HashAlgorithm) -> PageHashTable | None:
        return self.page_table_sha1 if alg is HashAlgorithm.SHA1 else self.page_table_sha256

    def first_page_hash(self, alg: HashAlgorithm) -> bytes | None:
        value = self.page_hash_sha1 if alg is HashAlgorithm.SHA1 else self.page_hash_sha256
        if value is not None:
            return value
        table = self.page_table(alg)
        return None if table is None else table.first_page

    def sip_digest(self, alg: HashAlgorithm) -> bytes | None:
        """The digest Windows uses for catalog membership and WDAC hash rules.

        The Authenticode image hash for a conformant PE, the flat hash for everything else
        (CRYPTCATADMIN_CALCHASH_FLAG_NONCONFORMANT_FILES_FALLBACK_FLAT, formats.md 3).
        """
        return self.authenticode(alg) if self.kind is FileKind.PE else self.flat(alg)

    def signature_matches(self) -> bool | None:
        """Whether the digest inside the file's own signature equals the recomputed image hash.

        None when there is nothing to compare (unsigned, undecodable, an algorithm not computed).
        False means the file was modified after signing: Windows will not trust the signature.
        """
        if self.signature is None:
            return None
        try:
            alg = HashAlgorithm.parse(self.signature.digest_algorithm)
        except ValueError:
            return None
        computed = self.authenticode(alg)
        return None if computed is None else computed == self.signature.digest

    def to_dict(self, *, page_tables: bool = True) -> dict[str, Any]:
        """A JSON-ready view: hex digests in uppercase (as Windows prints them).

        ``page_tables=False`` leaves out the full page-hash tables (the bulk of the output); the
        first-page values (``page_hash_*``) stay.
        """

        def hx(value: bytes | None) -> str | None:
            return None if value is None else value.hex().upper()

        def table(t: PageHashTable | None) -> list[dict[str, Any]] | None:
            return None if t is None else t.to_json()

        sig: dict[str, Any] | None = None
        if self.signature is not None:
            sig = {
                "digest_algorithm": self.signature.digest_algorithm,
                "digest": hx(self.signature.digest),
                "page_hashes": table(self.signature.page_hashes),
                "matches_file": self.signature_matches(),
            }
        data: dict[str, Any] = {
            "path": self.path,
            "size": self.size,
            "kind": self.kind.value,
            "reason": self.reason,
            "pe_format": self.pe_format,
            "authenticode_sha1": hx(self.authenticode_sha1),
            "authenticode_sha256": hx(self.authenticode_sha256),
            "page_hash_sha1": hx(self.first_page_hash(HashAlgorithm.SHA1)),
            "page_hash_sha256": hx(self.first_page_hash(HashAlgorithm.SHA256)),
            "flat_sha1": hx(self.flat_sha1),
            "flat_sha256": hx(self.flat_sha256),
            "page_table_sha1": table(self.page_table_sha1) if page_tables else None,
            "page_table_sha256": table(self.page_table_sha256) if page_tables else None,
            "page_hash_note": self.page_hash_note,
            "signed": self.signed,
            "signature": sig,
            "signature_note": self.signature_note,
            "metadata": None if self.metadata is None else self.metadata.to_dict(),
        }
        if not page_tables:
            del data["page_table_sha1"], data["page_table_sha256"]
        return data


def _unhex(value: object) -> bytes | None:
    return None if value is None else bytes.fromhex(str(value))


def _table_from(alg: HashAlgorithm, value: object) -> PageHashTable | None:
    return None if not value else PageHashTable.from_json(alg, value)


def file_digests_from_dict(data: Mapping[str, Any]) -> FileDigests:
    """The inverse of ``FileDigests.to_dict`` (digests kept as JSON, e.g. in a trace journal).

    Raises ``ValueError`` or ``KeyError`` on a malformed record.
    """
    sig = data.get("signature")
    signature = None
    if sig:
        signature = EmbeddedSignature(
            str(sig["digest_algorithm"]),
            bytes.fromhex(str(sig["digest"])),
            _table_from(HashAlgorithm.parse(str(sig["digest_algorithm"])), sig.get("page_hashes"))
            if sig.get("digest_algorithm") in ("sha1", "sha256")
            else None,
        )
    meta = data.get("metadata")
    return FileDigests(
        path=str(data["path"]),
        size=int(data["size"]),
        kind=FileKind(data["kind"]),
        reason=data.get("reason"),
        pe_format=data.get("pe_format"),
        flat_sha1=_unhex(data.get("flat_sha1")),
        flat_sha256=_unhex(data.get("flat_sha256")),
        authenticode_sha1=_unhex(data.get("authenticode_sha1")),
        authenticode_sha256=_unhex(data.get("authenticode_sha256")),
        page_table_sha1=_table_from(HashAlgorithm.SHA1, data.get("page_table_sha1")),
        page_table_sha256=_table_from(HashAlgorithm.SHA256, data.get("page_table_sha256")),
        page_hash_note=data.get("page_hash_note"),
        signed=bool(data.get("signed", False)),
        signature=signature,
        signature_note=data.get("signature_note"),
        metadata=None if not meta else PeMetadata(**meta),
        page_hash_sha1=_unhex(data.get("page_hash_sha1")),
        page_hash_sha256=_unhex(data.get("page_hash_sha256")),
    )


@dataclass(frozen=True, slots=True)
class FileFailure:
    """A file that could not be hashed at all, and why; the batch goes on without it."""

    path: str
    error: str
    category: str
    """``input`` (bad or unsupported content) or ``environment`` (unreadable, vanished, I/O)."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "error": self.error, "category": self.category}


HashResult = FileDigests | FileFailure
