"""From raw log records to de-duplicated ``CiEvent``s: the one place that knows what fields mean.

Pure: readers hand in ``RawEvent``s in log order, ``Collector.finish`` returns an ``EventSet``.

Rules (Microsoft's "Understanding App Control event IDs" and "event tags" pages, and the event
templates of Microsoft-Windows-CodeIntegrity and Microsoft-Windows-AppLocker):
* 3076 / 8028 are audit events (the file would have been blocked), 3077 / 8029 block events;
  3034 / 3033 are their signing-level twins and carry no hashes.
* 3089 / 8038 carry one signature each (``Signature`` is its index, ``TotalSignatureCount`` the
  total; a count of 0 means the file is unsigned). They belong to the audit/block event with the
  same ``Correlation ActivityID``; Windows logs them next to it, so correlation keeps a bounded
  window of recent activities (memory does not grow with the log).
* ``SI Signing Scenario`` 0 is kernel mode (policy scenario 131), 1 user mode (12); AppLocker's
  MSI and Script events are user mode.
* Kernel device paths become the forms Windows' tools write: ``\\Device\\HarddiskVolumeN\\Windows\\
  System32\\x`` -> ``%SYSTEM32%\\x``, ``...\\Windows\\x`` -> ``%WINDIR%\\x``, anything else on the
  volume -> ``%OSDRIVE%\\...`` (drive-letter paths likewise); the logged form stays in ``raw_path``.
* The same file with the same hashes is one event (``occurrences`` counts them); signatures seen
  for it are united, and differing signature sets for one file are noted, never dropped.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from policy.events.records import (
    CiEvent,
    EventKind,
    EventProblem,
    EventSet,
    EventSigner,
    RawEvent,
)

AUDIT_IDS = frozenset({3076, 8028, 3034})
BLOCK_IDS = frozenset({3077, 8029, 3033})
FILE_EVENT_IDS = AUDIT_IDS | BLOCK_IDS
SIGNATURE_IDS = frozenset({3089, 8038})
SIGNING_LEVEL_IDS = frozenset({3033, 3034})
APPLOCKER_IDS = frozenset({8028, 8029, 8038})
KNOWN_IDS = FILE_EVENT_IDS | SIGNATURE_IDS

CORRELATION_WINDOW = 4096
"""Activities kept open for late signature events; Windows logs them adjacently."""

SCENARIO_USER = 12
SCENARIO_KERNEL = 131

_DEVICE_VOLUME = re.compile(r"^\\Device\\HarddiskVolume\d+\\", re.IGNORECASE)
_DOS_PREFIX = re.compile(r"^(?:\\\\\?\\|\\\?\?\\)?[A-Za-z]:\\")


def windows_path(raw: str) -> str:
    """The path as ConfigCI and the Wizard write it (macros for the OS volume)."""
    path = raw.strip().replace("/", "\\")
    m = _DEVICE_VOLUME.match(path) or _DOS_PREFIX.match(path)
    if m is None:
        return path
    rest = path[m.end() :]
    folded = rest.casefold()
    if folded.startswith("windows\\system32\\"):
        return "%SYSTEM32%\\" + rest[len("windows\\system32\\") :]
    if folded.startswith("windows\\"):
        return "%WINDIR%\\" + rest[len("windows\\") :]
    return "%OSDRIVE%\\" + rest


def parse_hex(text: str | None, size: int) -> tuple[bytes | None, str | None]:
    """A hash value of ``size`` bytes, or None and the reason it was refused."""
    if text is None:
        return None, None
    value = text.strip()
    if value.lower().startswith("0x"):
        value = value[2:]
    value = value.replace(" ", "").replace("-", "")
    if not value:
        return None, None
    try:
        digest = bytes.fromhex(value)
    except ValueError:
        return None, f"{text!r} is not hexadecimal"
    if len(digest) != size:
        return None, f"{text!r} has {len(digest)} bytes, not {size}"
    if digest == bytes(size):
        return None, None  # all zero: the log's way of saying "none"
    return digest, None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip()
    try:
        return int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None


def _scenario(raw: RawEvent, f: Fields) -> int | None:
    if raw.event_id in APPLOCKER_IDS:
        return SCENARIO_USER
    value = _int(f.get("SI Signing Scenario", "SiSigningScenario", "SigningScenario"))
    if value is None:
        return None
    return {0: SCENARIO_KERNEL, 1: SCENARIO_USER, 12: SCENARIO_USER, 131: SCENARIO_KERNEL}.get(
        value
    )


def _signer(raw: Fields, notes: list[str]) -> EventSigner | None:
    name = raw.get("PublisherName")
    issuer = raw.get("IssuerName")
    pub_tbs, why_pub = _tbs(raw.get("PublisherTBSHash"))
    iss_tbs, why_iss = _tbs(raw.get("IssuerTBSHash"))
    for why in (why_pub, why_iss):
        if why:
            notes.append(f"TBS hash {why}")
    if name is None and issuer is None and pub_tbs is None and iss_tbs is None:
        return None
    if (name or "").casefold() == "unknown" and pub_tbs is None and iss_tbs is None:
        return None  # advanced hunting's placeholder for "no signature"
    return EventSigner(
        publisher_name=name,
        issuer_name=issuer,
        publisher_tbs=pub_tbs,
        issuer_tbs=iss_tbs,
        index=_int(raw.get("Signature", "SignatureIndex")) or 0,
        signature_type=_int(raw.get("SignatureType")),
        validated_signing_level=_int(raw.get("ValidatedSigningLevel")),
        verification_error=_int(raw.get("VerificationError")),
        not_valid_before=raw.get("NotValidBefore"),
        not_valid_after=raw.get("NotValidAfter"),
    )


def _tbs(text: str | None) -> tuple[bytes | None, str | None]:
    """TBS hashes are SHA1/256/384/512-sized, by the certificate's signature algorithm."""
    if text is None or not text.strip():
        return None, None
    for size in (32, 20, 48, 64):
        digest, why = parse_hex(text, size)
        if digest is not None:
            return digest, None
    return None, why


