"""The ``inspector`` command line and the pipeline composing tracer, cdf and catalog."""

__version__ = "0.1.0"
