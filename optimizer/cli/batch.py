"""``equalize batch``: many solves from a TOML spec, with a progress line."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
import pandas as pd

from optimizer.cli.common import reported_errors
from optimizer.core.errors import EqualizeError
from optimizer.studies.batch import FAILED_STATUSES, MAX_JOBS, Counts, load_spec, run_batch


class ProgressLine:
    """One self-overwriting stderr line: done/total, solved, infeasible, errors, elapsed, ETA."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.start_done: int | None = None

    def __call__(self, c: Counts) -> None:
        if not self.enabled:
            return
        if self.start_done is None:
            self.start_done = c.done
        elapsed = time.perf_counter() - self.t0
        new = c.done - self.start_done
        eta = f"{elapsed / new * (c.total - c.done):,.0f}s" if new else "?"
        width = 30
        fill = int(width * c.done / max(1, c.total))
        sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {c.done}/{c.total} done: {c.solved} solved, "
                         f"{c.infeasible} infeasible, {c.errors} errors; {elapsed:,.0f}s elapsed, ETA {eta}   ")
        if c.done == c.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


@click.command("batch")
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--output", "-O", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for runs.parquet, runs.csv, allocations.parquet (and runs/ per run).")
@click.option("--jobs", "-j", type=click.IntRange(min=1, max=MAX_JOBS), default=min(MAX_JOBS, os.cpu_count() or 1),
              show_default=True, help=f"Worker processes (HiGHS runs single-threaded in each), at most {MAX_JOBS}.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", help="Address of a running Dask scheduler (with --executor dask); "
              "without it a LocalCluster with --jobs workers is started.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip runs already committed in the output folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def batch_cmd(spec: Path, output: Path, jobs: int, executor: str, scheduler, resume: bool, quiet: bool):
    """Run the Cartesian product of instances x scenarios x objectives x sweeps in SPEC.

    \b
    Example spec (TOML):
      instances  = ["instances/korea-17", "bench/work/gen-*"]
      objectives = ["maxmin", "min-shortfall"]
      [sweep]
      budget    = { from = "0.5x", to = "2x", points = 20 }
      threshold = [0.85, 0.9]
    Example:
      equalize batch study.toml --output out/study --jobs 2
    A killed batch resumes where it stopped: finished runs are never lost or repeated.
    """
    with reported_errors():
        batch = load_spec(spec)
        show = not quiet and sys.stderr.isatty()
        try:
            runs, _ = run_batch(batch, output, jobs=jobs, executor=executor, scheduler=scheduler,
                                resume=resume, progress=ProgressLine(show),
                                notice=lambda line: click.echo(f"notice: {line}", err=True))
        except OSError as exc:   # a failed write: exit 1; the committed runs stay for a resume
            raise EqualizeError(f"cannot write the batch into {output}: {exc.strerror or exc} "
                                f"({exc.filename or output})") from None
        click.echo(_summary_line(runs, output))
        if not runs.empty and runs["status"].isin(FAILED_STATUSES).all():
            raise EqualizeError(f"all {len(runs)} runs failed (no run solved or was infeasible); "
                                f"see the message column of {output / 'runs.csv'}")


def _summary_line(runs: pd.DataFrame, output: Path) -> str:
    counts = runs["status"].value_counts().to_dict() if not runs.empty else {}
    return (f"{len(runs)} runs: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
            + f"; results in {output}")
