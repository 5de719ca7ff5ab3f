"""Inequality metrics against hand computations, known values and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.core.metrics import (
    atkinson,
    cv,
    gini,
    level_metrics,
    price_of_fairness,
    theil,
    total_shortfall,
    weighted_mean,
)


def test_gini_known_values():
    assert gini(np.array([0.0, 0.0, 0.0, 1.0]), np.ones(4)) == pytest.approx(0.75)
    assert gini(np.array([2.0, 2.0, 2.0]), np.ones(3)) == pytest.approx(0.0)
    # two people, levels 1 and 3: |1-3| * 2 * (1/4) / (2 * 2) = 0.25
    assert gini(np.array([1.0, 3.0]), np.ones(2)) == pytest.approx(0.25)
    # weights act as replication: (1 with weight 2, 3 with weight 1) == (1, 1, 3)
    assert gini(np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(gini(np.array([1.0, 1.0, 3.0]),
                                                                                   np.ones(3)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 10.0), st.floats(0.01, 5.0)), min_size=1, max_size=12))
def test_gini_equals_pairwise_brute_force(pairs):
    x = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    w = w / w.sum()
    mu = float(np.dot(w, x))
    ref = sum(w[i] * w[j] * abs(x[i] - x[j]) for i in range(len(x)) for j in range(len(x))) / (2 * mu)
    assert gini(x, w) == pytest.approx(ref, abs=1e-12)


def test_cv_theil_atkinson_by_hand():
    x, w = np.array([1.0, 3.0]), np.ones(2)
    assert weighted_mean(x, w) == pytest.approx(2.0)
    assert cv(x, w) == pytest.approx(0.5)                                  # sd 1, mean 2
    assert theil(x, w) == pytest.approx((0.5 * np.log(0.5) + 1.5 * np.log(1.5)) / 2)
    x = np.array([1.0, 4.0])
    assert atkinson(x, w, 1.0) == pytest.approx(1 - 2.0 / 2.5)             # geometric mean 2
    assert atkinson(x, w, 2.0) == pytest.approx(1 - 1.6 / 2.5)             # harmonic mean 1.6
    assert theil(np.array([5.0, 5.0]), w) == pytest.approx(0.0, abs=1e-15)
    assert atkinson(np.array([0.0, 1.0]), w, 1.0) == 1.0


def test_level_metrics_shares_and_shortfall():
    x = np.array([0.5, 0.9, 1.2])
    w = np.array([1.0, 2.0, 1.0])
    thr = np.full(3, 0.8)
    m = level_metrics(x, w, thr)
    assert m["min_level"] == 0.5 and m["max_level"] == 1.2
    assert m["max_min_ratio"] == pytest.approx(2.4)
    assert m["regions_below_threshold"] == 1
    assert m["population_share_below_threshold"] == pytest.approx(0.25)
    assert m["weighted_shortfall"] == pytest.approx(0.25 * 0.3)
    assert total_shortfall(x, thr, np.array([100.0, 50.0, 10.0])) == pytest.approx(30.0)


def test_price_of_fairness():
    assert price_of_fairness(0.8, 0.75) == pytest.approx(0.0625)
    assert price_of_fairness(0.8, 0.8) == 0.0
    assert price_of_fairness(0.8, 0.8000000001) == 0.0
