"""Evidence sources of the tracer (tracer.md 3.3): snapshot walker, fanotify, watchdog, USN, psutil.

Each turns one kind of evidence into ``FileEvent`` records behind the ``LiveSource`` interface of
``base``; only ``snapshot`` is mandatory, the others add transient files, hashes at close and
executed/loaded binaries.
"""
