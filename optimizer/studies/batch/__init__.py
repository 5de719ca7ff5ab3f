"""Batch runs: the Cartesian product of instances x scenarios x objectives x sweeps.

Inputs (plain data), never built models, cross process boundaries. spec.py expands the
TOML spec into runs; execute.py solves one run in a worker; storage.py commits each run
atomically (resume) and consolidates the tables; runner.py drives the executors.
Failures (infeasible, bad input, solver errors) are rows with a status, never an abort.
"""

from optimizer.studies.batch.execute import ALLOC_COLUMNS, execute
from optimizer.studies.batch.runner import FAILED_STATUSES, MAX_JOBS, Counts, chunks, run_batch
from optimizer.studies.batch.spec import BatchSpec, RunSpec, load_spec, run_id
from optimizer.studies.batch.storage import TIMING_COLUMNS, check_run, commit, committed, committed_runs, consolidate

__all__ = ["ALLOC_COLUMNS", "execute", "FAILED_STATUSES", "MAX_JOBS", "Counts", "chunks", "run_batch",
           "BatchSpec", "RunSpec", "load_spec", "run_id", "TIMING_COLUMNS", "check_run", "commit",
           "committed", "committed_runs", "consolidate"]
