"""Records the file activity of an install (tracer.md): snapshots, live events, processes.

Imports nothing from ``cdf``, ``catalog`` or ``inspector``; hashing at close time goes through a
callable handed in by ``inspector``.
"""
