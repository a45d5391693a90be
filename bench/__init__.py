"""Benchmarks for detection accuracy and speed; ``python -m bench.run`` writes the tables in docs/BENCHMARKS.md.

Everything here is measurement, not product code: nothing under ``functions/`` imports it, and the test suite
only smoke-runs it on a tiny corpus so it cannot rot.
"""
