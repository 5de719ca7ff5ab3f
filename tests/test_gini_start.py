"""min-gini's first Dinkelbach point (optimizer/fast/decomposition_paths.py ``gini_start``)
computes each Gini once and hands it to ``min_gini_bare``: the start, hint and Gini are the
ones the separate computations give, and the decomposition from them is the same bit for
bit (hypothesis, on the bare instances of tests/test_decompose.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from optimizer.core.metrics import pairwise_ratio
from optimizer.fast.decompose import min_gini_bare
from optimizer.fast.decomposition_paths import gini_start, level_box, leximin_start
from tests.test_decompose import bare_instances, feasible


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bare_instances())
def test_gini_start_hands_over_the_gini_it_compared(d):
    if not feasible(d):
        return
    box = level_box(d)
    if box is None:
        return
    lo, hi, least = box
    start, hint, g = gini_start(d, lo, hi)
    lex, lex_hint = leximin_start(d, hi, None)
    # the rule: the leximin levels when their Gini is below the least levels', else lo
    use_lex = pairwise_ratio(lex, d.weight) < pairwise_ratio(lo, d.weight)
    assert np.array_equal(start, lex if use_lex else lo)
    assert hint == (lex_hint if use_lex else None)
    assert g == pairwise_ratio(start, d.weight)
    handed = min_gini_bare(d.weight, d.need, d.own, lo, hi, d.budget, start, lam_b_hint=hint, start_gini=g)
    again = min_gini_bare(d.weight, d.need, d.own, lo, hi, d.budget, start, lam_b_hint=hint)
    assert np.array_equal(handed.level, again.level)
    assert (handed.lam, handed.lam_b, handed.inner_solves) == (again.lam, again.lam_b, again.inner_solves)
