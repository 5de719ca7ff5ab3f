"""Where a batch keeps its results. Each finished run is committed on its own, atomically, as
``<output>/runs/<run_id>.json`` (+ its allocation as ``<run_id>.arrow``, written first): a run
is done when its JSON row is this run's and, for an optimal run, its allocation matches the
sha256 the row recorded and carries the run_id in its schema metadata (``check_run``); a damaged
or foreign run is removed and recomputed on resume. ``consolidate`` writes the tables of the
whole batch in spec order, keys and headline figures first."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.core.result import SOLVED_STATUSES
from optimizer.io.writers import atomic_write_bytes, atomic_write_text
from optimizer.studies.batch.execute import ALLOC_COLUMNS
from optimizer.studies.batch.spec import BatchSpec, RunSpec

RUNS_DIR = "runs"
TABLE_NAMES = ("runs.parquet", "runs.csv", "allocations.parquet")
STATUSES = (*SOLVED_STATUSES, "infeasible", "bad_input", "error")
CHECKSUM_KEY = "allocation_sha256"   # in the run's JSON row; dropped from the consolidated tables
ALLOC_SUFFIX = ".arrow"   # Arrow IPC per run: ~10x cheaper to write than parquet for small tables
TIMING_COLUMNS = ("build_seconds", "solve_seconds", "wall_seconds")
KEY_COLUMNS = ("schema_version", "run_id", "instance", "scenario", "objective", "budget", "threshold")
HEADLINE_COLUMNS = ("status", "objective_value", "budget_used", "required_budget", "min_level", "gini",
                    "regions_below_threshold", "price_of_fairness")


def read_ipc(path: Path):
    import pyarrow as pa

    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_file(src).read_all()


def allocation_damage(data: bytes, run_id: str, checksum: Any) -> str:
    """Why these allocation bytes are not run ``run_id``'s committed allocation ("" if they are):
    the sha256 its JSON row recorded, then the run_id in the Arrow schema metadata and column."""
    import pyarrow as pa

    if not isinstance(checksum, str):
        return "its row records no allocation checksum (written by an older version?)"
    if hashlib.sha256(data).hexdigest() != checksum:
        return "its allocation file does not match the checksum its row recorded"
    try:
        table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    except (pa.ArrowException, OSError, ValueError):
        return "its allocation file is not an Arrow file"
    meta = table.schema.metadata or {}
    if meta.get(b"run_id") != run_id.encode() or set(table.column("run_id").to_pylist()) - {run_id}:
        return "its allocation file belongs to another run"
    return ""


def check_run(d: Path, run_id: str) -> tuple[dict[str, Any] | None, str]:
    """(row, "") for a soundly committed run, (None, "") for a run never committed, and
    (None, reason) for a damaged or foreign one (its JSON and allocation cross-checked)."""
    json_path = d / f"{run_id}.json"
    if not json_path.exists():
        return None, ""
    try:
        row = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "its JSON row does not parse"
    if not isinstance(row, dict) or row.get("run_id") != run_id:
        return None, "its JSON row is not this run's"
    if row.get("status") not in STATUSES:
        return None, "its JSON row has no valid status"
    if row["status"] not in SOLVED_STATUSES:
        return row, ""
    try:
        data = (d / f"{run_id}{ALLOC_SUFFIX}").read_bytes()
    except OSError:
        return None, "its allocation file is missing"
    reason = allocation_damage(data, run_id, row.get(CHECKSUM_KEY))
    return (None, reason) if reason else (row, "")


def committed_runs(out: Path, spec: BatchSpec) -> tuple[dict[str, dict[str, Any]], list[tuple[RunSpec, str]]]:
    """The spec's soundly committed runs (run_id -> row) and its damaged ones with the reason;
    a damaged run's files are removed, so it is recomputed and never read."""
    d = out / RUNS_DIR
    rows: dict[str, dict[str, Any]] = {}
    damaged: list[tuple[RunSpec, str]] = []
    for run in spec.runs:
        row, reason = check_run(d, run.run_id)
        if row is not None:
            rows[run.run_id] = row
        elif reason:
            damaged.append((run, reason))
            for suffix in (".json", ALLOC_SUFFIX):
                (d / f"{run.run_id}{suffix}").unlink(missing_ok=True)
    return rows, damaged


