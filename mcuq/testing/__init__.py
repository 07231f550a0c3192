"""Support code for tests, benchmarks and users' own checks (like numpy.testing)."""
