"""Shared helpers of the policy/group/scenario tests: in-memory instances, real HiGHS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.core.errors import InfeasibleError
from optimizer.core.groups import Group
from optimizer.core.instance import Instance
from optimizer.core.policy import PolicyConfig
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round, solve
from tests.run_folder_helpers import equalize

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy-3"
KOREA = ROOT / "instances" / "korea-17"


def make_instance(own, need, prior=None, pop=None, budget=60.0, threshold=0.5, thresholds=None,
                  path: Path = Path("/nonexistent-equalize-instance"), groups: list[Group] = ()) -> Instance:
    n = len(own)
    frame = pd.DataFrame({
        "region_id": [f"r{i}" for i in range(n)], "name": [f"R{i}" for i in range(n)],
        "population": np.asarray(pop if pop is not None else [100] * n, dtype=np.int64),
        "own_revenue": np.asarray(own, dtype=float), "fiscal_need": np.asarray(need, dtype=float),
        "threshold": np.asarray(thresholds if thresholds is not None else [np.nan] * n, dtype=float),
        "prior_transfer": np.asarray(prior if prior is not None else [np.nan] * n, dtype=float),
        "min_transfer": np.full(n, np.nan), "max_transfer": np.full(n, np.nan), "weight": np.full(n, np.nan),
    })
    return Instance(path=path, name="mem", unit="KRW billion", budget=float(budget),
                    threshold=float(threshold), regions=frame, groups=list(groups))


def toy(**kw) -> Instance:
    """toy-3 in memory: own 20/60/90, need 100 each, prior 40/10/0, pop 100/200/100."""
    return make_instance([20, 60, 90], [100, 100, 100], prior=[40, 10, 0], pop=[100, 200, 100], **kw)


def run(inst: Instance, objective: str = "maxmin", engine: str = "direct", **policy):
    return solve(inst, SolveOptions(objective=objective, engine=engine, policy=PolicyConfig(**policy)))


def transfers(result) -> np.ndarray:
    return result.allocation["transfer"].to_numpy(dtype=float)


def fast_and_lp(inst: Instance, **opts):
    """(default solve, the LP of record with the fast paths off) of one round, or (None, None)
    when the LP finds it infeasible, in which case the default solve must say so too."""
    try:
        lp = solve(inst, SolveOptions(fast_path=False, **opts))
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            solve(inst, SolveOptions(**opts))
        return None, None
    return solve(inst, SolveOptions(**opts)), lp


def diagnosis_and_min_cost_lp(inst: Instance, policy: PolicyConfig):
    """(the maxmin round's diagnosis, HiGHS on the min-cost LP with the fast paths off), or
    (None, None) when the LP is infeasible, in which case preparing the round must say so too."""
    opts = SolveOptions(objective="maxmin", policy=policy, price_of_fairness=False)
    try:
        lp = solve(inst, SolveOptions(objective="min-cost", policy=policy, price_of_fairness=False, fast_path=False))
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            prepare_round(inst, objective_spec("maxmin"), opts)
        return None, None
    return prepare_round(inst, objective_spec("maxmin"), opts).diag, lp


def agree_by_value(fast, lp, path: str, rel: float) -> bool:
    """Same value (within ``rel``) and no more spending, for a policy path whose optimum need
    not be unique; True when the fast path ``path`` answered, with its certificate."""
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=rel, abs=1e-9)
    if path not in fast.summary.get("solved_by", ""):
        return False
    cert = fast.summary["certificate"]
    assert cert["primal_violation"] <= 1e-7 and cert["dual_violation"] <= 1e-7
    assert fast.summary["budget_used"] <= lp.summary["budget_used"] * (1 + 1e-9) + 1e-6
    return True


def cli_fast_and_lp(tmp_path: Path, objective: str) -> dict[str, dict]:
    """summary.json of the installed CLI's default solve ("fast") and of --no-fast-path ("lp")
    on `equalize generate --regions 400 --seed 3` with hold-harmless 0.9, no-overtaking and
    --thresholds auto (the policy paths' CLI round)."""
    folder = tmp_path / "g"
    assert equalize("generate", "--regions", "400", "--seed", "3", folder).returncode == 0
    outs = {}
    for name, extra in (("fast", []), ("lp", ["--no-fast-path"])):
        done = equalize("solve", folder, "-o", objective, "--hold-harmless", "0.9", "--no-overtaking",
                        "--thresholds", "auto", "-O", tmp_path / name, *extra)
        assert done.returncode == 0, done.stderr
        outs[name] = json.loads((tmp_path / name / "summary.json").read_text())
    return outs

