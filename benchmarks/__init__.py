"""Benchmarks run by hand (not by the test suite): synthetic tenants and collection timing."""
