"""Code Integrity audit/block events from any export, normalised (``read_events``) and turned
into policy rules (``rules``) or catalog members."""

from policy.events.read import FORMATS, detect, read_events
from policy.events.records import CiEvent, EventKind, EventProblem, EventSet, EventSigner

__all__ = [
    "FORMATS",
    "CiEvent",
    "EventKind",
    "EventProblem",
    "EventSet",
    "EventSigner",
    "detect",
    "read_events",
]
