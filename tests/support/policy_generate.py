"""Helpers for the policy generate tests that more than one lane uses."""

from __future__ import annotations

BASE_ID = "{022DB725-D9EE-49FC-9700-BB92F02C02C6}"
