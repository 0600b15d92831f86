"""Code Integrity audit/block events from any export, normalised (``read_events``) and turned
into policy rules (``rules_from_events``) or catalog members."""

from policy.events.facts import facts_from_event
from policy.events.normalize import APPLOCKER_IDS
from policy.events.read import FORMATS, detect, read_events
from policy.events.records import CiEvent, EventKind, EventProblem, EventSet, EventSigner
from policy.events.rules import EventRule, EventRules, RuleLevel, rules_from_events

__all__ = [
    "APPLOCKER_IDS",
    "FORMATS",
    "CiEvent",
    "EventKind",
    "EventProblem",
    "EventRule",
    "EventRules",
    "EventSet",
    "EventSigner",
    "RuleLevel",
    "detect",
    "facts_from_event",
    "read_events",
    "rules_from_events",
]
