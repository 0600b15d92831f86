"""Errors of the WDAC policy writer/compiler (sipolicy.md), under the catalog package's root.

The policy subpackage keeps the catalog package's single exception root (``CatalogError``) and its
input / environment / verification split, so the CLI's exit-code mapping needs no change.
"""

from __future__ import annotations

from catalog import CatalogEnvironmentError, CatalogInputError, CatalogVerificationError


class PolicyInputError(CatalogInputError):
    """A policy, certificate or catalog given to the policy tools is malformed or unsupported."""


class PolicyValidationError(PolicyInputError):
    """A policy failed the structural checks; ``issues`` lists every problem found."""

    def __init__(self, message: str, issues: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.issues = issues


class PolicyEnvironmentError(CatalogEnvironmentError):
    """Reading or writing a policy failed for a reason outside the input (I/O, permissions)."""


class PolicyVerificationError(CatalogVerificationError):
    """A signed policy's signature or content did not verify."""
