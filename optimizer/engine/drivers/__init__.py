"""Drivers: objectives solved as one LP or a sequence of LPs on HiGHS (through engine/highs.py)."""
