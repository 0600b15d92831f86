"""Benchmarks (not timed tests): throughput against raw hashlib and the peers."""
