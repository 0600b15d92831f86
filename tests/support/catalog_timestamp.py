"""Helpers for the catalog timestamp tests that more than one lane uses."""

from __future__ import annotations

from tests.support.signing import pki
from tests.support.tsa_server import TsaConfig


def _config(mode: str = "good") -> TsaConfig:
    tsa = pki().tsa
    return TsaConfig(tsa.cert, tsa.key, chain=tsa.chain[:1], mode=mode)  # type: ignore[arg-type]
