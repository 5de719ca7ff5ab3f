"""Benchmarks of equalize: the project's path against the same LP built directly in highspy."""
