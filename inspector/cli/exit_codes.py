"""The one place where exceptions become exit codes.

0 success; 1 a verification failed; 2 usage error (a bad option or option value); 3 bad input
(some or all inputs could not be processed; the rest was); 4 the environment failed (permissions,
missing tools, I/O); 5 a recording (``stop``/``scan``) finished but is degraded (outputs written,
the reasons printed and in the report); 70 an internal error (a bug: please report it with the
traceback ``--debug`` prints).
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


class ExitCode(enum.IntEnum):
    OK = 0
    VERIFICATION_FAILED = 1
    USAGE = 2
    BAD_INPUT = 3
    ENVIRONMENT = 4
    DEGRADED = 5
    INTERNAL = 70


def exit_code_for(exc: BaseException) -> ExitCode:
    # Imported here, when there is an error to map: importing the tracer package costs every
    # command 50 ms of start-up (``inspector hash`` never touches it).
    from tracer import (
        TracerEnvironmentError,
        TracerError,
        TracerInputError,
        TracerVerificationError,
    )

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
    if isinstance(exc, MemoryError):
        return ExitCode.ENVIRONMENT
    return ExitCode.INTERNAL
