"""The policy-signing identity fixture, shared by the unit and integration policy tests."""

from tests.support.policy_sign import identity  # noqa: F401  (a pytest fixture)
