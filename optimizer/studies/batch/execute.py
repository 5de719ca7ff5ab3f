"""One run of a batch, executed in a worker process: plain inputs in, a row (dict) and the
allocation (Arrow IPC bytes) out. Never raises for a problem of the run itself."""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd

from optimizer.core.budget import parse_budget
from optimizer.core.errors import EqualizeError, InfeasibleError, InputError, SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.core.version import SCHEMA_VERSION, __version__
from optimizer.engine.highs import highs_version
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from optimizer.prepare.scenarios import prepare
from optimizer.studies.batch.spec import RunSpec

ALLOC_COLUMNS = ("region_id", "population", "own_revenue", "fiscal_need", "threshold", "transfer",
                 "level_before", "level_after", "shortfall")

_CACHE: dict[tuple[str, str], Instance] = {}   # per worker process: (folder, sha256) -> Instance
_CACHE_SIZE = 8


def cached_instance(run: RunSpec) -> Instance:
    """The run's Instance, loaded once per worker: keyed by folder and the sha256 the spec
    recorded, so a folder edited after the spec was read is loaded again (and a cached
    copy is only reused when it is the content the run was planned for)."""
    key = (run.instance, run.instance_sha256)
    inst = _CACHE.get(key)
    if inst is None:
        inst = load_instance(run.instance)
        if inst.sha256 == run.instance_sha256:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = inst
    return inst


def run_instance(run: RunSpec) -> Instance:
    """The instance the run solves: the scenario applied as ``equalize solve --scenario`` does."""
    inst = cached_instance(run)
    return inst if run.scenario is None else prepare(inst, scenario=run.scenario)


def solve_options(run: RunSpec, inst: Instance) -> SolveOptions:
    return SolveOptions(objective=run.objective, budget=parse_budget(run.budget, inst.budget),
                        threshold=run.threshold, objective_options=run.objective_options or None)


def allocation_ipc(run_id: str, a: pd.DataFrame) -> bytes:
    import pyarrow as pa

    cols = {"schema_version": pa.array([SCHEMA_VERSION] * len(a), pa.int64()),
            "run_id": pa.array([run_id] * len(a), pa.string())}
    for c in ALLOC_COLUMNS:
        v = a[c].to_numpy()
        cols[c] = pa.array(v.astype(object) if c == "region_id" else v.astype(float),
                           pa.string() if c == "region_id" else pa.float64())
    table = pa.table(cols).replace_schema_metadata({"run_id": run_id})   # checked on resume
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _base_row(run: RunSpec) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "run_id": run.run_id, "index": run.index, "instance": run.instance,
            "instance_sha256": run.instance_sha256, "scenario": run.scenario or "base",
            "objective": run.objective, "threshold": run.threshold,
            "parameters": json.dumps(run.parameters(), sort_keys=True, default=str),
            "status": None, "message": "",
            "solver_version": highs_version(), "equalize_version": __version__}


def _solved_figures(result: Result) -> dict[str, Any]:
    s = result.summary
    after = s["metrics_after"]
    row = {"status": result.status, "effective_threshold": s["threshold_default"],
           "objective_value": s["objective_value"], "budget": s["budget"],
           "budget_used": s["budget_used"],
           "required_budget": s["required_budget"], "min_level": after["min_level"], "gini": after["gini"],
           "regions_below_threshold": after["regions_below_threshold"],
           "build_seconds": s["build_seconds"], "solve_seconds": s["solve_seconds"]}
    row.update({f"after_{k}": v for k, v in after.items()})
    row.update({f"before_{k}": v for k, v in s["metrics_before"].items()})
    pof = s.get("price_of_fairness")
    if isinstance(pof, dict):  # the solve's own figure; flat scalar columns keep parquet and CSV tidy
        row["price_of_fairness"] = pof.get("value")
        row["max_mean_level"] = pof.get("max_mean_level")
    return row


def execute(run: RunSpec) -> tuple[dict[str, Any], bytes | None]:
    """Solve one run; never raises for a problem of the run itself."""
    t0 = time.perf_counter()
    row = _base_row(run)
    alloc: bytes | None = None
    try:
        inst = run_instance(run)
        result = solve(inst, solve_options(run, inst))
        row.update(_solved_figures(result))
        alloc = allocation_ipc(run.run_id, result.allocation)
    except InfeasibleError as exc:
        row.update(status="infeasible", message=str(exc), budget=exc.summary.get("budget"),
                   effective_threshold=exc.summary.get("threshold_default"),
                   required_budget=exc.summary.get("required_budget"))
    except InputError as exc:
        row.update(status="bad_input", message=" | ".join(str(p) for p in exc.problems))
    except (UsageError, SolverError, EqualizeError) as exc:
        row.update(status="error", message=str(exc))
    except Exception as exc:  # a bug in one run must not kill a long batch; it is recorded
        row.update(status="error", message=f"{type(exc).__name__}: {exc}")
    effective = row.pop("effective_threshold", None)
    if row["threshold"] is None:  # the instance's own default: the key says what was solved
        row["threshold"] = effective
    row["wall_seconds"] = time.perf_counter() - t0
    return row, alloc


def execute_many(runs: list[RunSpec]) -> list[tuple[dict[str, Any], bytes | None]]:
    """A chunk of runs in one task (one round trip to the worker)."""
    return [execute(run) for run in runs]
