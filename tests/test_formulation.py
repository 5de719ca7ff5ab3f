"""The vectorised twin builds exactly the LP of the Pyomo model of record."""

from __future__ import annotations

import numpy as np
import pytest

from models.build import build_arrays, build_pyomo
from models.compile import to_linear_program
from models.data import RegionData
from models.objectives import OBJECTIVES


def region_data(n: int, seed: int) -> RegionData:
    rng = np.random.default_rng(seed)
    need = rng.uniform(0.5, 5.0, n)
    t_max = np.where(rng.random(n) < 0.3, rng.uniform(0.5, 2.0, n), np.inf)
    return RegionData(own=need * rng.uniform(0.2, 1.2, n), need=need,
                      threshold=rng.uniform(0.6, 0.95, n), weight=rng.dirichlet(np.ones(n)),
                      t_min=np.where(rng.random(n) < 0.2, 0.1, 0.0), t_max=t_max,
                      budget=float(need.sum() * 0.3))


def assert_same_lp(a, b):
    assert a.maximize == b.maximize
    assert [(x.name, x.start, x.stop) for x in a.col_blocks] == [(x.name, x.start, x.stop) for x in b.col_blocks]
    assert [(x.name, x.start, x.stop) for x in a.row_blocks] == [(x.name, x.start, x.stop) for x in b.row_blocks]
    np.testing.assert_array_equal(a.A.indptr, b.A.indptr)
    np.testing.assert_array_equal(a.A.indices, b.A.indices)
    np.testing.assert_allclose(a.A.data, b.A.data, rtol=1e-15)
    for field in ("cost", "col_lower", "col_upper", "row_lower", "row_upper"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-14, err_msg=field)
    assert a.offset == pytest.approx(b.offset)


@pytest.mark.parametrize("objective", [n for n, s in OBJECTIVES.items() if s.arrays is not None])
@pytest.mark.parametrize("n,seed", [(1, 0), (7, 1), (60, 2)])
def test_twin_equals_compiled_pyomo(objective, n, seed):
    d = region_data(n, seed)
    assert_same_lp(build_arrays(d, objective), to_linear_program(build_pyomo(d, objective)))
