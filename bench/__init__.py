"""Benchmarks (not tests): `make bench` or `python -m bench` writes bench/results.json. See README.md."""
