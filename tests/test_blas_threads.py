"""`equalize` runs numpy's OpenBLAS on one thread (optimizer/cli/__init__.py): set before any
command imports numpy, so it holds for every command; a caller's own OPENBLAS_NUM_THREADS
wins. Read back from the OpenBLAS numpy loaded (skipped where numpy has another BLAS)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import numpy as np
import pytest

LIBS = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas64_*.so"))
PROBE = ("import optimizer.cli, numpy, ctypes; from optimizer.cli.solve import solve_cmd; "
         f"print(ctypes.CDLL({LIBS[0] if LIBS else ''!r}).scipy_openblas_get_num_threads64_())")


def threads(env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not LIBS, reason="numpy without its bundled OpenBLAS")
def test_one_blas_thread_unless_the_caller_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert threads(env) == 1
    if (os.cpu_count() or 1) >= 2:
        assert threads({**env, "OPENBLAS_NUM_THREADS": "2"}) == 2
