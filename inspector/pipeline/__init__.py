"""Pipelines: each composes the libraries for one CLI job and returns records (no printing).

One module per job so they can grow independently: ``hashing`` (``hash``), ``catalogs``
(``makecat``, ``catalog build/show``), ``trace`` (``start``/``stop``/``status``/``scan``),
``outputs`` (the one .cat/.cdf/report writer both of those use), ``signing`` (``sign``,
``verify``, ``catalog tbs``), ``policies`` (``policy ...``), ``demo`` and ``recorder`` (the
recorder process's entry point, ``python -m inspector.pipeline.recorder``).
"""
