"""``exact_sum``: ``math.fsum`` of a float array, faster.

``math.fsum`` over a numpy array makes a numpy scalar object per element; over a memoryview
of the same contiguous float64 buffer it reads plain doubles (~2x faster at 1e6 values: the
budget checks of every solve sum the transfers exactly). Same correctly rounded sum, bit for
bit (tests/test_components.py).
"""

from __future__ import annotations

import math

import numpy as np


def exact_sum(x: np.ndarray) -> float:
    """The correctly rounded sum of ``x`` as float64 values (``math.fsum(x)``)."""
    return math.fsum(memoryview(np.ascontiguousarray(x, dtype=np.float64)).cast("B").cast("d"))
