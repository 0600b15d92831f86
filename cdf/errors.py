"""The cdf package's exception root: every syntax error names the line and column.

``CdfError`` is the root; it splits into input / environment / verification like the other
packages (CONTRIBUTING.md). The cdf package is pure, so in practice only ``CdfInputError`` is
raised; the other two exist so callers can map the branches uniformly.
"""

from __future__ import annotations


class CdfError(Exception):
    """Root of every error the cdf package raises on purpose."""


class CdfInputError(CdfError):
    """The definition text is malformed or asks for something MakeCat does not support.

    ``line`` and ``column`` are 1-based positions in the decoded text (``None`` when the problem
    is not tied to a position, e.g. a model built in code); ``source`` names the file.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.source is not None:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}")
            if self.column is not None:
                where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # keep the keyword-only fields across pickling (multiprocessing workers re-raise errors)
        return (_rebuild_input_error, (self.message, self.source, self.line, self.column))


def _rebuild_input_error(
    message: str, source: str | None, line: int | None, column: int | None
) -> CdfInputError:
    return CdfInputError(message, source=source, line=line, column=column)


class CdfEnvironmentError(CdfError):
    """The environment failed a caller of this package (kept for a uniform three-way split)."""


class CdfVerificationError(CdfError):
    """A definition was checked against something else and found not to match."""
