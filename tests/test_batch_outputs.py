"""What a batch writes: scenario runs, the column order and schema version of runs.csv /
runs.parquet / allocations.parquet, budget labels, the progress counts and the exit code
of a batch where nothing could be solved."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.cli.batch import ProgressLine
from optimizer.studies.batch import Counts, load_spec, run_batch
from tests.conftest import INSTANCES, write_instance

KOREA = INSTANCES / "korea-17"


def test_scenario_run_equals_solve_with_the_scenario(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = ["{KOREA}"]\nscenarios = ["base", "busan-gyeongnam-merger", "chungcheong-union"]\n'
                    'objectives = ["maxmin"]\n')
    runs, allocs = run_batch(load_spec(spec), tmp_path / "out", jobs=1)
    assert list(runs.scenario) == ["base", "busan-gyeongnam-merger", "chungcheong-union"]
    assert list(runs.status) == ["optimal"] * 3, list(runs.message)
    for name in ("busan-gyeongnam-merger", "chungcheong-union"):
        rid = runs.loc[runs.scenario == name, "run_id"].iloc[0]
        mine = allocs[allocs.run_id == rid].reset_index(drop=True)
        res = CliRunner().invoke(main, ["solve", str(KOREA), "--scenario", name, "-o", "maxmin", "--format", "csv"])
        assert res.exit_code == 0, res.output
        single = pd.read_csv(io.StringIO(res.stdout), dtype={"region_id": str})
        assert list(mine.region_id) == list(single.region_id)
        for col in ("transfer", "level_after", "population", "own_revenue", "fiscal_need", "threshold"):
            assert mine[col].to_numpy() == pytest.approx(single[col].to_numpy(), rel=1e-12, abs=1e-9), col
    assert runs.loc[runs.scenario == "busan-gyeongnam-merger", "run_id"].isin(allocs.run_id).all()
    assert (allocs.groupby("run_id").size()[runs.run_id].tolist()) == [17, 16, 17]


def test_columns_keys_first_schema_version_and_labels(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = ["{INSTANCES / "toy-3"}"]\nobjectives = ["maxmin"]\n'
                    '[sweep]\nbudget = { from = "0.8x", to = "1.4x", points = 4 }\n')
    batch = load_spec(spec)
    assert [r.budget for r in batch.runs] == ["0.8x", "1x", "1.2x", "1.4x"]
    out = tmp_path / "out"
    run_batch(batch, out, jobs=1)
    header = next(csv.reader((out / "runs.csv").open()))
    assert header[:7] == ["schema_version", "run_id", "instance", "scenario", "objective", "budget", "threshold"]
    assert header[7:15] == ["status", "objective_value", "budget_used", "required_budget", "min_level", "gini",
                            "regions_below_threshold", "price_of_fairness"]
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns) == header and set(runs.schema_version) == {1}
    assert runs.threshold.notna().all()
    assert all("1.2000000000000002" not in p for p in runs.parameters)
    allocs = pd.read_parquet(out / "allocations.parquet")
    assert list(allocs.columns) == ["schema_version", "run_id", "region_id", "population", "own_revenue",
                                    "fiscal_need", "threshold", "transfer", "level_before", "level_after",
                                    "shortfall"]
    assert set(allocs.schema_version) == {1}
    # the headline price of fairness is the solve's own figure
    single = json.loads(CliRunner().invoke(main, ["solve", str(INSTANCES / "toy-3"), "--budget", "1x",
                                                  "--format", "json"]).output)["summary"]
    row = runs[runs.parameters.str.contains('"1x"')].iloc[0]
    assert row.price_of_fairness == pytest.approx(single["price_of_fairness"]["value"], rel=1e-12)


def test_progress_counts_infeasible_apart_from_errors(tmp_path, capsys):
    bad = write_instance(tmp_path / "bad", [{"region_id": "a", "name": "A", "population": 1,
                                             "own_revenue": 1, "fiscal_need": "x"}])
    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = ["{INSTANCES / "toy-3"}", "{bad}"]\nobjectives = ["min-cost"]\n'
                    '[sweep]\nthreshold = [0.5, 0.8]\n')   # toy-3 at 0.8 needs 80 > 60: infeasible
    seen: list[Counts] = []
    run_batch(load_spec(spec), tmp_path / "out", jobs=1, progress=lambda c: seen.append(Counts(**vars(c))))
    last = seen[-1]
    assert (last.done, last.solved, last.infeasible, last.errors) == (4, 1, 1, 2)
    ProgressLine(True)(last)
    line = capsys.readouterr().err
    assert "1 solved" in line and "1 infeasible" in line and "2 errors" in line


def test_batch_where_every_run_failed_exits_non_zero(tmp_path):
    bad = write_instance(tmp_path / "bad", [{"region_id": "a", "name": "A", "population": 1,
                                             "own_revenue": 1, "fiscal_need": "x"}])
    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = ["{bad}"]\nobjectives = ["maxmin", "min-cost"]\n')
    res = CliRunner().invoke(main, ["batch", str(spec), "--output", str(tmp_path / "out"), "--jobs", "1", "-q"])
    assert res.exit_code == 1
    assert "all 2 runs failed" in res.output
    assert (tmp_path / "out" / "runs.csv").exists()   # the failures are still recorded
    # an infeasible answer is a result, not a failure
    spec.write_text(f'instances = ["{INSTANCES / "toy-3"}"]\nobjectives = ["min-cost"]\n[sweep]\nthreshold = [0.8]\n')
    res = CliRunner().invoke(main, ["batch", str(spec), "--output", str(tmp_path / "o2"), "--jobs", "1", "-q"])
    assert res.exit_code == 0, res.output
