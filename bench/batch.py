"""Batch throughput: ``optimizer.studies.batch.run_batch`` (local pool and Dask LocalCluster, 2 workers)
against a raw highspy loop doing the same solves.

    python -m bench.batch --out bench/batch.md [--points 50] [--jobs 2]

Spec: instances/korea-17 x every objective x a budget sweep 0.5x..2x (POINTS points).
Raw loop (one process): per run, build the LP with models.build.build_lp on the scaled
data (the instance loaded once) and make the same HiGHS solves a single `solve` makes
for it: phase 1 and, where the objective breaks ties, the phase-2 re-solve (highspy
passModel / run / addRow / changeColsCost via optimizer.engine.highs.solve_lp); nothing else: no
metrics, no result table, no files. Sequence objectives (leximin, min-gini) solve only
their first LP, and maxmin/leximin, which the project answers by certified water-filling
without HiGHS, still get their LP solved: both flatter the raw loop.
ratio = batch wall time per run / raw loop time per run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _spec(folder: Path, points: int, objectives: list[str]) -> Path:
    p = folder / "spec.toml"
    objs = ", ".join(f'"{o}"' for o in objectives)
    p.write_text(f'instances = ["{ROOT / "instances" / "korea-17"}"]\nobjectives = [{objs}]\n'
                 f'[sweep]\nbudget = {{ from = "0.5x", to = "2x", points = {points} }}\n')
    return p


def raw_loop(spec) -> tuple[float, int]:
    from dataclasses import replace

    from models.build import build_lp
    from models.objectives import get_objective
    from optimizer.core.budget import parse_budget
    from optimizer.core.scaling import money_scale, round_data, to_region_data
    from optimizer.engine.highs import solve_lp
    from optimizer.io.load import load_instance

    inst = load_instance(spec.runs[0].instance)
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    scale = money_scale(need)
    t0 = time.perf_counter()
    solved = 0
    for run in spec.runs:
        o = get_objective(run.objective)
        rd = round_data(inst, parse_budget(run.budget, inst.budget), run.threshold)
        data = replace(to_region_data(inst, rd, scale), options={"soft_thresholds": o.soft_thresholds})
        lp = build_lp(data, run.objective)
        first, _ = solve_lp(lp, o.algorithm, lp.col_block("transfer").slice if o.tie_break else None)
        solved += first.status == "optimal"
    return time.perf_counter() - t0, solved


def timed_batch(spec, out: Path, jobs: int, executor: str) -> tuple[float, float, dict]:
    """Wall time, and the steady-state time per run: from the first committed run to the
    last (worker start-up and the final consolidation are one-off costs, not per run)."""
    from optimizer.studies.batch import run_batch

    shutil.rmtree(out, ignore_errors=True)
    stamps: list[float] = []
    t0 = time.perf_counter()
    runs, _ = run_batch(spec, out, jobs=jobs, executor=executor,
                        progress=lambda c: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - t0
    steady = (stamps[-1] - stamps[1]) / max(1, len(stamps) - 2) if len(stamps) > 2 else wall
    return wall, steady, runs["status"].value_counts().to_dict()


def main(argv: list[str] | None = None) -> int:
    from models.objectives import OBJECTIVES
    from optimizer.io.writers import atomic_write_text
    from optimizer.studies.batch import load_spec

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/batch.md"))
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--executors", default="local,dask")
    args = ap.parse_args(argv)
    objectives = list(OBJECTIVES)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_spec(_spec(Path(tmp), args.points, objectives))
        n = len(spec.runs)
        raw_s, raw_ok = raw_loop(spec)
        print(f"raw loop: {n} runs in {raw_s:.2f}s ({raw_ok} optimal)", flush=True)
        for ex in args.executors.split(","):
            wall, steady, counts = timed_batch(spec, Path(tmp) / f"out-{ex}", args.jobs, ex)
            rows.append((ex, wall, steady, counts))
            print(f"{ex}: {n} runs in {wall:.2f}s {counts}", flush=True)
    raw_per = raw_s / n
    lines = [
        "# Batch throughput on korea-17",
        "",
        f"Spec: instances/korea-17 x {len(objectives)} objectives ({', '.join(objectives)}) x "
        f"{args.points}-point budget sweep 0.5x..2x = {n} runs. {args.jobs} workers; "
        f"python {platform.python_version()}, {os.cpu_count()} cores shared with other jobs "
        "(timings indicative). Reproduce: `python -m bench.batch --out bench/batch.md`.",
        "",
        "| route | wall s | runs/s | wall per run | ratio to raw (wall) | steady per run | "
        "ratio to raw (steady) | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        f"| raw highspy loop (1 process) | {raw_s:.2f} | {n / raw_s:.1f} | {raw_per * 1e3:.2f} ms | 1.0 | "
        f"{raw_per * 1e3:.2f} ms | 1.0 | {raw_ok} optimal |",
    ]
    for ex, wall, steady, counts in rows:
        label = f"run_batch, {ex}, {args.jobs} workers"
        st = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        lines.append(f"| {label} | {wall:.2f} | {n / wall:.1f} | {wall / n * 1e3:.2f} ms | "
                     f"{wall / n / raw_per:.1f}x | {steady * 1e3:.2f} ms | {steady / raw_per:.1f}x | {st} |")
    lines += ["", "steady per run = time from the first committed run to the last / runs in between: "
              "the per-run cost once workers are up (start-up and the final consolidation are "
              "one-off costs). ratio = batch time per run / raw loop time per run. The batch wall includes "
              "process (or cluster) start, per-run commit (Arrow IPC + JSON, atomic rename, no per-run fsync) and "
              "the consolidation; each batch run also does what `solve` does and the raw loop "
              "does not: the tie-break re-solve, the price-of-fairness max-mean solve, metrics, "
              "post-solve checks, full leximin / min-gini sequences.", ""]
    atomic_write_text(args.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
