"""The cdf package's exception root: every syntax error names the line and column."""

from __future__ import annotations


class CdfError(Exception):
    """Root of every error the cdf package raises on purpose."""


class CdfInputError(CdfError):
    """The definition text is malformed or asks for something MakeCat does not support."""
