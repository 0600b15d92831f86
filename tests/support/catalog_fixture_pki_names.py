"""Helpers for the catalog fixture_pki_names tests that more than one lane uses."""

from __future__ import annotations

from tests.conftest import FIXTURES

PKI = FIXTURES / "pki"
CERTS = sorted(p.name for p in PKI.glob("*.pem") if not p.name.endswith((".key.pem", "-chain.pem")))
