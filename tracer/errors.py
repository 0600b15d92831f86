"""The tracer package's exception root and its branches (CONTRIBUTING.md, tracer.md 5.2).

Input errors: the request is wrong (no session for a root, overlapping roots, bad patterns).
Environment errors: the machine failed us (no fanotify permission, state directory unusable,
recorder would not start). Verification errors: recorded evidence cannot be trusted (a corrupt
journal, a USN journal that wrapped between start and stop - Package Inspector's error 1181).
"""

from __future__ import annotations


class TracerError(Exception):
    """Root of every error the tracer package raises on purpose."""


class TracerInputError(TracerError):
    """The request is wrong (an unknown session, a root that is not a directory, bad patterns)."""


class TracerEnvironmentError(TracerError):
    """The environment failed us (no permission for fanotify, state directory unusable, ...)."""


class TracerVerificationError(TracerError):
    """Recorded evidence is inconsistent (a corrupt journal, a session that lost events)."""


class NoSessionError(TracerInputError):
    """``stop``/``status`` named a root nobody started recording."""


class SessionExistsError(TracerInputError):
    """``start`` on a root that is (or overlaps) a root already being recorded."""


class SourceUnavailableError(TracerEnvironmentError):
    """A live event source cannot run here (not root, not Linux, kernel too old, watch limit)."""


class RecorderStartError(TracerEnvironmentError):
    """The detached recorder died or did not report ready in time."""


class JournalError(TracerVerificationError):
    """The session journal is unreadable, from a newer version, or inconsistent."""


class UsnJournalWrappedError(TracerVerificationError):
    """The NTFS change journal no longer covers the session (Package Inspector's error 1181)."""
