"""Every objective: the project's solve path against the same LP handed straight to highspy.

    python -m bench.objectives_raw --out bench/objectives_raw.md [--sizes 1e4,1e5,1e6] [--timeout 240]

For each objective and size, two fresh processes on generate(n, seed=1) (budget 1.1x the
gap, so hard thresholds hold):
- arrays -> highspy: the LP arrays built by models.build.build_lp (the vectorised twin,
  whose identity with the Pyomo model of record is tested, and with an independent raw
  build for maxmin/min-shortfall in bench/raw_highspy.py), passModel + run, nothing else;
- project, LP only: optimizer.engine.solve.solve with tie_break, price_of_fairness and fast_path
  off (the same single LP), including scaling, diagnosis, result table, metrics, checks.
- project, default path (second table, objectives in FAST): what `equalize solve` runs —
  the certified closed form / threshold decomposition on the bare core, tie-break on —
  run at every size even when arrays->highspy timed out (ratio then "< t / timeout").
ratio = project / arrays->highspy (time, and peak memory = VmHWM of each process).
Loading the instance is excluded from both. Objectives that are a sequence of LPs
(leximin, min-gini) are reported for the project path only. When arrays->highspy times
out at a size, larger sizes are not run for that objective.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
SINGLE_LP = ["min-cost", "max-mean", "min-range", "min-mad", "owa", "cvar", "log-welfare"]
SEQUENCES = ["leximin", "min-gini"]
# objectives with a certified structure-exploiting path on the bare core (optimizer/fastpath.py)
FAST = ["maxmin", "leximin", "min-shortfall", "min-gini", "owa", "cvar", "min-range"]

_CHILD = r"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
kind, name, folder = sys.argv[1], sys.argv[2], sys.argv[3]
from optimizer.io.load import load_instance
inst = load_instance(Path(folder))
def peak():
    return [int(l.split()[1]) / 1024.0 for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
if kind == "raw":
    from models.build import build_lp
    from models.objectives import get_objective
    from optimizer.engine.highs import make_highs, to_highs_lp
    from optimizer.core.scaling import money_scale, round_data, to_region_data
    spec = get_objective(name)
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    t0 = time.perf_counter()
    data = to_region_data(inst, round_data(inst), money_scale(need))
    data = replace(data, options={"soft_thresholds": spec.soft_thresholds})
    lp = build_lp(data, name)
    t1 = time.perf_counter()
    h = make_highs(spec.algorithm)
    h.passModel(to_highs_lp(lp))
    h.run()
    t2 = time.perf_counter()
    value = h.getInfo().objective_function_value
    if spec.objective_unit == "money":
        value *= money_scale(need)   # the project reports money objectives in the instance unit
    out = {"build": t1 - t0, "solve": t2 - t1, "total": t2 - t0, "value": value}
else:
    from optimizer.engine.solve import SolveOptions, solve
    t0 = time.perf_counter()
    default = kind == "default"   # what `equalize solve` does (fast path, tie-break), no price of fairness
    r = solve(inst, SolveOptions(objective=name, tie_break=default, price_of_fairness=False,
                                 fast_path=default or name in ("leximin",)))
    s = r.summary
    out = {"build": s["build_seconds"], "solve": s["solve_seconds"], "total": time.perf_counter() - t0,
           "value": s["objective_value"]}
out["peak_mb"] = peak()
print(json.dumps(out))
"""


def _instance(n: int) -> Path:
    from optimizer.io.generate import generate
    from optimizer.io.writers import atomic_write_text

    folder = WORK / f"gen-{n}-s1-b1.1"
    if not (folder / "regions.csv").exists() or not (folder / "instance.toml").exists():
        g = generate(n, seed=1, budget_share=1.1)
        atomic_write_text(folder / "regions.csv", g.regions.to_csv(index=False, lineterminator="\n"))
        atomic_write_text(folder / "instance.toml", g.toml)
    return folder


