"""The matrix-free primal check of a decomposition point on the LP of record
(optimizer/fast/record_check.py) against the LP itself: on random rounds (hard, soft under
scarcity caps, soft with a held shortfall) and random points (feasible ones from the fast
paths, and perturbed ones that break rows), the violation equals certify.py's measure on
the built LP (models/build.py) to rounding, and the Lorenz value equals the LP's cost . x
exactly; the fast paths that use it still match HiGHS on the LP of record."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models.fairness as fm
from models.build import build_lp
from optimizer.core.levels import level_of
from optimizer.engine.soft import with_shortfall_cap, with_threshold_caps
from optimizer.fast.certify import certify
from optimizer.fast.decomposition_paths import quantiles
from optimizer.fast.fastpath import fast_core_run
from optimizer.fast.record_check import chain_check, lorenz_check
from tests.test_objectives import rd, solved

LORENZ = [("owa", {}), ("owa", {"weights": [3, 2, 2, 1]}), ("cvar", {"alpha": 0.2}), ("cvar", {"alpha": 1.0})]


@st.composite
def rounds(draw):
    """Rounds with floors, caps, unequal weights; hard, soft under caps, or soft held."""
    n = draw(st.integers(2, 12))
    rng = np.random.default_rng(draw(st.integers(0, 100_000)))
    need = rng.uniform(0.5, 3.0, n)
    own = need * rng.uniform(0.2, 1.3, n)
    t_min = np.where(rng.random(n) < 0.2, 0.05, 0.0)
    t_max = np.where(rng.random(n) < 0.3, 0.3, np.inf)
    d = rd(own, need, budget=float(rng.uniform(0.2, 2.0)), weight=rng.uniform(0.1, 1.0, n),
           theta=draw(st.sampled_from([0.0, 0.8])), t_min=t_min, t_max=np.maximum(t_max, t_min))
    mode = draw(st.sampled_from(["hard", "capped", "held"]))
    if mode == "capped":
        return with_threshold_caps(replace(d, options={"soft_thresholds": True}))
    if mode == "held":
        return with_shortfall_cap(replace(d, options={"soft_thresholds": True}), float(rng.uniform(0.0, 0.1)))
    return d


def _x(lp, d, t, extra: dict[str, np.ndarray]) -> np.ndarray:
    lay = lp.layout()
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    if "shortfall" in lay:
        x[lay["shortfall"]] = np.maximum(0.0, d.threshold - level_of(d.own, d.need, t))
    for k, v in extra.items():
        x[lay[k]] = v
    return x


def _point(d, rng) -> np.ndarray:
    """Transfers in the box (threshold or budget rows broken, or not), or some outside it."""
    t = np.clip(rng.uniform(0.0, 0.5, d.n), d.t_min, np.minimum(d.t_max, 1.0))
    if rng.random() < 0.5:
        return t
    return t + np.where(rng.random(d.n) < 0.3, rng.normal(0.0, 0.2, d.n), 0.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.sampled_from(LORENZ), st.integers(0, 1000))
def test_lorenz_check_equals_certify_on_the_lp_of_record(d, case, seed):
    name, opts = case
    d = replace(d, options={**d.options, **opts})
    t = _point(d, np.random.default_rng(seed))
    level = level_of(d.own, d.need, t)
    beta = fm.owa_terms(d)[0] if name == "owa" else np.array([opts["alpha"]])
    eta = quantiles(level, d.weight, beta)
    lp = build_lp(d, name)
    e = np.maximum(0.0, eta[:, None] - level[None, :]).ravel()
    x = _x(lp, d, t, {f"{name}_eta": eta, f"{name}_excess": e})
    chk = lorenz_check(d, t, level, eta, name)
    assert chk.violation == pytest.approx(certify(lp, x, np.zeros(lp.num_row)).primal_violation, rel=1e-9, abs=1e-12)
    assert chk.value == float(np.dot(lp.cost, x)) + lp.offset


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.integers(0, 1000), st.booleans())
def test_chain_check_equals_certify_on_the_chain_lp(d, seed, sorted_order):
    rng = np.random.default_rng(seed)
    t = _point(d, rng)
    level = level_of(d.own, d.need, t)
    # the order of the levels (rows hold to rounding) or a random one (rows broken)
    order = np.lexsort((np.arange(d.n), level)) if sorted_order else rng.permutation(d.n)
    lp = build_lp(replace(d, options={**d.options, "gini_form": "chain", "gini_lambda": 0.1,
                                      "gini_order": order}), "min-gini")
    x = _x(lp, d, t, {})
    viol = certify(lp, x, np.zeros(lp.num_row)).primal_violation
    assert chain_check(d, t, order).violation == pytest.approx(viol, rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(), st.sampled_from(LORENZ + [("min-gini", {})]))
def test_fast_paths_checked_in_vectors_match_highs(d, case):
    """The whole path (decomposition, KKT certificate, matrix-free check) against HiGHS on
    the LP of record; hard rounds only (the soft ones: tests/test_scarcity_fast.py)."""
    if d.options.get("soft_thresholds"):
        d = replace(d, options={})
    name, opts = case
    d = replace(d, options={**d.options, **opts})
    run = fast_core_run(d, name, build_lp, hard=True, has_policies=False)
    if run is None:
        return                     # infeasible or refused: the LP path decides
    assert set(run.layout) == {"transfer", "rows:budget", "rows:threshold"}
    lp_data = replace(d, options={**d.options, "gini_form": "pairwise"}) if name == "min-gini" else d
    lp_run, _, _ = solved(lp_data, name)
    assert run.first.objective == pytest.approx(lp_run.first.objective, abs=1e-7)
