"""`make bench` (issue 14): the Lorenz-type objectives in every threshold mode at 2,000 regions.

    python -m bench.threshold_modes --out bench/threshold_modes.md [--seeds 0,1] [--cap 120]

The target: min-gini, owa, cvar, min-range and leximin within 2x `equalize solve -o maxmin`
on the same instance and in the same threshold mode (hard, soft, auto; soft also with
``--scarcity shortfall-first``), on ``equalize generate --regions 2000 --seed S`` with the
budget at 1.1x the least budget meeting every threshold (reachable) and at 0.8x (scarce:
hard is then infeasible by construction and is not run). Each run is `equalize solve` end
to end in a fresh process, as in bench/ratios.py (whose measuring and reading it reuses).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from bench.ratios import EQUALIZE, ROOT, fmt_ratio, solve_run

WORK = ROOT / "bench" / "work" / "threshold_modes"
REGIONS = 2000
OBJECTIVES = ["maxmin", "leximin", "min-range", "min-gini", "owa", "cvar"]
MODES = {"hard": ["--thresholds", "hard"], "soft": ["--thresholds", "soft"],
         "soft, shortfall-first": ["--thresholds", "soft", "--scarcity", "shortfall-first"],
         "auto": ["--thresholds", "auto"]}
SHARES = (1.1, 0.8)
TARGET = 2.0


def instance(seed: int, share: float) -> Path:
    folder = WORK / f"n{REGIONS}-s{seed}-b{share:g}"
    if not (folder / "regions.csv").exists():
        subprocess.run([EQUALIZE, "generate", "--regions", str(REGIONS), "--seed", str(seed),
                        "--budget-share", f"{share:g}", str(folder)], check=True, capture_output=True)
    return folder


def cells(r: dict, ref: dict | None, cap: float) -> list[str]:
    if r["timed_out"]:
        return [f"> {cap:.0f} s", "-", "-", "-", "-", "-"]
    if r["code"] != 0:
        return ["-", "-", "-", "-", r.get("path", f"exit {r['code']}"), "-"]
    ratio = fmt_ratio(r, ref)
    met = "-" if ratio == "-" else "yes" if r["seconds"] <= TARGET * ref["seconds"] else "NO"
    return [f"{r['seconds']:.2f}", f"{r['peak_mb']:.0f}", ratio, met, r.get("path", "-"), r.get("certificate", "-")]


def table(seed: int, share: float, cap: float) -> tuple[list[str], int]:
    folder = instance(seed, share)
    lines = [f"## {REGIONS:,} regions, seed {seed}, budget {share:g}x the least meeting every threshold", "",
             "| objective | mode | seconds | peak MB | vs maxmin (same mode) | within 2x | path | certificate |",
             "|---|---|---|---|---|---|---|---|"]
    solve_run(folder, "maxmin", [], cap)   # warm the file and import caches (bench/ratios.py)
    missed = 0
    for mode, flags in MODES.items():
        if mode == "hard" and share < 1:
            continue   # infeasible by construction: exit 1 with the diagnosis, nothing to time
        ref = None
        for name in OBJECTIVES:
            r = solve_run(folder, name, flags, cap)
            ref = r if name == "maxmin" else ref
            row = cells(r, ref, cap)
            missed += row[3] == "NO" or row[0].startswith(">")
            print(seed, share, mode, name, *row, flush=True)
            lines.append("| " + " | ".join([name, mode, *row]) + " |")
        lines.append("")
    return lines, missed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "threshold_modes.md"))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--cap", type=float, default=120.0)
    a = ap.parse_args(argv)
    load = os.getloadavg()[0]
    lines = ["# Every threshold mode at 2,000 regions against maxmin (issue 14)", "",
             f"`python -m bench.threshold_modes --seeds {a.seeds} --cap {a.cap:g}` (`make bench`). "
             f"Target: each objective within {TARGET:g}x maxmin in the same mode, same instance, same run. "
             "Each run is `equalize solve` end to end in a fresh process (every default kept); "
             "peak memory is the child's maximum RSS.", "",
             f"Machine: {os.cpu_count()} cores, load average {load:.1f} at start.", ""]
    missed = 0
    for seed in (int(s) for s in a.seeds.split(",")):
        for share in SHARES:
            rows, miss = table(seed, share, a.cap)
            lines += rows
            missed += miss
            Path(a.out).write_text("\n".join(lines) + "\n")
    lines.append(f"Rows past the {TARGET:g}x target or the cap: {missed}.")
    Path(a.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
