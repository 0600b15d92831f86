"""The event jobs: ``events show``, ``policy from-events`` and ``catalog build --from-events``.

Each reads its inputs once through ``policy.events.read_events`` (EVTX, XML, advanced-hunting
CSV/JSON, detected per file), calls a pure core, and writes its output atomically. An input that
cannot be read is reported and the others are still used; problems inside an input are counted
with their reason (nothing is dropped silently).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog import CatalogInputError
from catalog.ctl import CatalogMember, CatalogSpec, MemberKind, NameValue, build_catalog
from cdf.builder import DEFAULT_OS_ATTRIBUTE, FILE_ATTRIBUTE_FLAGS
from inspector.pipeline.catalogs import resolve_time
from inspector.pipeline.files import write_atomically
from inspector.pipeline.policies import load_policy, save_policy_xml
from policy import BASE_POLICY, Issue, PolicyInputError, SiPolicy, new_policy
from policy.evaluate import SCENARIO_USER, evaluate, index_policy, policy_set
from policy.events import (
    APPLOCKER_IDS,
    CiEvent,
    EventRule,
    EventSet,
    RuleLevel,
    facts_from_event,
    read_events,
    rules_from_events,
)

SCHEMA_VERSION = 1


def show_events(paths: Sequence[Path]) -> EventSet:
    """The normalised, de-duplicated events of ``paths``."""
    return read_events([str(p) for p in paths])


# ----------------------------------------------------------------------------------------------
# policy from-events


@dataclass(frozen=True, slots=True)
class FromEventsResult:
    output: Path
    policy: SiPolicy
    events: EventSet
    results: tuple[EventRule, ...]
    counts: tuple[tuple[str, int], ...]
    warnings: tuple[Issue, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "output": str(self.output),
            "policy_id": self.policy.policy_id,
            "base_policy_id": self.policy.base_policy_id,
            "policy_type": self.policy.policy_type,
            "file_rules": len(self.policy.file_rules or ()),
            "signers": len(self.policy.signers or ()),
            "events_by_level": dict(self.counts),
            "events": [
                {
                    "path": r.event.path,
                    "sha256": r.event.sha256.hex().upper() if r.event.sha256 else None,
                    "level": r.level.value if r.level else None,
                    "rule_ids": list(r.rule_ids),
                    "not_at_higher_levels": list(r.skipped),
                    "already_allowed_by": r.already_allowed_by,
                }
                for r in self.results
            ],
            "records_read": self.events.records_read,
            "problems": [p.to_dict() for p in self.events.problems],
            "failed_inputs": [{"path": p, "reason": r} for p, r in self.events.failed_inputs],
            "warnings": [str(w) for w in self.warnings],
        }


def _already_allowed(
    policies: Sequence[tuple[SiPolicy, str]],
) -> Callable[[CiEvent], str | None]:
    """Whether a given policy already allows an event's file, by the evaluator's verdict.

    Each policy is evaluated on its own (a supplemental as if it were a base), since the question
    is "does a deployed rule already cover this file", not how a device combines them.
    """
    sets = []
    for policy, source in policies:
        alone = policy
        if policy.is_supplemental:
            alone = policy.with_changes(policy_type=BASE_POLICY, base_policy_id=policy.policy_id)
        sets.append(policy_set([index_policy(alone, source)]))

    def check(event: CiEvent) -> str | None:
        facts = facts_from_event(event)
        for ps in sets:
            verdict = evaluate(ps, facts, event.scenario or SCENARIO_USER)
            decision = verdict.deciding
            if verdict.allowed and decision is not None and decision.rule_id is not None:
                return f"{decision.policy_id} {decision.kind} {decision.rule_id}"
        return None

    return check


def policy_from_events(
    inputs: Sequence[Path],
    output: Path,
    *,
    level: str,
    fallbacks: Sequence[str] = (),
    base_policy_id: str | None = None,
    base: Path | None = None,
    existing: Sequence[Path] = (),
    name: str | None = None,
    policy_id: str | None = None,
) -> FromEventsResult:
    """Rules for the events' files at ``level`` (with fallbacks), written as a policy XML.

    With ``base_policy_id`` or ``base`` the output is a supplemental policy for that base;
    otherwise a base policy in audit mode. Files the ``existing`` policies (and ``base``)
    already allow get no rule.
    """
    chosen = RuleLevel.parse(level)
    chain = [RuleLevel.parse(f) for f in fallbacks]
    if base_policy_id and base is not None:
        raise PolicyInputError("give --base-policy-id or --base, not both")
    known = [(load_policy(p).policy, str(p)) for p in existing]
    if base is not None:
        base_policy = load_policy(base).policy
        if base_policy.is_supplemental:
            raise PolicyInputError(f"{base}: is a supplemental policy; --base takes a base policy")
        if "Enabled:Allow Supplemental Policies" not in (base_policy.options or ()):
            raise PolicyInputError(
                f"{base}: the base does not allow supplemental policies (option 17); add it with "
                "`inspector policy set BASE --option 17` or the supplemental will be ignored"
            )
        base_policy_id = base_policy.base_policy_id
        known.append((base_policy, str(base)))
    events = read_events([str(p) for p in inputs])
    if not events.events and events.failed_inputs:
        reasons = "; ".join(f"{p}: {r}" for p, r in events.failed_inputs)
        raise CatalogInputError(f"no events could be read ({reasons})")
    policy_name = name or f"{output.stem} (from events)"
    start = new_policy(
        "supplemental" if base_policy_id else "audit",
        name=policy_name,
        policy_id=policy_id,
        base_policy_id=base_policy_id,
    )
    built = rules_from_events(
        start,
        events.events,
        chosen,
        chain,
        already_allowed=_already_allowed(known) if known else None,
    )
    warnings = save_policy_xml(built.policy, output)
    return FromEventsResult(
        output, built.policy, events, built.results, built.counts, tuple(warnings)
    )


# ----------------------------------------------------------------------------------------------
# catalog build --from-events


@dataclass(frozen=True, slots=True)
class EventMember:
    tag: str
    path: str
    kind: str
    sha256: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "path": self.path,
            "kind": self.kind,
            "sha256": self.sha256,
            "from": "event",
            "event_source": self.source,
        }


@dataclass(frozen=True, slots=True)
class EventCatalogRun:
    output: Path
    version: int
    list_identifier: bytes
    this_update: datetime
    members: tuple[EventMember, ...]
    skipped: tuple[tuple[str, str], ...]
    events: EventSet

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "output": str(self.output),
            "version": self.version,
            "list_identifier": self.list_identifier.hex().upper(),
            "this_update": self.this_update.isoformat(),
            "members": [m.to_dict() for m in self.members],
            "skipped_events": [{"path": p, "reason": r} for p, r in self.skipped],
            "records_read": self.events.records_read,
            "problems": [p.to_dict() for p in self.events.problems],
            "failed_inputs": [{"path": p, "reason": r} for p, r in self.events.failed_inputs],
        }


def _event_time(events: Sequence[CiEvent]) -> datetime | None:
    newest: datetime | None = None
    for e in events:
        if not e.time:
            continue
        text = e.time.rstrip("Z")
        head, _, frac = text.partition(".")
        try:
            when = datetime.fromisoformat(head).replace(tzinfo=UTC)
        except ValueError:
            continue
        del frac  # whole seconds, as the catalog stores them
        if newest is None or when > newest:
            newest = when
    return newest


def catalog_from_events(
    inputs: Sequence[Path], output: Path, *, version: int = 2, when: datetime | None = None
) -> EventCatalogRun:
    """A catalog whose members are the events' Authenticode digests (no file is read).

    Files an installer already deleted can still be trusted this way. Code Integrity events
    (3076/3077) describe PE images: PE members. AppLocker's MSI and Script events carry the
    script/MSI SIP digest: flat members. thisUpdate: ``when``, else SOURCE_DATE_EPOCH, else the
    newest event's time, so the same events give the same catalog.
    """
    if version not in (1, 2):
        raise CatalogInputError(f"catalog version {version} is not 1 (SHA1) or 2 (SHA256)")
    events = read_events([str(p) for p in inputs])
    members: list[CatalogMember] = []
    reports: list[EventMember] = []
    skipped: list[tuple[str, str]] = []
    seen: set[bytes] = set()
    for e in events.events:
        if e.sha1 is None or (version == 2 and e.sha256 is None):
            skipped.append(
                (e.path, "the event lacks the Authenticode SHA1/SHA256 the catalog needs")
            )
            continue
        key = e.sha256 or e.sha1
        if key in seen:
            skipped.append((e.path, "same digest as another member: listed once"))
            continue
        seen.add(key)
        kind = MemberKind.FLAT if e.event_id in APPLOCKER_IDS else MemberKind.PE
        tag = (e.sha256 or e.sha1).hex().upper()
        members.append(
            CatalogMember(
                name=e.path,
                kind=kind,
                sha1=e.sha1,
                sha256=e.sha256 if version == 2 else None,
                attributes=(NameValue.text("File", e.file_name, FILE_ATTRIBUTE_FLAGS),),
            )
        )
        reports.append(EventMember(tag, e.path, kind.value, tag, e.source))
    if not members:
        reasons = "; ".join(f"{p}: {r}" for p, r in events.failed_inputs) or "no usable events"
        raise CatalogInputError(f"no catalog members from the events ({reasons})")
    this_update = resolve_time(when) or _event_time(events.events) or datetime.now(UTC)
    os_attr = NameValue(
        DEFAULT_OS_ATTRIBUTE.name, DEFAULT_OS_ATTRIBUTE.flags, DEFAULT_OS_ATTRIBUTE.stored_value()
    )
    built = build_catalog(CatalogSpec(version, this_update, tuple(members), attributes=(os_attr,)))
    write_atomically(output, built.der)
    return EventCatalogRun(
        output,
        version,
        built.list_identifier,
        this_update,
        tuple(reports),
        tuple(skipped),
        events,
    )