def committed(out: Path, spec: BatchSpec) -> set[str]:
    return set(committed_runs(out, spec)[0])


def clean_temporaries(out: Path) -> list[Path]:
    """Remove the temporary files of writes a killed batch left (``.<name>.<random>.tmp`` of
    atomic_write_bytes): every one in runs/, and those of the consolidated tables."""
    stale = [p for p in (out / RUNS_DIR).glob(".*.tmp") if p.is_file()] if (out / RUNS_DIR).is_dir() else []
    stale += [p for name in TABLE_NAMES for p in out.glob(f".{name}.*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def commit(out: Path, row: dict[str, Any], alloc: bytes | None) -> None:
    """The allocation first, then the JSON that marks the run done (with the allocation's sha256);
    each by rename (atomic for a killed process). No fsync per run (it was a third of the batch
    time on small instances): after a power loss a run whose files did not reach the disk fails
    ``check_run`` and is recomputed; the consolidated tables are fsynced."""
    d = out / RUNS_DIR
    if alloc is not None:
        row = {**row, CHECKSUM_KEY: hashlib.sha256(alloc).hexdigest()}
        atomic_write_bytes(d / f"{row['run_id']}{ALLOC_SUFFIX}", alloc, fsync=False)
    atomic_write_text(d / f"{row['run_id']}.json", json.dumps(row, sort_keys=True, default=str), fsync=False)


def ordered_columns(columns: list[str]) -> list[str]:
    """Keys, then headline figures, then the rest in alphabetical order (stable across runs)."""
    first = [c for c in (*KEY_COLUMNS, *HEADLINE_COLUMNS) if c in columns]
    return first + sorted(c for c in columns if c not in first)


def runs_table(out: Path, spec: BatchSpec) -> pd.DataFrame:
    """The committed rows in spec order: ``index`` is the run's position in this spec (a run
    committed under an earlier version of the spec keeps its row, not its old position)."""
    rows = []
    for run in spec.runs:
        row, _ = check_run(out / RUNS_DIR, run.run_id)
        if row is not None:
            row.pop(CHECKSUM_KEY, None)
            rows.append({**row, "index": run.index})
    runs = pd.DataFrame(rows)
    if runs.empty:
        return runs
    runs = runs.sort_values("index", kind="stable").reset_index(drop=True)
    return runs[ordered_columns(list(runs.columns))]


def allocations_table(out: Path, run_ids: list[str]) -> pd.DataFrame:
    """The allocations of these (optimal) runs, in this order, without the per-run metadata."""
    import pyarrow as pa

    d = out / RUNS_DIR
    tables = [read_ipc(d / f"{rid}{ALLOC_SUFFIX}").replace_schema_metadata(None) for rid in run_ids]
    if not tables:
        return pd.DataFrame(columns=["schema_version", "run_id", *ALLOC_COLUMNS])
    return pa.concat_tables(tables).to_pandas()


def consolidate(out: Path, spec: BatchSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """runs.parquet / runs.csv / allocations.parquet in spec order, written atomically."""
    runs = runs_table(out, spec)
    solved = list(runs.loc[runs["status"].isin(SOLVED_STATUSES), "run_id"]) if not runs.empty else []
    allocations = allocations_table(out, solved)
    atomic_write_bytes(out / "runs.parquet", runs.to_parquet(index=False))
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False, lineterminator="\n"))
    atomic_write_bytes(out / "allocations.parquet", allocations.to_parquet(index=False))
    return runs, allocations
