"""Give freed memory back to the operating system between the stages of a large solve.

At 1e6 regions each stage (reading, the LP of record, the allocation table) leaves tens of
megabytes freed but still held by the allocators: Arrow's pool (mimalloc) keeps its pages
for reuse, and glibc's malloc keeps freed chunks inside its heap (only the top is trimmed
by itself). The process's peak resident memory is then the sum of every stage's leftovers
rather than the largest stage. ``give_back`` returns both; it costs a few milliseconds.
"""

from __future__ import annotations

import ctypes

import pyarrow as pa


def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (macOS, musl)."""
    try:   # by its soname: ctypes.util.find_library would run ldconfig at every start-up
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


MALLOC_TRIM = _malloc_trim()
GIVE_BACK_MIN_ROWS = 100_000   # below this a stage leaves little behind: not worth a heap walk


def give_back(rows: int) -> None:
    """After a stage over ``rows`` regions: return the freed pages of Arrow's pool and of
    malloc's heap to the operating system (nothing for small rounds)."""
    if rows < GIVE_BACK_MIN_ROWS:
        return
    pa.default_memory_pool().release_unused()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)
