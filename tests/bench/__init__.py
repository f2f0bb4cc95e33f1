"""Benchmarks (`make bench`): they print measured figures and are not timed tests."""
