"""Authenticode hashing, Windows catalog (CTL) building, signing and verification.

Implements ../shared/docs/formats.md. May import ``cdf`` (a catalog is built from a definition),
never ``tracer`` or ``inspector``.
"""
