"""The tracer package's exception root and its branches."""

from __future__ import annotations


class TracerError(Exception):
    """Root of every error the tracer package raises on purpose."""


class TracerInputError(TracerError):
    """The request is wrong (an unknown session, a root that is not a directory, bad patterns)."""


class TracerEnvironmentError(TracerError):
    """The environment failed us (no permission for fanotify, state directory unusable, ...)."""


class TracerVerificationError(TracerError):
    """Recorded evidence is inconsistent (a corrupt journal, a session that lost events)."""
