"""Batch runs: same rows whatever the executor or worker count, failures recorded as
rows, and a batch SIGKILLed mid-way resumes to exactly the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.io.generate import generate
from optimizer.studies.batch import TIMING_COLUMNS, load_spec, run_batch
from tests.conftest import INSTANCES, write_instance


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.drop(columns=[c for c in TIMING_COLUMNS if c in runs.columns]).reset_index(drop=True)


@pytest.fixture
def spec(tmp_path) -> Path:
    bad = write_instance(tmp_path / "bad", [{"region_id": "a", "name": "A", "population": 1,
                                             "own_revenue": 1, "fiscal_need": "x"}])
    p = tmp_path / "spec.toml"
    p.write_text(f'instances = ["{INSTANCES / "korea-17"}", "{INSTANCES / "toy-3"}", "{bad}"]\n'
                 'objectives = ["maxmin", "min-shortfall", "min-cost"]\n'
                 '[sweep]\nbudget = { from = "0.8x", to = "1.4x", points = 4 }\n')
    return p


def test_spec_expansion_and_failures(spec, tmp_path):
    batch = load_spec(spec)
    assert len(batch.runs) == 3 * 3 * 4
    assert len({r.run_id for r in batch.runs}) == len(batch.runs)
    runs, allocs = run_batch(batch, tmp_path / "out", jobs=1)
    assert list(runs["index"]) == list(range(36))
    assert set(runs.status) == {"optimal", "infeasible", "bad_input"}
    bad = runs[runs.status == "bad_input"]
    assert len(bad) == 12 and bad.message.str.contains("column 'fiscal_need'").all()
    ok = runs[runs.status == "optimal"]
    assert set(allocs.run_id) == set(ok.run_id)
    # a run equals an independent single solve through the CLI
    row = ok[(ok.objective == "maxmin") & ok.instance.str.endswith("toy-3")].iloc[0]
    budget = json.loads(row.parameters)["budget"]
    single = CliRunner().invoke(main, ["solve", str(INSTANCES / "toy-3"), "--budget", budget, "--format", "json"])
    assert json.loads(single.output)["summary"]["objective_value"] == pytest.approx(row.objective_value, rel=1e-12)


def test_jobs_1_equals_jobs_2(spec, tmp_path):
    one, a1 = run_batch(load_spec(spec), tmp_path / "one", jobs=1)
    two, a2 = run_batch(load_spec(spec), tmp_path / "two", jobs=2)
    pd.testing.assert_frame_equal(comparable(one), comparable(two))
    pd.testing.assert_frame_equal(a1, a2)
    assert (tmp_path / "one" / "runs.csv").exists()


@pytest.mark.slow
def test_dask_equals_local(spec, tmp_path):
    local, _ = run_batch(load_spec(spec), tmp_path / "local", jobs=1)
    dask, _ = run_batch(load_spec(spec), tmp_path / "dask", jobs=2, executor="dask")
    pd.testing.assert_frame_equal(comparable(local), comparable(dask))


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    g = generate(3000, seed=5)
    inst = tmp_path / "gen"
    inst.mkdir()
    g.regions.to_csv(inst / "regions.csv", index=False)
    (inst / "instance.toml").write_text(g.toml)
    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = ["{inst}", "{INSTANCES / "korea-17"}"]\n'
                    'objectives = ["maxmin", "min-shortfall"]\n'
                    '[sweep]\nbudget = { from = "0.9x", to = "1.5x", points = 12 }\n')
    exe = Path(sys.executable).with_name("equalize")
    out = tmp_path / "killed"
    proc = subprocess.Popen([str(exe), "batch", str(spec), "--output", str(out), "--jobs", "2", "--quiet"],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def finished() -> int:
        return len(list((out / "runs").glob("*.json"))) if (out / "runs").exists() else 0

    deadline = time.time() + 120
    while finished() < 5 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list((out / "runs").glob("*.json")))
    assert 0 < partial < 48, "the batch must be killed mid-way"
    assert not (out / "runs.parquet").exists()
    res = subprocess.run([str(exe), "batch", str(spec), "--output", str(out), "--jobs", "2", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    resumed = pd.read_parquet(out / "runs.parquet")
    clean, _ = run_batch(load_spec(spec), tmp_path / "clean", jobs=2)
    assert len(resumed) == 48 and resumed.run_id.is_unique
    pd.testing.assert_frame_equal(comparable(resumed), comparable(clean))
    a_resumed = pd.read_parquet(out / "allocations.parquet")
    a_clean = pd.read_parquet(tmp_path / "clean" / "allocations.parquet")
    pd.testing.assert_frame_equal(a_resumed, a_clean)
