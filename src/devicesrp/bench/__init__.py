"""Benchmark tooling: a round-robin CPU-time runner, the OpenSSL measuring stick, the comparisons.

Machines here are noisy, so every figure is a ratio against a baseline measured in the same run.
"""
