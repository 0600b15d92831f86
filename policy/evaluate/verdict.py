"""The evaluator's output: one frozen verdict per file, with the rule that decided it and why.

``Verdict.to_dict`` is the JSON record of ``inspector policy simulate --json`` (schema_version 1):
``path``, ``verdict`` (allowed | blocked), ``enforced``, ``scenario``, ``decided_by``,
``signature``, ``nearest`` and ``would_allow`` (blocked files), ``depends_on`` and ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1
ALLOWED = "allowed"
BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Decision:
    """The rule (or option, or default) that decided a verdict in one policy."""

    policy_id: str
    kind: str
    """Hash, FileName, FilePath, FilePublisher, Publisher, PcaCertificate, LeafCertificate,
    Signer, Option or Default."""
    rule_id: str | None = None
    """The file rule's or signer's ID (None for options and the default)."""
    friendly_name: str | None = None
    action: str = "allow"
    """``allow`` or ``deny``."""
    detail: str = ""
    """Which fact matched (the hash label, the attribute, the signer chain)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "kind": self.kind,
            "rule_id": self.rule_id,
            "friendly_name": self.friendly_name,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A rule that almost matched: everything but ``failed``."""

    policy_id: str
    rule_id: str
    kind: str
    failed: str
    """The one field that did not match, e.g. "FilePublisher requires >= 2.0.0.0, file has 1.5"."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "rule_id": self.rule_id,
            "kind": self.kind,
            "failed": self.failed,
        }


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A rule at one level that would allow the file, ready for ``inspector policy``."""

    level: str
    rule: tuple[tuple[str, str], ...]
    """The rule's XML attributes (Hash, FileName, MinimumFileVersion, CertRoot TBS, ...)."""
    command: str
    """The ``inspector policy`` command line that writes such a rule."""

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "rule": dict(self.rule), "command": self.command}


@dataclass(frozen=True, slots=True)
class SignatureSummary:
    source: str
    valid: bool
    signer: str | None
    issuer: str | None
    catalog: str | None = None
    member: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "valid": self.valid,
            "signer": self.signer,
            "issuer": self.issuer,
            "catalog": self.catalog,
            "member": self.member,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    path: str
    verdict: str
    enforced: bool
    scenario: int
    decided_by: tuple[Decision, ...]
    """One decision per base policy (with the supplemental that allowed, when one did)."""
    signatures: tuple[SignatureSummary, ...] = ()
    nearest: tuple[NearMiss, ...] = ()
    would_allow: tuple[Suggestion, ...] = ()
    depends_on: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    reasoning: tuple[str, ...] = ()
    """Step-by-step explanation (``--explain``)."""

    @property
    def allowed(self) -> bool:
        return self.verdict == ALLOWED

    @property
    def deciding(self) -> Decision | None:
        """The decision shown in the table: the first blocking one, else the first allowing."""
        for d in self.decided_by:
            if (d.action == "deny") == (self.verdict == BLOCKED):
                return d
        return self.decided_by[0] if self.decided_by else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "path": self.path,
            "verdict": self.verdict,
            "enforced": self.enforced,
            "scenario": self.scenario,
            "decided_by": [d.to_dict() for d in self.decided_by],
            "signature": [s.to_dict() for s in self.signatures],
            "nearest": [n.to_dict() for n in self.nearest],
            "would_allow": [w.to_dict() for w in self.would_allow],
            "depends_on": list(self.depends_on),
            "notes": list(self.notes),
            "reasoning": list(self.reasoning),
        }
