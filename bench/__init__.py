"""Benchmarks of the engine (``python -m bench.lifecycle``; see bench/lifecycle.py)."""
