"""min-mad on the bare core (optimizer/fast/mad_path.py): the one-dimensional search over the
mean, certified on the LP of record, against HiGHS on that LP (hypothesis); the structure it
relies on (regions above the mean keep their least transfer; V(m) non-increasing); the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.build import build_lp
from models.data import RegionData
from optimizer.core.levels import least_transfer
from optimizer.engine.highs import solve_lp
from optimizer.fast.mad_path import mad_point, mad_run

ROOT = Path(__file__).resolve().parents[1]
EQUALIZE = str(Path(sys.executable).parent / "equalize")


@st.composite
def rounds(draw, n_max: int = 12):
    n = draw(st.integers(1, n_max))

    def arr(lo, hi):
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)))
    own, need, w = arr(0.0, 5.0), arr(0.2, 5.0), arr(0.0, 1.0) + 1e-3
    thr = arr(0.0, 1.0) * np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    t_min = arr(0.0, 0.3) * np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    t_max = np.array(draw(st.lists(st.one_of(st.just(np.inf), st.floats(0.3, 4.0)), min_size=n, max_size=n)))
    c = least_transfer(thr, own, need, t_min)
    thr = np.where(c > t_max, 0.0, thr)
    c = least_transfer(thr, own, need, t_min)
    budget = float(c.sum()) + draw(st.floats(0.0, 8.0))
    return RegionData(own, need, thr, w / w.sum(), t_min, t_max, budget, {"soft_thresholds": False})


def lp_of_record(d: RegionData):
    lp = build_lp(d, "min-mad")
    first, second = solve_lp(lp, "simplex", lp.col_block("transfer").slice)
    assert first.status == "optimal"
    return lp, first, second


@settings(max_examples=200, deadline=None)
@given(rounds())
def test_certified_and_equal_to_highs(d):
    run = mad_run(d, build_lp)
    assert run is not None                      # the certificate is met on every random round
    lp, first, second = lp_of_record(d)
    assert run.first.objective == pytest.approx(first.objective, abs=1e-7)
    t = run.first.x[run.layout["transfer"]]
    assert t.sum() <= d.budget + 1e-9
    # least spending among optima: never more than HiGHS's tie-broken answer
    t_h = (second or first).x[lp.layout()["transfer"]]
    assert t.sum() <= t_h.sum() + 1e-6


@settings(max_examples=100, deadline=None)
@given(rounds())
def test_structure_above_the_mean_keeps_its_least_transfer(d):
    t, m = mad_point(d)
    level = (d.own + t) / d.need
    mu = float(np.dot(d.weight, level))
    assert mu == pytest.approx(m, abs=1e-9)
    c = np.minimum(least_transfer(d.threshold, d.own, d.need, d.t_min), d.t_max)
    above = level > mu + 1e-9
    np.testing.assert_allclose(t[above], c[above], atol=1e-12)
    assert np.all(level[t > c + 1e-12] <= mu + 1e-9)   # nobody is lifted past the mean


def test_hand_solved_two_regions():
    # equal weights, need 1, own (0, 2), budget 1: lift region 0 by 1 -> levels (1, 2), mean 1.5,
    # MAD = 0.5 (region 0 gains 1 unit of level, half of it shows in the mean)
    d = RegionData(np.array([0.0, 2.0]), np.ones(2), np.zeros(2), np.full(2, 0.5), np.zeros(2),
                   np.full(2, np.inf), 1.0, {"soft_thresholds": False})
    run = mad_run(d, build_lp)
    np.testing.assert_allclose(run.first.x[run.layout["transfer"]], [1.0, 0.0], atol=1e-12)
    assert run.first.objective == pytest.approx(0.5)


def test_budget_left_when_everyone_reaches_the_mean():
    # own (0, 2), budget 5: lifting region 0 to 2 costs 2 and gives MAD 0; the rest stays unspent
    d = RegionData(np.array([0.0, 2.0]), np.ones(2), np.zeros(2), np.full(2, 0.5), np.zeros(2),
                   np.full(2, np.inf), 5.0, {"soft_thresholds": False})
    run = mad_run(d, build_lp)
    np.testing.assert_allclose(run.first.x[run.layout["transfer"]], [2.0, 0.0], atol=1e-12)
    assert run.first.objective == pytest.approx(0.0, abs=1e-12)


def test_cli_korea17_fast_equals_lp(tmp_path):
    out = {}
    for name, extra in (("fast", []), ("lp", ["--no-fast-path"])):
        subprocess.run([EQUALIZE, "solve", str(ROOT / "instances" / "korea-17"), "-o", "min-mad",
                        "-O", str(tmp_path / name), *extra], check=True, capture_output=True)
        out[name] = json.loads((tmp_path / name / "summary.json").read_text())
    assert "mad_path" in out["fast"]["solved_by"]
    assert out["fast"]["objective_value"] == pytest.approx(out["lp"]["objective_value"], abs=1e-9)


@pytest.mark.slow
def test_1e5_generated_instance(tmp_path):
    inst = tmp_path / "gen"
    subprocess.run([EQUALIZE, "generate", "--regions", "100000", "--seed", "0", str(inst)], check=True,
                   capture_output=True)
    subprocess.run([EQUALIZE, "solve", str(inst), "-o", "min-mad", "-O", str(tmp_path / "out")],
                   check=True, capture_output=True)
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["status"] == "optimal" and "mad_path" in s["solved_by"]
    assert s["certificate"]["dual_violation"] <= 1e-7 and s["verified"]["ok"]