class Fields:
    """A record's named values, folded once (case, spaces and underscores ignored)."""

    __slots__ = ("_values",)

    def __init__(self, raw: RawEvent) -> None:
        self._values = {_fold(k): v for k, v in raw.data}

    def get(self, *names: str) -> str | None:
        for name in names:
            value = self._values.get(_fold(name))
            if value is not None and value.strip() != "":
                return value.strip()
        return None


@functools.lru_cache(maxsize=4096)
def _fold(name: str) -> str:
    return name.replace(" ", "").replace("_", "").casefold()


@dataclass(slots=True)
class _Activity:
    mains: list[CiEvent] = field(default_factory=list)
    signers: dict[int, EventSigner] = field(default_factory=dict)
    signature_count: int | None = None


class Collector:
    """Feed ``RawEvent``s in log order with ``add``; ``finish`` gives the ``EventSet``."""

    def __init__(self, window: int = CORRELATION_WINDOW) -> None:
        self._window = window
        self._open: OrderedDict[str, _Activity] = OrderedDict()
        self._files: dict[tuple[str, bytes, bytes], CiEvent] = {}
        self._problems: dict[str, tuple[str, int]] = {}
        self._by_id: dict[int, int] = {}
        self._read = 0
        self._duplicates = 0
        self._sources: dict[str, str] = {}
        self._failed: dict[str, str] = {}

    def source(self, path: str, fmt: str) -> None:
        """Record an input and its detected format."""
        self._sources.setdefault(path, fmt)

    def failed(self, path: str, reason: str) -> None:
        """An input that could not be read at all."""
        self._failed.setdefault(path, reason)

    def problem(self, source: str, reason: str) -> None:
        """Count a problem; alike problems share one line with the first place they occurred."""
        first, count = self._problems.get(reason, (source, 0))
        self._problems[reason] = (first, count + 1)

    def add_all(self, raws: Iterable[RawEvent]) -> None:
        for raw in raws:
            self.add(raw)

    def add(self, raw: RawEvent) -> None:
        self._read += 1
        self._by_id[raw.event_id] = self._by_id.get(raw.event_id, 0) + 1
        if raw.event_id not in KNOWN_IDS:
            self.problem(raw.source, f"event id {raw.event_id} is not an App Control file event")
            return
        activity = self._activity(raw.activity_id)
        if raw.event_id in SIGNATURE_IDS:
            notes: list[str] = []
            fields = Fields(raw)
            signer = _signer(fields, notes)
            for n in notes:
                self.problem(raw.source, n)
            count = _int(fields.get("TotalSignatureCount"))
            if activity is None:
                self.problem(
                    raw.source, "signature information without a correlation ActivityID: ignored"
                )
                return
            if count is not None:
                activity.signature_count = count
            if signer is not None and count != 0:
                activity.signers.setdefault(signer.index, signer)
            self._evict()
            return
        event = self._file_event(raw)
        if event is None:
            return
        if activity is None:
            self._store(event)
        else:
            activity.mains.append(event)
        self._evict()

    def _activity(self, activity_id: str | None) -> _Activity | None:
        if not activity_id:
            return None
        key = activity_id.strip("{}").casefold()
        found = self._open.get(key)
        if found is None:
            found = self._open[key] = _Activity()
        else:
            self._open.move_to_end(key)
        return found

    def _evict(self) -> None:
        while len(self._open) > self._window:
            _, activity = self._open.popitem(last=False)
            self._close(activity)

    def _close(self, activity: _Activity) -> None:
        if not activity.mains:
            if activity.signers or activity.signature_count is not None:
                self.problem("correlation", "signature information with no audit/block event")
            return
        # A 3033/3034 next to a 3076/3077 only says why: fold it into the event with hashes.
        with_hashes = [e for e in activity.mains if e.event_id not in SIGNING_LEVEL_IDS]
        level_only = [e for e in activity.mains if e.event_id in SIGNING_LEVEL_IDS]
        mains = with_hashes or level_only
        extra = tuple(
            f"event {e.event_id}: the file did not meet the signing level required"
            for e in level_only
            if with_hashes
        )
        signers = tuple(activity.signers[i] for i in sorted(activity.signers))
        for event in mains:
            self._store(
                replace(
                    event,
                    signers=signers,
                    signature_count=activity.signature_count,
                    notes=event.notes + extra,
                )
            )

    def _store(self, event: CiEvent) -> None:
        key = event.identity()
        old = self._files.get(key)
        if old is None:
            self._files[key] = event
            return
        self._duplicates += 1
        notes = old.notes
        signers = old.signers
        if event.signers and old.signers and _signer_keys(event) != _signer_keys(old):
            notes += ("events disagree on this file's signatures; all are kept",)
            merged = {s.key(): s for s in (*old.signers, *event.signers)}
            signers = tuple(merged[k] for k in sorted(merged))
        elif event.signers and not old.signers:
            signers = event.signers
        kind = EventKind.BLOCK if EventKind.BLOCK in (old.kind, event.kind) else EventKind.AUDIT
        count = old.signature_count if old.signature_count is not None else event.signature_count
        self._files[key] = replace(
            old,
            kind=kind,
            signers=signers,
            signature_count=count,
            occurrences=old.occurrences + event.occurrences,
            notes=tuple(dict.fromkeys(notes)),
        )

    def _file_event(self, raw: RawEvent) -> CiEvent | None:
        f = Fields(raw)
        path = f.get("File Name", "FileNameBuffer", "FilePath", "FullFilePath", "AffectedFile")
        if path is None:
            self.problem(raw.source, f"event {raw.event_id} names no file: ignored")
            return None
        notes: list[str] = []
        hashes: dict[str, bytes | None] = {}
        for key, names, size in (
            ("sha1", ("SHA1 Hash", "Sha1Hash", "SHA1_Hash", "SHA1"), 20),
            ("sha256", ("SHA256 Hash", "Sha256Hash", "SHA256_Hash", "AuthenticodeHash"), 32),
            ("flat_sha1", ("SHA1 Flat Hash", "Sha1FlatHash"), 20),
            ("flat_sha256", ("SHA256 Flat Hash", "Sha256FlatHash"), 32),
        ):
            value = f.get(*names)
            if key == "sha256" and value is None:
                value = f.get("SHA256")
            digest, why = parse_hex(value, size)
            if why is not None:
                self.problem(raw.source, f"{names[0]} {why}: left out")
                notes.append(f"{names[0]} unreadable")
            hashes[key] = digest
        if hashes["sha1"] is None and hashes["sha256"] is None:
            self.problem(raw.source, "event without Authenticode hashes (only name rules apply)")
        kind = EventKind.AUDIT if raw.event_id in AUDIT_IDS else EventKind.BLOCK
        action = f.get("Action", "ActionType")
        if action is not None and raw.event_id not in AUDIT_IDS | BLOCK_IDS:
            kind = EventKind.BLOCK if "block" in action.casefold() else EventKind.AUDIT
        return CiEvent(
            event_id=raw.event_id,
            kind=kind,
            source=raw.source,
            time=raw.time,
            device=raw.device,
            path=windows_path(path),
            raw_path=path,
            process=f.get("Process Name", "ProcessNameBuffer", "InitiatingProcessFileName"),
            sha1=hashes["sha1"],
            sha256=hashes["sha256"],
            flat_sha1=hashes["flat_sha1"],
            flat_sha256=hashes["flat_sha256"],
            original_file_name=f.get("OriginalFileName"),
            internal_name=f.get("InternalName"),
            file_description=f.get("FileDescription"),
            product_name=f.get("ProductName"),
            file_version=f.get("FileVersion"),
            policy_id=f.get("PolicyID", "PolicyId"),
            policy_name=f.get("PolicyName"),
            policy_guid=f.get("PolicyGUID", "PolicyGuid"),
            scenario=_scenario(raw, f),
            activity_id=raw.activity_id,
            notes=tuple(notes),
        )

    def finish(self) -> EventSet:
        while self._open:
            _, activity = self._open.popitem(last=False)
            self._close(activity)
        events = sorted(
            self._files.values(), key=lambda e: (e.path.casefold(), e.sha256 or b"", e.sha1 or b"")
        )
        problems = tuple(
            EventProblem(first, reason, count)
            for reason, (first, count) in sorted(self._problems.items())
        )
        return EventSet(
            events=tuple(events),
            problems=problems,
            records_read=self._read,
            duplicates=self._duplicates,
            by_event_id=tuple(sorted(self._by_id.items())),
            sources=tuple(sorted(self._sources.items())),
            missing=_missing(events, self._sources),
            failed_inputs=tuple(sorted(self._failed.items())),
        )


def _signer_keys(event: CiEvent) -> set[tuple[bytes, bytes, str]]:
    return {s.key() for s in event.signers}


_OPTIONAL_FIELDS = (
    ("sha1", "Authenticode SHA1"),
    ("sha256", "Authenticode SHA256"),
    ("flat_sha256", "flat SHA256"),
    ("original_file_name", "OriginalFileName"),
    ("file_version", "FileVersion"),
    ("policy_guid", "PolicyGUID"),
)


def _missing(
    events: list[CiEvent], sources: dict[str, str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per input, what none of its events carried (page hashes are never in events)."""
    result = []
    for path in sorted(sources):
        mine = [e for e in events if e.source.startswith(path)]
        lacking = [
            label for attr, label in _OPTIONAL_FIELDS if not any(getattr(e, attr) for e in mine)
        ]
        if not any(e.signature_count is not None or e.signers for e in mine):
            lacking.append("signature information")
        lacking.append("page hashes")
        result.append((path, tuple(lacking)))
    return tuple(result)
