"""Helpers shared by the unit, oracle and integration tests of policy (generate)."""

from __future__ import annotations

BASE_ID = "{022DB725-D9EE-49FC-9700-BB92F02C02C6}"
