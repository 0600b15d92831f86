"""The one place where exceptions become exit codes.

0 success; 1 a verification failed; 2 usage error (typer/click); 3 bad input (some or all inputs
could not be processed; the rest was); 4 the environment failed (permissions, missing tools, I/O);
70 an internal error (a bug: please report it with the traceback ``--debug`` prints).
"""

from __future__ import annotations

import enum

from catalog import (
    CatalogEnvironmentError,
    CatalogError,
    CatalogInputError,
    CatalogVerificationError,
)
from cdf.errors import CdfEnvironmentError, CdfError, CdfInputError, CdfVerificationError
from tracer import (
    TracerEnvironmentError,
    TracerError,
    TracerInputError,
    TracerVerificationError,
)


class ExitCode(enum.IntEnum):
    OK = 0
    VERIFICATION_FAILED = 1
    USAGE = 2
    BAD_INPUT = 3
    ENVIRONMENT = 4
    INTERNAL = 70


def exit_code_for(exc: BaseException) -> ExitCode:
    """Map a package error (or an OS error) to the exit code the CLI documents."""
    if isinstance(exc, CatalogVerificationError | TracerVerificationError | CdfVerificationError):
        return ExitCode.VERIFICATION_FAILED
    if isinstance(exc, CatalogInputError | TracerInputError | CdfInputError):
        return ExitCode.BAD_INPUT
    if isinstance(
        exc, CatalogEnvironmentError | TracerEnvironmentError | CdfEnvironmentError | OSError
    ):
        return ExitCode.ENVIRONMENT
    if isinstance(exc, CatalogError | TracerError | CdfError):
        return ExitCode.BAD_INPUT
    return ExitCode.INTERNAL
