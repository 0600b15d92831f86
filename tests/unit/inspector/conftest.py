"""The base policy XML fixture, shared by the unit and integration CLI policy tests."""

from tests.support.inspector_policy_cli_inputs import base_xml  # noqa: F401  (a pytest fixture)
