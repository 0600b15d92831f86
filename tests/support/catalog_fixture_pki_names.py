"""Helpers shared by the unit, oracle and integration tests of catalog (fixture_pki_names)."""

from __future__ import annotations

from tests.conftest import FIXTURES

PKI = FIXTURES / "pki"
CERTS = sorted(p.name for p in PKI.glob("*.pem") if not p.name.endswith((".key.pem", "-chain.pem")))
