"""The normalised Code Integrity event: one frozen record, whatever log or export it came from.

Fields follow Microsoft's event templates for Microsoft-Windows-CodeIntegrity/Operational (3076
audit, 3077 block, 3033/3034 signing level, 3089 signature information) and
Microsoft-Windows-AppLocker/MSI and Script (8028 audit, 8029 block, 8038 signature information),
and the Defender for Endpoint advanced-hunting columns that carry the same values. Hashes are the
Authenticode (image) digests Windows computed; ``flat_*`` are whole-file digests where the log
gives them. Records that leave this package carry ``schema_version`` in their dict form.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


class EventKind(enum.Enum):
    """What the device did: ``audit`` (would have blocked) or ``block``."""

    AUDIT = "audit"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class EventSigner:
    """One signature of a file, from a 3089/8038 event or an advanced-hunting row."""

    publisher_name: str | None
    issuer_name: str | None
    publisher_tbs: bytes | None
    issuer_tbs: bytes | None
    index: int = 0
    signature_type: int | None = None
    validated_signing_level: int | None = None
    verification_error: int | None = None
    not_valid_before: str | None = None
    not_valid_after: str | None = None

    @property
    def usable(self) -> bool:
        """A signer rule needs the issuer's TBS hash (and a publisher name for Publisher level)."""
        return self.issuer_tbs is not None and bool(self.issuer_tbs)

    def key(self) -> tuple[bytes, bytes, str]:
        return (self.issuer_tbs or b"", self.publisher_tbs or b"", self.publisher_name or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "publisher_name": self.publisher_name,
            "issuer_name": self.issuer_name,
            "publisher_tbs": self.publisher_tbs.hex().upper() if self.publisher_tbs else None,
            "issuer_tbs": self.issuer_tbs.hex().upper() if self.issuer_tbs else None,
            "index": self.index,
            "signature_type": self.signature_type,
            "validated_signing_level": self.validated_signing_level,
            "verification_error": self.verification_error,
            "not_valid_before": self.not_valid_before,
            "not_valid_after": self.not_valid_after,
        }


@dataclass(frozen=True, slots=True)
class CiEvent:
    """One audited or blocked file, its signature information attached."""

    event_id: int
    kind: EventKind
    source: str
    """The input file and position (``log.evtx#record 193``, ``hunt.csv:12``)."""
    time: str | None
    device: str | None
    path: str
    """The file's path as Windows' tools write it (``%SYSTEM32%\\x.dll``, ``%OSDRIVE%\\...``)."""
    raw_path: str
    """The path exactly as logged (``\\Device\\HarddiskVolume3\\...``)."""
    process: str | None = None
    sha1: bytes | None = None
    sha256: bytes | None = None
    flat_sha1: bytes | None = None
    flat_sha256: bytes | None = None
    original_file_name: str | None = None
    internal_name: str | None = None
    file_description: str | None = None
    product_name: str | None = None
    file_version: str | None = None
    policy_id: str | None = None
    policy_name: str | None = None
    policy_guid: str | None = None
    scenario: int | None = None
    """12 (user mode) or 131 (kernel mode), from ``SI Signing Scenario`` (1 user, 0 kernel)."""
    activity_id: str | None = None
    signature_count: int | None = None
    """``TotalSignatureCount`` from the correlated signature events; 0 means unsigned, None
    means the log said nothing about signatures."""
    signers: tuple[EventSigner, ...] = ()
    occurrences: int = 1
    notes: tuple[str, ...] = field(default=())

    @property
    def file_name(self) -> str:
        return self.path.replace("/", "\\").rsplit("\\", 1)[-1]

    def identity(self) -> tuple[str, bytes, bytes]:
        """Events with the same file and hashes are one file (de-duplication key)."""
        return (self.path.casefold(), self.sha256 or b"", self.sha1 or b"")

    def to_dict(self) -> dict[str, Any]:
        def hx(b: bytes | None) -> str | None:
            return b.hex().upper() if b is not None else None

        return {
            "schema_version": SCHEMA_VERSION,
            "event_id": self.event_id,
            "kind": self.kind.value,
            "source": self.source,
            "time": self.time,
            "device": self.device,
            "path": self.path,
            "raw_path": self.raw_path,
            "file_name": self.file_name,
            "process": self.process,
            "sha1": hx(self.sha1),
            "sha256": hx(self.sha256),
            "flat_sha1": hx(self.flat_sha1),
            "flat_sha256": hx(self.flat_sha256),
            "original_file_name": self.original_file_name,
            "internal_name": self.internal_name,
            "file_description": self.file_description,
            "product_name": self.product_name,
            "file_version": self.file_version,
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "policy_guid": self.policy_guid,
            "scenario": self.scenario,
            "activity_id": self.activity_id,
            "signature_count": self.signature_count,
            "signers": [s.to_dict() for s in self.signers],
            "occurrences": self.occurrences,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class EventProblem:
    """Something in an input that did not become an event, and why (never dropped silently)."""

    source: str
    """The first input position where it happened."""
    reason: str
    count: int = 1
    """How many records had this problem (one line for many alike)."""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason, "count": self.count}


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A log record before normalisation: its System fields and its named data values.

    Every reader (EVTX, XML export, advanced-hunting CSV/JSON) produces these; the normaliser
    is the one place that knows what the names mean.
    """

    source: str
    event_id: int
    provider: str | None
    time: str | None
    device: str | None
    activity_id: str | None
    data: tuple[tuple[str, str], ...]

    def get(self, *names: str) -> str | None:
        """The first non-empty value among ``names`` (case-insensitive, spaces ignored)."""
        wanted = [_fold(n) for n in names]
        found = {_fold(k): v for k, v in self.data}
        for w in wanted:
            value = found.get(w)
            if value is not None and value.strip() != "":
                return value.strip()
        return None


def _fold(name: str) -> str:
    return name.replace(" ", "").replace("_", "").casefold()


@dataclass(frozen=True, slots=True)
class EventSet:
    """What one or more inputs held: de-duplicated events, problems, and counts per source."""

    events: tuple[CiEvent, ...]
    problems: tuple[EventProblem, ...]
    records_read: int
    duplicates: int
    by_event_id: tuple[tuple[int, int], ...]
    sources: tuple[tuple[str, str], ...]
    """(input file, detected format)."""
    missing: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Per input: the fields that input could not provide for any event (e.g. page hashes)."""
    failed_inputs: tuple[tuple[str, str], ...] = ()
    """Inputs that could not be read at all, and why."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "records_read": self.records_read,
            "events": [e.to_dict() for e in self.events],
            "duplicates_merged": self.duplicates,
            "by_event_id": {str(k): v for k, v in self.by_event_id},
            "sources": [{"path": p, "format": f} for p, f in self.sources],
            "missing_fields": {p: list(m) for p, m in self.missing},
            "problems": [p.to_dict() for p in self.problems],
            "failed_inputs": [{"path": p, "reason": r} for p, r in self.failed_inputs],
        }
