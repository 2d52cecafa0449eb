"""Benchmarks: `make bench` (python -m bench) measures the app beside a bare baseline on the same machine."""
