"""Running a batch: the pending runs go to a local process pool or a Dask cluster in chunks
(grouped by instance); the parent commits each run as it arrives, then consolidates."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.core.result import SOLVED_STATUSES
from optimizer.studies.batch.execute import execute, execute_many
from optimizer.studies.batch.lock import output_lock
from optimizer.studies.batch.spec import BatchSpec, RunSpec
from optimizer.studies.batch.storage import clean_temporaries, commit, committed_runs, consolidate
from optimizer.studies.batch.workers import watch_parent

MAX_JOBS = 256   # worker processes of one batch (--jobs)
FAILED_STATUSES = ("bad_input", "error")   # neither solved nor a (legitimate) infeasible answer
Outcome = tuple[dict[str, Any], bytes | None]


@dataclass
class Counts:
    """Progress of a batch; runs committed by an earlier (resumed) batch count by status too."""
    total: int
    done: int = 0
    solved: int = 0
    infeasible: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, status: str) -> None:
        self.done += 1
        if status in SOLVED_STATUSES:
            self.solved += 1
        elif status == "infeasible":
            self.infeasible += 1
        else:
            self.errors += 1


Progress = Callable[[Counts], None]


def chunks(runs: list[RunSpec], jobs: int, max_size: int = 16) -> list[list[RunSpec]]:
    """Runs grouped by instance (spec order kept inside a group), cut into chunks of at
    most ``max_size`` and small enough that every worker gets several chunks."""
    by_inst: dict[str, list[RunSpec]] = {}
    for r in runs:
        by_inst.setdefault(r.instance, []).append(r)
    size = max(1, min(max_size, len(runs) // max(1, 4 * jobs)))
    return [g[i:i + size] for g in by_inst.values() for i in range(0, len(g), size)]


def _local(runs: list[RunSpec], jobs: int) -> Iterator[Outcome]:
    if jobs <= 1:
        for run in runs:
            yield execute(run)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    work = chunks(runs, jobs)
    workers = min(jobs, MAX_JOBS, len(work))   # never more processes than chunks to give them
    with ProcessPoolExecutor(max_workers=workers, initializer=watch_parent, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(execute_many, chunk) for chunk in work]
        for fut in as_completed(futures):
            yield from fut.result()


def _dask(runs: list[RunSpec], jobs: int, scheduler: str | None) -> Iterator[Outcome]:
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


Notice = Callable[[str], None]


def _damage_notice(run: RunSpec, reason: str) -> str:
    budget = f", budget {run.budget}" if run.budget is not None else ""
    return (f"run {run.index} ({run.run_id}: {run.instance}, {run.objective}{budget}) was damaged: {reason}; "
            "recomputing it")


def run_batch(spec: BatchSpec, out: Path, jobs: int = 1, executor: str = "local",
              scheduler: str | None = None, resume: bool = True,
              progress: Progress | None = None, notice: Notice | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the spec's pending runs into ``out`` (one batch per folder: ``output_lock``), then
    consolidate. ``notice`` gets one line per damaged run found on resume."""
    jobs = max(1, min(jobs, MAX_JOBS))
    with output_lock(out):
        clean_temporaries(out)
        done, damaged = committed_runs(out, spec) if resume else ({}, [])
        for run, reason in damaged:
            if notice:
                notice(_damage_notice(run, reason))
        todo = [r for r in spec.runs if r.run_id not in done]
        counts = Counts(total=len(spec.runs), skipped=len(done))
        for row in done.values():
            counts.add(row["status"])
        if progress:
            progress(counts)
        if todo:
            stream: Iterable[Outcome] = _dask(todo, jobs, scheduler) if executor == "dask" else _local(todo, jobs)
            for row, alloc in stream:
                commit(out, row, alloc)
                counts.add(row["status"])
                if progress:
                    progress(counts)
        return consolidate(out, spec)
