"""Every package error class lands on the exit code the README documents."""

from __future__ import annotations

import pytest

from catalog.errors import CatalogEnvironmentError, CatalogInputError, CatalogVerificationError
from cdf.errors import CdfEnvironmentError, CdfInputError, CdfVerificationError
from inspector.cli.exit_codes import ExitCode, exit_code_for
from policy.errors import PolicyInputError, PolicyVerificationError
from tracer.errors import TracerEnvironmentError, TracerInputError, TracerVerificationError


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CatalogInputError("x"), 3),
        (PolicyInputError("x"), 3),
        (CdfInputError("x"), 3),
        (TracerInputError("x"), 3),
        (CatalogEnvironmentError("x"), 4),
        (CdfEnvironmentError("x"), 4),
        (TracerEnvironmentError("x"), 4),
        (PermissionError("x"), 4),
        (CatalogVerificationError("x"), 1),
        (PolicyVerificationError("x"), 1),
        (CdfVerificationError("x"), 1),
        (TracerVerificationError("x"), 1),
        (RuntimeError("bug"), 70),
    ],
)
def test_mapping(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == ExitCode(code)
