"""Events -> policy rules at a level, with ConfigCI's fallback chain (pure).

Levels, and what each needs from an event (Microsoft's "Understand App Control policy rules and
file rules" and ConfigCI's New-CIPolicyRule):
* ``Hash``: the Authenticode SHA1 and SHA256 of the file; two ``Allow`` rules, as ConfigCI writes
  them (events carry no page hashes, so no ``Hash Page`` rules).
* ``FileName``: the version resource's OriginalFileName; an ``Allow FileName=…``, with the file's
  version as ``MinimumFileVersion`` when the event gives it.
* ``FilePublisher``: a signature (issuer TBS, publisher name) plus OriginalFileName and version;
  a ``Signer`` (CertRoot = issuer TBS, CertPublisher = publisher CN) whose ``FileAttribRef``s
  name ``FileAttrib`` rules.
* ``Publisher``: CertRoot TBS = the issuer's TBS hash, CertPublisher = the publisher's CN.
* ``PcaCertificate``: CertRoot TBS = the issuer's TBS hash only. Events name the *issuing* CA,
  which is what the Wizard and AppControl Manager use; ConfigCI, reading the chain, would pick the
  CA below the root (the same certificate for the usual two-level code-signing chains).
* ``LeafCertificate``: CertRoot TBS = the publisher certificate's TBS hash.
A level that the event cannot satisfy falls to the next in ``fallbacks``, and finally to
``Hash``; an event without Authenticode hashes that no level fits is reported, not guessed.
Rules go to the event's signing scenario (131 kernel, 12 user). IDs derive from content, rules
are ordered by file, so the same events give the same policy.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from policy import generate
from policy.errors import PolicyInputError
from policy.events.records import CiEvent, EventSigner
from policy.model import (
    SCENARIO_USER,
    CertRoot,
    FileRule,
    FileRuleKind,
    Ref,
    Signer,
    SiPolicy,
)


class RuleLevel(enum.Enum):
    HASH = "Hash"
    FILE_NAME = "FileName"
    FILE_PUBLISHER = "FilePublisher"
    PUBLISHER = "Publisher"
    PCA_CERTIFICATE = "PcaCertificate"
    LEAF_CERTIFICATE = "LeafCertificate"

    @classmethod
    def parse(cls, text: str) -> RuleLevel:
        for level in cls:
            if level.value.casefold() == text.strip().casefold():
                return level
        raise PolicyInputError(
            f"unknown rule level {text!r}; use one of {', '.join(lv.value for lv in cls)}"
        )


@dataclass(frozen=True, slots=True)
class EventRule:
    """What one event became: the level used, and why higher levels did not fit."""

    event: CiEvent
    level: RuleLevel | None
    rule_ids: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    """Per level tried and not used: ``"Publisher: the event has no signature"``."""
    already_allowed_by: str | None = None


@dataclass(frozen=True, slots=True)
class EventRules:
    policy: SiPolicy
    results: tuple[EventRule, ...]
    counts: tuple[tuple[str, int], ...] = field(default=())
    """Events per level used (``Hash``, ``Publisher``, …, ``none``, ``already allowed``)."""


def _id(prefix: str, *parts: object) -> str:
    material = "|".join("" if p is None else str(p) for p in parts).encode("utf-8")
    return prefix + hashlib.sha256(material).hexdigest()[:16].upper()


def _signer(event: CiEvent) -> EventSigner | None:
    for s in sorted(event.signers, key=lambda s: s.index):
        if s.usable:
            return s
    return None


def _why_not(level: RuleLevel, event: CiEvent) -> str | None:
    """None when ``event`` has what ``level`` needs, else the reason it does not."""
    signer = _signer(event)
    if level is RuleLevel.HASH:
        if event.sha1 is None or event.sha256 is None:
            return "the event lacks an Authenticode SHA1 or SHA256 hash"
        return None
    if level is RuleLevel.FILE_NAME:
        return None if event.original_file_name else "the event has no OriginalFileName"
    if signer is None:
        if event.signature_count == 0:
            return "the file is unsigned"
        if event.signers:
            return "its signatures lack the issuer's TBS hash"
        return "the log has no signature information for it"
    if level is RuleLevel.PCA_CERTIFICATE:
        return None
    if level is RuleLevel.LEAF_CERTIFICATE:
        return None if signer.publisher_tbs else "the signature lacks the publisher's TBS hash"
    if not signer.publisher_name:
        return "the signature names no publisher"
    if level is RuleLevel.PUBLISHER:
        return None
    if not event.original_file_name:
        return "the event has no OriginalFileName"
    if not event.file_version:
        return "the event has no FileVersion"
    return None


class _Builder:
    def __init__(self, policy: SiPolicy) -> None:
        self.policy = policy
        self.file_attribs: dict[str, list[str]] = {}
        self.fp_signers: dict[str, tuple[Signer, int]] = {}

    def add(self, level: RuleLevel, event: CiEvent) -> tuple[str, ...]:
        scenario = event.scenario or SCENARIO_USER
        signer = _signer(event)
        label = event.path
        if level is RuleLevel.HASH:
            assert event.sha1 is not None
            assert event.sha256 is not None
            rules = generate.hash_rules(
                [generate.FileHashes(label, False, event.sha1, event.sha256)]
            )
            self.policy = generate.add_file_rules(self.policy, rules, (scenario,))
            return tuple(r.id for r in rules)
        if level is RuleLevel.FILE_NAME:
            rule = FileRule(
                FileRuleKind.ALLOW,
                _id("ID_ALLOW_FN_", event.original_file_name, event.file_version),
                friendly_name=f"{event.original_file_name} FileName",
                file_name=event.original_file_name,
                minimum_file_version=event.file_version,
            )
            self.policy = generate.add_file_rules(self.policy, [rule], (scenario,))
            return (rule.id,)
        assert signer is not None
        assert signer.issuer_tbs is not None
        issuer_tbs = signer.issuer_tbs.hex().upper()
        if level is RuleLevel.LEAF_CERTIFICATE:
            assert signer.publisher_tbs is not None
            s = Signer(
                id=_id("ID_SIGNER_L_", signer.publisher_tbs.hex()),
                name=signer.publisher_name or "leaf certificate",
                cert_root=CertRoot("TBS", signer.publisher_tbs.hex().upper()),
            )
        elif level is RuleLevel.PCA_CERTIFICATE:
            s = Signer(
                id=_id("ID_SIGNER_P_", issuer_tbs),
                name=signer.issuer_name or "issuing CA",
                cert_root=CertRoot("TBS", issuer_tbs),
            )
        elif level is RuleLevel.PUBLISHER:
            s = Signer(
                id=_id("ID_SIGNER_S_", issuer_tbs, signer.publisher_name),
                name=signer.issuer_name or "issuing CA",
                cert_root=CertRoot("TBS", issuer_tbs),
                cert_publisher=signer.publisher_name,
            )
        else:
            return self._file_publisher(event, signer, issuer_tbs, scenario)
        self.policy = generate.add_signer(self.policy, s, (scenario,))
        return (s.id,)

    def _file_publisher(
        self, event: CiEvent, signer: EventSigner, issuer_tbs: str, scenario: int
    ) -> tuple[str, ...]:
        attrib = FileRule(
            FileRuleKind.FILE_ATTRIB,
            _id("ID_FILEATTRIB_F_", event.original_file_name, event.file_version),
            friendly_name=f"{event.original_file_name} FileAttribute",
            file_name=event.original_file_name,
            minimum_file_version=event.file_version,
        )
        if not any(r.id == attrib.id for r in self.policy.file_rules or ()):
            self.policy = self.policy.with_changes(
                file_rules=(*(self.policy.file_rules or ()), attrib)
            )
        key = _id("ID_SIGNER_F_", issuer_tbs, signer.publisher_name, scenario)
        refs = self.file_attribs.setdefault(key, [])
        if attrib.id not in refs:
            refs.append(attrib.id)
        self.fp_signers[key] = (
            Signer(
                id=key,
                name=signer.issuer_name or "issuing CA",
                cert_root=CertRoot("TBS", issuer_tbs),
                cert_publisher=signer.publisher_name,
            ),
            scenario,
        )
        return (key, attrib.id)

    def finish(self) -> SiPolicy:
        for key in sorted(self.fp_signers):
            signer, scenario = self.fp_signers[key]
            refs = tuple(Ref(r) for r in sorted(self.file_attribs[key]))
            self.policy = generate.add_signer(
                self.policy, replace(signer, file_attrib_refs=refs), (scenario,)
            )
        return self.policy


def rules_from_events(
    policy: SiPolicy,
    events: Sequence[CiEvent],
    level: RuleLevel,
    fallbacks: Sequence[RuleLevel] = (),
    *,
    already_allowed: Callable[[CiEvent], str | None] | None = None,
) -> EventRules:
    """Add a rule for every event to ``policy`` at the first level of the chain it satisfies."""
    chain = list(dict.fromkeys([level, *fallbacks, RuleLevel.HASH]))
    builder = _Builder(policy)
    results: list[EventRule] = []
    counts: dict[str, int] = {}
    for event in sorted(events, key=lambda e: (e.path.casefold(), e.sha256 or b"")):
        allowed = already_allowed(event) if already_allowed else None
        if allowed is not None:
            results.append(EventRule(event, None, (), already_allowed_by=allowed))
            counts["already allowed"] = counts.get("already allowed", 0) + 1
            continue
        skipped: list[str] = []
        for candidate in chain:
            why = _why_not(candidate, event)
            if why is None:
                ids = builder.add(candidate, event)
                results.append(EventRule(event, candidate, ids, tuple(skipped)))
                counts[candidate.value] = counts.get(candidate.value, 0) + 1
                break
            skipped.append(f"{candidate.value}: {why}")
        else:
            results.append(EventRule(event, None, (), tuple(skipped)))
            counts["none"] = counts.get("none", 0) + 1
    return EventRules(builder.finish(), tuple(results), tuple(sorted(counts.items())))
