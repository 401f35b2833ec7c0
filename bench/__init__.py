"""Benchmarks: `python -m bench.<name>`; figures are merged into bench/results.json."""
