"""The real Korean instance: data integrity and a solve checked against the raw file."""

from __future__ import annotations

import csv

import pytest

from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance


def test_korea17_data(korea17):
    inst = load_instance(korea17)
    assert inst.n == 17
    assert int(inst.regions.population.sum()) == 51_325_329   # MOIS resident registration, end-2023
    assert inst.regions.own_revenue.sum() == pytest.approx(127_211.25, abs=0.01)
    assert any("ESTIMATE" in s for s in inst.sources)


@pytest.mark.parametrize("objective", ["maxmin", "min-shortfall", "min-cost"])
def test_korea17_solution_holds_on_original_data(korea17, objective):
    inst = load_instance(korea17)
    r = solve(inst, SolveOptions(objective=objective))
    with open(korea17 / "regions.csv", encoding="utf-8") as fh:
        raw = {row["region_id"]: row for row in csv.DictReader(fh)}
    total = 0.0
    for row in r.allocation.itertuples():
        own, need = float(raw[row.region_id]["own_revenue"]), float(raw[row.region_id]["fiscal_need"])
        assert row.transfer >= 0
        assert (own + row.transfer) / need >= inst.threshold - 1e-9
        total += row.transfer
    assert total <= inst.budget + 1e-6
    assert r.summary["required_budget"] <= inst.budget