def _run(kind: str, name: str, folder: Path, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        p = subprocess.run([sys.executable, "-c", _CHILD, kind, name, str(folder)], capture_output=True,
                           text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        return {"skipped": "failed: " + ((p.stderr.strip().splitlines() or ["?"])[-1])[:100]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from optimizer.io.writers import atomic_write_text

    ap = argparse.ArgumentParser(prog="python -m bench.objectives_raw", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench/objectives_raw.md"))
    ap.add_argument("--sizes", default="1e4,1e5,1e6")
    ap.add_argument("--objectives", default=",".join(SINGLE_LP + SEQUENCES))
    ap.add_argument("--timeout", type=float, default=240.0)
    a = ap.parse_args(argv)
    sizes = [int(float(x)) for x in a.sizes.split(",")]
    lines = [
        "# Every objective: project path vs the same LP straight to highspy", "",
        f"{os.cpu_count()} cores (shared), python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Reproduce: `python -m bench.objectives_raw`. "
        "See the module docstring for what each path includes.", "",
        "| objective | n | arrays->highspy total s | project total s | ratio time | arrays->highspy MB | "
        "project MB | ratio memory | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    raw_seen: dict[tuple[str, int], dict] = {}
    for name in a.objectives.split(","):
        stop = False
        for n in sizes:
            if stop:
                raw_seen[(name, n)] = {"skipped": "not run: smaller size timed out"}
                lines.append(f"| {name} | {n:.0e} | - | - | - | - | - | - | not run: smaller size timed out |")
                continue
            folder = _instance(n)
            raw = ({"skipped": "sequence of LPs: no single raw LP"} if name in SEQUENCES
                   else _run("raw", name, folder, a.timeout))
            raw_seen[(name, n)] = raw
            if "skipped" in raw and name not in SEQUENCES:
                stop = True
                lines.append(f"| {name} | {n:.0e} | - | - | - | - | - | - | arrays->highspy {raw['skipped']}; "
                             "project not run (same LP, same HiGHS options) |")
                print(lines[-1], file=sys.stderr, flush=True)
                continue
            proj = _run("project", name, folder, a.timeout)
            if "skipped" in proj:
                stop = name in SEQUENCES
                lines.append(f"| {name} | {n:.0e} | {raw.get('total', float('nan')):.2f} | - | - | "
                             f"{raw.get('peak_mb', float('nan')):.0f} | - | - | project {proj['skipped']} |")
            elif "skipped" in raw:
                lines.append(f"| {name} | {n:.0e} | - | {proj['total']:.2f} | - | - | {proj['peak_mb']:.0f} | - | "
                             f"{raw['skipped']} |")
            else:
                agree = abs(proj["value"] - raw["value"]) <= 1e-6 * max(1.0, abs(raw["value"]))
                verdict = ("LP value vs the true welfare the project reports" if name == "log-welfare"
                           else ("agrees" if agree else "DIFFERS"))
                lines.append(f"| {name} | {n:.0e} | {raw['total']:.2f} | {proj['total']:.2f} | "
                             f"{proj['total'] / raw['total']:.2f} | {raw['peak_mb']:.0f} | {proj['peak_mb']:.0f} | "
                             f"{proj['peak_mb'] / raw['peak_mb']:.2f} | objective {verdict} "
                             f"({proj['value']:.10g}) |")
            print(lines[-1], file=sys.stderr, flush=True)
            atomic_write_text(a.out, "\n".join(lines) + "\n")
    fast_lines = ["", "## Default path (certified structure-exploiting solve, `equalize solve` defaults)", "",
                  "| objective | n | arrays->highspy total s | project default total s | ratio time | "
                  "project default MB | objective |", "|---|---:|---:|---:|---:|---:|---|"]
    for name in [o for o in a.objectives.split(",") if o in FAST]:
        for n in sizes:
            folder = _instance(n)
            raw = raw_seen.get((name, n), {"skipped": "not run"})
            proj = _run("default", name, folder, a.timeout)
            if "skipped" in proj:
                fast_lines.append(f"| {name} | {n:.0e} | - | - | - | - | default path {proj['skipped']} |")
            else:
                if "total" in raw:
                    rt, ratio = f"{raw['total']:.2f}", f"{proj['total'] / raw['total']:.3f}"
                elif "timed out" in raw.get("skipped", ""):
                    rt, ratio = f"> {a.timeout:.0f}", f"< {proj['total'] / a.timeout:.3f}"
                else:
                    rt, ratio = "-", "-"
                fast_lines.append(f"| {name} | {n:.0e} | {rt} | {proj['total']:.2f} | {ratio} | "
                                  f"{proj['peak_mb']:.0f} | {proj['value']:.10g} |")
            print(fast_lines[-1], file=sys.stderr, flush=True)
            atomic_write_text(a.out, "\n".join(lines + fast_lines) + "\n")
    atomic_write_text(a.out, "\n".join(lines + fast_lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
