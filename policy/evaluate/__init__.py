"""Offline App Control (WDAC) evaluation: will a file run under these policies, and why.

The package's face: callers (``inspector``) import these names only. ``facts`` / ``gather``
establish what a file is (hashes, version resource, verified signatures), ``index`` prepares
policies, ``engine`` decides, ``verdict`` is the output record.
"""

from policy.evaluate.engine import evaluate, evaluate_all, scenario_for
from policy.evaluate.facts import CertFacts, FileFacts, SignatureFacts
from policy.evaluate.gather import CatalogFacts, gather_facts, read_catalog
from policy.evaluate.index import IndexedPolicy, PolicySet, index_policy, policy_set
from policy.evaluate.verdict import (
    ALLOWED,
    BLOCKED,
    SCHEMA_VERSION,
    Decision,
    NearMiss,
    SignatureSummary,
    Suggestion,
    Verdict,
)
from policy.model import SCENARIO_KERNEL, SCENARIO_USER

__all__ = [
    "ALLOWED",
    "BLOCKED",
    "SCENARIO_KERNEL",
    "SCENARIO_USER",
    "SCHEMA_VERSION",
    "CatalogFacts",
    "CertFacts",
    "Decision",
    "FileFacts",
    "IndexedPolicy",
    "NearMiss",
    "PolicySet",
    "SignatureFacts",
    "SignatureSummary",
    "Suggestion",
    "Verdict",
    "evaluate",
    "evaluate_all",
    "gather_facts",
    "index_policy",
    "policy_set",
    "read_catalog",
    "scenario_for",
]
