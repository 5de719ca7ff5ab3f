"""Batch runs: the Cartesian product of instances x scenarios x objectives x sweeps.

Inputs (plain data), never built models, cross process boundaries. Each finished run is
committed on its own, atomically, as ``<output>/runs/<run_id>.json`` (+ its allocation as
``<run_id>.arrow``, written first): a run is done exactly when its JSON exists. A batch
killed at any point (SIGKILL included) and started again skips the committed runs, so the
consolidated tables hold exactly the rows of an uninterrupted batch, in spec order.
Failures (infeasible, bad input, solver errors) are rows with a status, never an abort.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from optimizer import __version__
from optimizer.core.errors import EqualizeError, InfeasibleError, InputError, Problem, SolverError, UsageError
from optimizer.engine.highs import highs_version
from optimizer.io.writers import atomic_write_bytes, atomic_write_text

RUNS_DIR = "runs"


@dataclass(frozen=True)
class RunSpec:
    index: int                       # position in the spec's order
    instance: str                    # folder path
    instance_sha256: str
    scenario: str | None
    objective: str
    objective_options: dict[str, Any]
    budget: str | None               # as written in the spec: "1.2x" or a number as text
    threshold: float | None
    run_id: str = ""

    def parameters(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "objective": self.objective,
                "objective_options": self.objective_options, "budget": self.budget,
                "threshold": self.threshold}


@dataclass(frozen=True)
class BatchSpec:
    path: Path
    runs: list[RunSpec] = field(default_factory=list)


def _sweep_values(value: Any, key: str, file: str) -> list[Any]:
    """A list as is, or {from, to, points} expanded linearly ("0.5x" multiples allowed)."""
    if value is None:
        return [None]
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and {"from", "to", "points"} <= set(value):
        lo, hi, k = value["from"], value["to"], int(value["points"])
        mult = isinstance(lo, str) and str(lo).endswith("x")
        a = float(str(lo).rstrip("x")) if mult else float(lo)
        b = float(str(hi).rstrip("x")) if mult else float(hi)
        pts = np.linspace(a, b, k) if k > 1 else np.array([a])
        return [f"{p!r}x" if mult else float(p) for p in pts.tolist()]
    raise InputError([Problem(file, f"'sweep.{key}' must be a list or a table with from, to, points",
                              column=f"sweep.{key}")])


def parse_range(text: str) -> list[str]:
    """'0.5x:2x:20' -> 20 evenly spaced values, as budget strings."""
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"range '{text}' must be FROM:TO:POINTS, e.g. 0.5x:2x:20")
    try:
        values = _sweep_values({"from": parts[0], "to": parts[1], "points": int(parts[2])}, "range", "")
    except (ValueError, InputError):
        raise UsageError(f"range '{text}' must be FROM:TO:POINTS, e.g. 0.5x:2x:20") from None
    return [str(v) for v in values]


def _objectives(raw: Any, file: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            out.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
        else:
            raise InputError([Problem(file, f"objective entry {item!r} must be a name or a table "
                                            "with a name", column="objectives")])
    return out


def run_id(instance_sha: str, params: dict[str, Any]) -> str:
    blob = json.dumps({"instance": instance_sha, **params}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_spec(path: str | Path) -> BatchSpec:
    from optimizer.io.load import load_instance

    path = Path(path)
    file = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(file, "file is missing")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(file, f"TOML syntax error: {exc}")]) from None
    problems: list[Problem] = []
    patterns = raw.get("instances")
    if not isinstance(patterns, list) or not patterns:
        problems.append(Problem(file, "'instances' must be a non-empty list of paths or globs",
                                column="instances"))
        patterns = []
    folders: list[str] = []
    for pat in patterns:
        full = str((path.parent / pat)) if not Path(pat).is_absolute() else pat
        hits = sorted(glob.glob(full)) if any(c in pat for c in "*?[") else [full]
        if not hits:
            problems.append(Problem(file, f"pattern '{pat}' matches no instance folder", column="instances"))
        folders.extend(h for h in hits if h not in folders)
    if problems:
        raise InputError(problems)
    objectives = _objectives(raw.get("objectives", ["maxmin"]), file)
    scenarios = raw.get("scenarios", [None]) or [None]
    sweep = raw.get("sweep", {})
    budgets = [None if b is None else str(b) for b in _sweep_values(sweep.get("budget"), "budget", file)]
    thresholds = [None if t is None else float(t) for t in _sweep_values(sweep.get("threshold"), "threshold", file)]
    runs: list[RunSpec] = []
    seen: set[str] = set()
    for folder in folders:
        try:
            sha = load_instance(folder).sha256
        except InputError:
            sha = "unreadable:" + folder  # the run itself records the input problems
        for scenario in scenarios:
            scen = None if scenario in (None, "base") else scenario
            for name, options in objectives:
                for budget in budgets:
                    for threshold in thresholds:
                        spec = RunSpec(len(runs), folder, sha, scen, name, options, budget, threshold)
                        rid = run_id(sha, spec.parameters())
                        if rid in seen:
                            continue
                        seen.add(rid)
                        runs.append(dataclasses.replace(spec, run_id=rid))
    return BatchSpec(path, runs)


# ---- one run (executes in a worker process) ---------------------------------------

def _solve_options(run: RunSpec, inst) -> Any:
    from optimizer.engine.solve import SolveOptions
    from optimizer.core.budget import parse_budget

    kwargs: dict[str, Any] = dict(objective=run.objective, budget=parse_budget(run.budget, inst.budget),
                                  threshold=run.threshold)
    names = {f.name for f in dataclasses.fields(SolveOptions)}
    if run.objective_options and "objective_options" in names:
        kwargs["objective_options"] = run.objective_options
    if run.scenario is not None:
        if "scenario" not in names:
            raise UsageError(f"scenario '{run.scenario}': scenarios are not supported by this version")
        kwargs["scenario"] = run.scenario
    return SolveOptions(**kwargs)


_CACHE: dict[tuple[str, str], Any] = {}   # per worker process: (folder, sha256) -> Instance
_CACHE_SIZE = 8


def _instance(run: RunSpec):
    """The run's Instance, loaded once per worker: keyed by folder and the sha256 the spec
    recorded, so a folder edited after the spec was read is loaded again (and a cached
    copy is only reused when it is the content the run was planned for)."""
    from optimizer.io.load import load_instance

    key = (run.instance, run.instance_sha256)
    inst = _CACHE.get(key)
    if inst is None:
        inst = load_instance(run.instance)
        if inst.sha256 == run.instance_sha256:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = inst
    return inst


def execute_many(runs: list[RunSpec]) -> list[tuple[dict[str, Any], bytes | None]]:
    """A chunk of runs in one task (one round trip to the worker)."""
    return [execute(run) for run in runs]


def chunks(runs: list[RunSpec], jobs: int, max_size: int = 16) -> list[list[RunSpec]]:
    """Runs grouped by instance (spec order kept inside a group), cut into chunks of at
    most ``max_size`` and small enough that every worker gets several chunks."""
    by_inst: dict[str, list[RunSpec]] = {}
    for r in runs:
        by_inst.setdefault(r.instance, []).append(r)
    size = max(1, min(max_size, len(runs) // max(1, 4 * jobs)))
    return [g[i:i + size] for g in by_inst.values() for i in range(0, len(g), size)]


def execute(run: RunSpec) -> tuple[dict[str, Any], bytes | None]:
    """Solve one run; never raises for a problem of the run itself."""
    from optimizer.engine.solve import solve

    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": run.run_id, "index": run.index, "instance": run.instance,
        "instance_sha256": run.instance_sha256, "scenario": run.scenario or "base",
        "objective": run.objective,
        "parameters": json.dumps(run.parameters(), sort_keys=True, default=str),
        "status": None, "message": "",
        "solver_version": highs_version(), "equalize_version": __version__,
    }
    alloc: bytes | None = None
    try:
        inst = _instance(run)
        result = solve(inst, _solve_options(run, inst))
        s = result.summary
        row.update(status="optimal", objective_value=s["objective_value"], budget=s["budget"],
                   budget_used=s["budget_used"], required_budget=s["required_budget"],
                   build_seconds=s["build_seconds"], solve_seconds=s["solve_seconds"])
        row.update({f"after_{k}": v for k, v in s["metrics_after"].items()})
        row.update({f"before_{k}": v for k, v in s["metrics_before"].items()})
        pof = s.get("price_of_fairness")
        if isinstance(pof, dict):  # flat scalar columns keep parquet and CSV tidy
            row["price_of_fairness"] = pof.get("value")
            row["max_mean_level"] = pof.get("max_mean_level")
        alloc = _allocation_ipc(run.run_id, result.allocation)
    except InfeasibleError as exc:
        row.update(status="infeasible", message=str(exc), budget=exc.summary.get("budget"),
                   required_budget=exc.summary.get("required_budget"))
    except InputError as exc:
        row.update(status="bad_input", message=" | ".join(str(p) for p in exc.problems))
    except (UsageError, SolverError, EqualizeError) as exc:
        row.update(status="error", message=str(exc))
    except Exception as exc:  # a bug in one run must not kill a long batch; it is recorded
        row.update(status="error", message=f"{type(exc).__name__}: {exc}")
    row["wall_seconds"] = time.perf_counter() - t0
    return row, alloc


# ---- commit, resume, consolidate ---------------------------------------------------

ALLOC_COLUMNS = ("region_id", "transfer", "level_before", "level_after", "shortfall")
ALLOC_SUFFIX = ".arrow"   # Arrow IPC per run: ~10x cheaper to write than parquet for small tables


def _allocation_ipc(run_id: str, a: pd.DataFrame) -> bytes:
    import pyarrow as pa

    cols = {"run_id": pa.array([run_id] * len(a), pa.string())}
    for c in ALLOC_COLUMNS:
        v = a[c].to_numpy()
        cols[c] = pa.array(v.astype(object) if c == "region_id" else v.astype(float),
                           pa.string() if c == "region_id" else pa.float64())
    table = pa.table(cols)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _read_ipc(path: Path):
    import pyarrow as pa

    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_file(src).read_all()

def _valid(json_path: Path) -> bool:
    """A committed run: its JSON parses and, for an optimal run, its allocation file is there and
    non-empty (per-run files are renamed into place but not fsynced, see ``commit``)."""
    try:
        row = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return False
    if row.get("status") != "optimal":
        return True
    alloc = json_path.with_suffix(ALLOC_SUFFIX)
    return alloc.exists() and alloc.stat().st_size > 0


def committed(out: Path) -> set[str]:
    d = out / RUNS_DIR
    return {p.stem for p in d.glob("*.json") if _valid(p)} if d.exists() else set()


def commit(out: Path, row: dict[str, Any], alloc: bytes | None) -> None:
    """The allocation first, then the JSON that marks the run done; each by rename (atomic for a
    killed process). No fsync per run (it was a third of the batch time on small
    instances): after a power loss a run whose files did not reach the disk fails
    ``_valid`` and is recomputed; the consolidated tables are fsynced."""
    d = out / RUNS_DIR
    if alloc is not None:
        atomic_write_bytes(d / f"{row['run_id']}{ALLOC_SUFFIX}", alloc, fsync=False)
    atomic_write_text(d / f"{row['run_id']}.json", json.dumps(row, sort_keys=True, default=str), fsync=False)


TIMING_COLUMNS = ("build_seconds", "solve_seconds", "wall_seconds")


def consolidate(out: Path, spec: BatchSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """runs.parquet / runs.csv / allocations.parquet in spec order, written atomically."""
    d = out / RUNS_DIR
    rows = [json.loads((d / f"{r.run_id}.json").read_text()) for r in spec.runs
            if (d / f"{r.run_id}.json").exists()]
    runs = pd.DataFrame(rows)
    if not runs.empty:
        runs = runs.sort_values("index", kind="stable").reset_index(drop=True)
    import pyarrow as pa

    tables = [_read_ipc(d / f"{r['run_id']}{ALLOC_SUFFIX}") for r in rows
              if (d / f"{r['run_id']}{ALLOC_SUFFIX}").exists()]
    allocations = pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame(
        columns=["run_id", *ALLOC_COLUMNS])
    atomic_write_bytes(out / "runs.parquet", runs.to_parquet(index=False))
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False, lineterminator="\n"))
    atomic_write_bytes(out / "allocations.parquet", allocations.to_parquet(index=False))
    return runs, allocations


# ---- executors ----------------------------------------------------------------------

Progress = Callable[[dict[str, Any]], None]


def _local(runs: list[RunSpec], jobs: int) -> Iterator[tuple[dict[str, Any], bytes | None]]:
    if jobs <= 1:
        for run in runs:
            yield execute(run)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(execute_many, chunk) for chunk in chunks(runs, jobs)]
        for fut in as_completed(futures):
            yield from fut.result()


def _dask(runs: list[RunSpec], jobs: int, scheduler: str | None) -> Iterator[tuple[dict[str, Any], bytes | None]]:
    from distributed import Client, LocalCluster, as_completed

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(execute_many, chunks(runs, jobs), pure=False)
        for fut in as_completed(futures):
            yield from fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_batch(spec: BatchSpec, out: Path, jobs: int = 1, executor: str = "local",
              scheduler: str | None = None, resume: bool = True,
              progress: Progress | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    out.mkdir(parents=True, exist_ok=True)
    done = committed(out) if resume else set()
    todo = [r for r in spec.runs if r.run_id not in done]
    counts = {"total": len(spec.runs), "done": len(spec.runs) - len(todo), "failed": 0, "skipped": len(spec.runs) - len(todo)}
    if progress:
        progress(counts)
    if todo:
        stream: Iterable = _dask(todo, jobs, scheduler) if executor == "dask" else _local(todo, jobs)
        for row, alloc in stream:
            commit(out, row, alloc)
            counts["done"] += 1
            counts["failed"] += row["status"] != "optimal"
            if progress:
                progress(counts)
    return consolidate(out, spec)
