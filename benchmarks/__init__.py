"""Benchmarks, run by hand (never timed in tests): `python -m benchmarks.run --help`."""
