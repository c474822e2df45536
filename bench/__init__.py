"""Benchmarks: each prints `name: value unit (ratio X vs REFERENCE)` lines."""
