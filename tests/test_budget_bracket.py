"""The budget-price search of the threshold decomposition (optimizer/fast/decompose.py) from
an estimated price on either side of the true one, near or far: the bracket (1e-6 around
the estimate, widened x4 per probe on the side where the price lies) must end at the same
optimum as the search from 0, proven by the KKT certificate and equal to HiGHS on the LP
of record (random instances, hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.metrics import gini
from optimizer.fast.cut_certificate import cut_certificate
from optimizer.fast.decompose import CutFunction, max_lorenz_bare, min_gini_bare
from tests.test_decompose import bare_instances, bounds, feasible
from tests.test_objectives import solved

FACTORS = [1e-3, 0.5, 1 - 3e-7, 1 + 3e-7, 1.01, 2.0, 1e3]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bare_instances(), st.sampled_from(FACTORS), st.sampled_from([0.2, 0.5]))
def test_cvar_from_a_price_estimate_on_either_side(d, factor, alpha):
    if not feasible(d):
        return
    lo, hi = bounds(d)
    beta, c = np.array([alpha]), np.array([1.0 / alpha])
    cold = max_lorenz_bare(d.weight, d.need, d.own, lo, hi, d.budget, beta, c)
    if cold.lam_b <= 0:
        return                               # slack budget: no price to estimate
    warm = max_lorenz_bare(d.weight, d.need, d.own, lo, hi, d.budget, beta, c, cold.lam_b * factor)
    assert warm.value == pytest.approx(cold.value, abs=1e-9)
    level = (d.own + np.clip(warm.level * d.need - d.own, d.t_min, d.t_max)) / d.need
    cert = cut_certificate(level, d.weight, d.need, lo, hi, True, np.zeros(d.n),
                           CutFunction.lorenz(float(d.weight.sum()), beta, c), lam_b_hint=warm.lam_b)
    assert cert.ok
    lp_run, _, _ = solved(replace(d, options={"alpha": alpha}), "cvar")
    assert warm.value == pytest.approx(lp_run.first.objective, abs=1e-7)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bare_instances(), st.sampled_from(FACTORS))
def test_min_gini_from_a_price_estimate_on_either_side(d, factor):
    if not feasible(d):
        return
    lo, hi = bounds(d)
    cold = min_gini_bare(d.weight, d.need, d.own, lo, hi, d.budget, lo)
    if cold.lam_b <= 0:
        return
    warm = min_gini_bare(d.weight, d.need, d.own, lo, hi, d.budget, lo, lam_b_hint=cold.lam_b * factor)
    assert gini(warm.level, d.weight) == pytest.approx(gini(cold.level, d.weight), abs=1e-9)
