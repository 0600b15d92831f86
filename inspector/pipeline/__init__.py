"""Pipelines: each composes the libraries for one CLI job and returns records (no printing).

One module per job (hashing, catalogs, tracing, policies) so they can grow independently.
"""
