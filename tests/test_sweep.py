"""equalize sweep: every point equals an independent solve; infeasible points are rows;
CLI end to end with atomic outputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.core.errors import InfeasibleError
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.generate import generate
from optimizer.io.load import load_instance
from optimizer.studies.sweep import parse_values, sweep, write_sweep
from tests.conftest import INSTANCES


@pytest.fixture(scope="module")
def gen500(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gen500")
    g = generate(500, seed=3)
    (folder / "regions.csv").write_text(g.regions.to_csv(index=False, lineterminator="\n"))
    (folder / "instance.toml").write_text(g.toml)
    return folder


CASES = [("maxmin", True, "fast-path"), ("maxmin", False, "persistent"),
         ("min-shortfall", True, "fast-path"), ("min-shortfall", False, "persistent"),
         ("min-cost", True, "persistent"), ("min-gini", True, "fast-path"), ("owa", True, "fast-path"),
         ("cvar", False, "persistent"), ("min-range", True, "fast-path")]


@pytest.mark.parametrize("objective,fast_path,mode", CASES)
@pytest.mark.parametrize("which", ["korea", "gen500"])
def test_sweep_equals_independent_solves(objective, fast_path, mode, which, gen500):
    inst = load_instance(INSTANCES / "korea-17" if which == "korea" else gen500)
    budgets = parse_values("0.5x:2x:7", inst.budget, "budget")
    thresholds = [None, 0.85] if which == "korea" else [None]
    sw = sweep(inst, budgets, thresholds, objective=objective, fast_path=fast_path)
    assert sw.mode == mode
    points = [(t, b) for t in thresholds for b in budgets]
    assert len(sw.frontier) == len(points)
    statuses = set()
    for (thr, bud), (_, row) in zip(points, sw.frontier.iterrows()):
        try:
            ref = solve(inst, SolveOptions(objective=objective, budget=bud, threshold=thr,
                                           fast_path=fast_path, price_of_fairness=False))
        except InfeasibleError as exc:
            assert row.status == "infeasible"
            assert row.message == exc.summary["diagnosis"]
            statuses.add("infeasible")
            continue
        statuses.add("optimal")
        assert row.status == "optimal"
        s = ref.summary
        assert row.objective_value == pytest.approx(s["objective_value"], rel=1e-7, abs=1e-9)
        assert row.budget_used == pytest.approx(s["budget_used"], rel=1e-7)
        assert row.gini == pytest.approx(s["metrics_after"]["gini"], rel=1e-7, abs=1e-9)
        assert row.regions_below_threshold == s["metrics_after"]["regions_below_threshold"]
        got = sw.allocations[sw.allocations.point == row.point]
        assert list(got.region_id) == list(ref.allocation.region_id)
        tol = 1e-6 * max(1.0, float(np.abs(ref.allocation.transfer).max()))
        np.testing.assert_allclose(got.transfer.to_numpy(), ref.allocation.transfer.to_numpy(), atol=tol)
    if objective != "min-shortfall":
        assert statuses == {"optimal", "infeasible"}   # 0.5x is below the hard-threshold cost


def test_rebuild_mode_for_sequences():
    inst = load_instance(INSTANCES / "korea-17")
    budgets = parse_values("0.9x:1.5x:3", inst.budget, "budget")
    assert sweep(inst, budgets, objective="min-gini").mode == "fast-path"    # bare core
    assert sweep(inst, budgets, objective="min-gini", fast_path=False).mode == "rebuild"
    assert sweep(inst, budgets, objective="leximin", fast_path=False).mode == "rebuild"
    # log-welfare's exact KKT path on the bare core; its tangent LP (budget-dependent grid) rebuilds
    assert sweep(inst, budgets, objective="log-welfare").mode == "fast-path"
    assert sweep(inst, budgets, objective="log-welfare", fast_path=False).mode == "rebuild"


def test_cli_end_to_end(tmp_path):
    out = tmp_path / "sw"
    r = CliRunner().invoke(main, ["sweep", str(INSTANCES / "korea-17"), "--budget", "0.5x:2x:5",
                                  "--threshold", "0.85:0.95:2", "--objective", "maxmin",
                                  "--no-fast-path", "--output", str(out), "--plot"])
    assert r.exit_code == 0, r.output
    assert "mode: persistent" in r.output and "infeasible" in r.output
    frontier = pd.read_csv(out / "frontier.csv")
    assert len(frontier) == 10 and set(frontier.status) == {"optimal", "infeasible"}
    allocs = pd.read_parquet(out / "allocations.parquet")
    assert set(allocs.point) == set(frontier.point[frontier.status == "optimal"])
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def test_cli_usage_errors(tmp_path):
    r = CliRunner().invoke(main, ["sweep", str(INSTANCES / "korea-17"), "--budget", "0.5x:2x"])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["sweep", str(INSTANCES / "korea-17"), "--plot"])
    assert r.exit_code == 2


def test_outputs_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the previous files intact and no temp files."""
    inst = load_instance(INSTANCES / "korea-17")
    sw = sweep(inst, parse_values("0.8x:1.2x:3", inst.budget, "budget"), objective="min-shortfall")
    write_sweep(sw, tmp_path)
    before = (tmp_path / "frontier.csv").read_bytes()
    import optimizer.io.writers as w

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(w.os, "fsync", boom)
    with pytest.raises(OSError):
        write_sweep(sw, tmp_path)
    assert (tmp_path / "frontier.csv").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["allocations.parquet", "frontier.csv", "run.json"]
    assert w.check_run(tmp_path) == []      # the previous run, complete
