"""Offline App Control (WDAC) evaluation: will a file run under these policies, and why."""
