"""The max-min LP of record as vectors (optimizer/fast/floor_record.py) against the LP built
by models/build.py: the same layout, costs and bounds; A x and the reduced costs bit for bit;
and ``certify_floor`` gives exactly ``certify``'s verdict and measures on random pairs,
wrong ones included (perturbed primal, wrong dual signs, the wrong candidate dual), so an
answer is rejected by the vectors exactly where the built LP rejects it. The fast path that
uses it still matches HiGHS on the LP of record (tests/test_fastpath.py), and its
certificate figures in summary.json are those of the built LP."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.build import build_lp
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round, solve
from optimizer.fast.certify import certify
from optimizer.fast.fastpath import fast_core_run
from optimizer.fast.floor_record import certify_floor, floor_record, floor_solution, sequential_sum
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import water_fill
from optimizer.io.load import load_instance
from tests.test_core_lp import core_instance
from tests.test_objectives import rd

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


@st.composite
def rounds(draw):
    """Hard rounds with floors, caps, thresholds and amounts over many orders of magnitude."""
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    need = rng.uniform(0.1, 5.0, n) * rng.choice([1.0, 1e-3, 1e3], n)
    own = need * rng.uniform(0.0, 1.5, n)
    t_min = np.where(rng.random(n) < 0.3, rng.uniform(0.0, 1.0, n), 0.0)
    t_max = np.where(rng.random(n) < 0.3, t_min + rng.uniform(0.0, 2.0, n), np.inf)
    theta = rng.choice([0.0, 0.5, 0.9], n)
    d = rd(own, need, budget=float(rng.uniform(0.0, 10.0)), theta=theta, t_min=t_min, t_max=t_max)
    return replace(d, options={"soft_thresholds": draw(st.booleans())})  # the record is the hard LP either way


def _hard_lp(d):
    return build_lp(replace(d, options={**d.options, "soft_thresholds": False}), "maxmin")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@SETTINGS
@given(rounds())
def test_the_record_is_the_built_lp(d):
    lp, rec = _hard_lp(d), floor_record(d)
    assert rec.layout() == lp.layout()
    assert (rec.num_col, rec.num_row, lp.maximize) == (lp.num_col, lp.num_row, True)
    assert _same(rec.cost(), lp.cost)
    for mine, built in zip(rec.bounds(), (lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper)):
        assert _same(mine, built)


def _pairs(d, lp, rng):
    """The water-filling point with its candidate duals, then wrong and random pairs."""
    n = d.n
    wf = water_fill(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    x = np.concatenate([wf.transfer, [wf.level]])
    lay = lp.layout()
    y = np.zeros(lp.num_row)
    y[lay["rows:budget"]] = -1.0 / d.need.sum()
    y[lay["rows:floor_rows"]] = d.need / d.need.sum()
    yield x, -y
    yield x, y                                               # the wrong sign
    bad = x.copy()
    bad[rng.integers(0, n + 1)] += rng.normal() * 10.0 ** rng.integers(-9, 1)
    yield bad, -y                                            # a perturbed primal
    yield np.zeros(n + 1), np.zeros(lp.num_row)
    yield np.full(n + 1, -0.0), np.full(lp.num_row, -0.0)
    for _ in range(3):
        yield (rng.normal(size=n + 1) * 10.0 ** rng.integers(-9, 7),
               rng.normal(size=lp.num_row) * (rng.random(lp.num_row) < 0.5))
    for value in (np.inf, -np.inf, np.nan):                  # never certified, by either
        broken = x.copy()
        broken[rng.integers(0, n + 1)] = value
        yield broken, -y
        wrong = -y
        wrong[rng.integers(0, lp.num_row)] = value
        yield x, wrong


@SETTINGS
@given(rounds(), st.integers(0, 10**6))
def test_certify_floor_is_certify_on_the_built_lp(d, seed):
    lp, rec = _hard_lp(d), floor_record(d)
    for x, y in _pairs(d, lp, np.random.default_rng(seed)):
        with np.errstate(invalid="ignore", over="ignore"):
            built = certify(lp, x, y)
        vectors = certify_floor(rec, x, y)
        assert vectors.ok == built.ok
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            assert not built.ok
            continue
        assert repr(vectors.primal_violation) == repr(built.primal_violation)
        assert repr(vectors.dual_violation) == repr(built.dual_violation)
        a, b = closed_form_solution(lp, x, y, 0.0, 0.0), floor_solution(rec, x, y, 0.0, 0.0)
        assert _same(a.row_activity, b.row_activity) and _same(a.col_dual, b.col_dual)


def test_long_sums_are_sequential_as_sparse_products():
    """The budget row and the z column sum 1e5 terms: pairwise (numpy) and sequential
    (scipy) sums differ in the last bits; the record must round as the built LP does."""
    rng = np.random.default_rng(7)
    n = 100_000
    need = rng.uniform(0.1, 10.0, n)
    d = rd(need * rng.uniform(0.1, 1.2, n), need, budget=float(need.sum() * 0.3), theta=0.5)
    lp, rec = _hard_lp(d), floor_record(d)
    x = np.concatenate([rng.uniform(0.0, 3.0, n), [0.7]])
    y = rng.normal(size=lp.num_row) / n
    assert _same(rec.activity(x), lp.A @ x)
    assert _same(rec.col_dual(y), lp.cost - lp.A.T @ y)
    for pair in ((x, y), (x, -y)):
        built, vectors = certify(lp, *pair), certify_floor(rec, *pair)
        assert (vectors.ok, repr(vectors.primal_violation), repr(vectors.dual_violation)) == \
            (built.ok, repr(built.primal_violation), repr(built.dual_violation))


def test_sequential_sum_is_a_sum_from_zero():
    assert repr(sequential_sum(np.array([-0.0, -0.0]))) == "0.0"
    assert sequential_sum(np.zeros(0)) == 0.0
    v = np.array([1.0, 1e-16, 1e-16, -1.0])
    assert sequential_sum(v) == ((((0.0 + 1.0) + 1e-16) + 1e-16) - 1.0)


def test_solve_reports_the_built_lps_certificate(tmp_path):
    """End to end: the water-filling answer of a maxmin and a leximin round is the LP's
    (HiGHS forced), and the certificate it reports is certify's on the built LP of the
    same round, figure for figure."""
    rng = np.random.default_rng(3)
    n = 30
    need = rng.uniform(1.0, 5.0, n)
    own = need * rng.uniform(0.3, 1.2, n)
    inst = core_instance(tmp_path, own.round(3), need.round(3), np.full(n, 1000), 0.8, np.zeros(n),
                         np.full(n, np.inf), float(need.sum() * 0.4))
    for objective in ("maxmin", "leximin"):
        opts = SolveOptions(objective=objective, price_of_fairness=False)
        fast = solve(inst, opts)
        lp = solve(inst, replace(opts, fast_path=False))
        assert fast.summary["solved_by"].startswith("water-filling")
        np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-6)
        spec = objective_spec(objective)
        prep = prepare_round(inst, spec, opts)
        run = fast_core_run(prep.data, objective, prep.build, prep.hard, False)
        built = certify(_hard_lp(prep.data), run.first.x, run.first.row_dual)
        assert built.ok
        assert fast.summary["certificate"] == {"primal_violation": built.primal_violation,
                                               "dual_violation": built.dual_violation}


def test_a_zero_violation_is_reported_as_0():
    """numpy's max over -0.0 terms is -0.0: toy-3's summary.json said "dual_violation": -0.0;
    certify and its vectors report 0.0."""
    inst = load_instance(Path(__file__).resolve().parents[1] / "instances" / "toy-3")
    for objective in ("maxmin", "leximin", "min-range"):
        cert = solve(inst, SolveOptions(objective=objective)).summary["certificate"]
        assert cert == {"primal_violation": 0.0, "dual_violation": 0.0}
        assert "-" not in repr(cert["primal_violation"]) + repr(cert["dual_violation"])
