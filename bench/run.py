"""`make bench`: the project's path against the same LP built directly in highspy.

For each objective and size, a generated instance (optimizer.io.generate, seed 1) is
written to bench/work/, then every measurement runs in a fresh subprocess so that the
peak RSS (VmHWM) belongs to that run alone:

    raw          bench.raw_highspy: pandas.read_csv + numpy CSC arrays + highspy passModel
    direct       optimizer.io.load.load_instance + optimizer.engine.solve.solve, default options
                 (tie-break phase, price-of-fairness max-mean solve, certified water-filling
                 fast path for maxmin)
    direct-notb  "LP only": SolveOptions(tie_break=False, price_of_fairness=False,
                 fast_path=False): the like-for-like LP through HiGHS
    pyomo        the same through engine="pyomo": the Pyomo model of record through
                 Pyomo's appsi HiGHS interface

"total s" is everything after loading (build + solve + reading the result back, for the
project also the metrics and the allocation table); "load s" is reported separately.
Ratios are against the raw row of the same objective and size.

    python -m bench.run --out bench/results.md [--sizes 1e3,1e4] [--objectives maxmin]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
MARK = "@@BENCH@@ "
KINDS = ("raw", "direct", "direct-notb", "pyomo")
LABEL = {"raw": "raw highspy", "direct": "direct, defaults",
         "direct-notb": "direct, LP only", "pyomo": "pyomo appsi, LP only"}


# --- worker (runs in the subprocess) ----------------------------------------------

def _peak_mb() -> float:
    # VmHWM is this process's own peak RSS. ru_maxrss is not: Linux carries the parent's
    # peak over fork+exec, so a child of a bench process that generated a 1e6-region
    # instance reported that size whatever it did itself.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _worker(kind: str, objective: str, folder: str) -> dict:
    if kind == "raw":
        import pandas  # noqa: F401  (imports are outside the timings, as for the project)

        from bench import raw_highspy as raw
        t0 = time.perf_counter()
        d = raw.read_instance(folder)
        load = time.perf_counter() - t0
        r = raw.solve(objective, **d)
        total = time.perf_counter() - t0 - load
        return {"load": load, "build": r["build_seconds"], "solve": r["solve_seconds"], "total": total,
                "status": r["status"].lower(), "objective_value": r["objective_value"]}
    from optimizer.engine.solve import SolveOptions, solve
    from optimizer.io.load import load_instance
    t0 = time.perf_counter()
    inst = load_instance(folder)
    load = time.perf_counter() - t0
    extra = {}
    if kind != "direct":   # only the LP: no max-mean LP, no closed-form shortcut
        fields = SolveOptions.__dataclass_fields__
        extra = {k: False for k in ("price_of_fairness", "fast_path") if k in fields}
    opts = SolveOptions(objective=objective, tie_break=kind == "direct",
                        engine="pyomo" if kind == "pyomo" else "direct", **extra)
    res = solve(inst, opts)
    total = time.perf_counter() - t0 - load
    s = res.summary
    return {"load": load, "build": s["build_seconds"], "solve": s["solve_seconds"], "total": total,
            "status": s["status"], "objective_value": s["objective_value"]}


def _worker_main(kind: str, objective: str, folder: str) -> None:
    out = _worker(kind, objective, folder)
    out["peak_mb"] = _peak_mb()
    sys.stdout.flush()
    print(MARK + json.dumps(out), flush=True)


# --- driver -----------------------------------------------------------------------

def _instance(n: int, budget_share: float) -> Path:
    from optimizer.io.generate import generate
    from optimizer.io.writers import atomic_write_text

    folder = WORK / f"gen-{n}-s1-b{budget_share:g}"
    if not (folder / "regions.csv").exists() or not (folder / "instance.toml").exists():
        g = generate(n, seed=1, budget_share=budget_share)
        atomic_write_text(folder / "regions.csv", g.regions.to_csv(index=False, lineterminator="\n"))
        atomic_write_text(folder / "instance.toml", g.toml)
    return folder


def _measure(kind: str, objective: str, folder: Path, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "bench.run", "--worker", kind, "--objective", objective, str(folder)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run kills the child it started
        return {"skipped": f"timed out after {timeout:g} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith(MARK)]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": f"failed (exit {p.returncode}): {tail[:160]}"}
    out = json.loads(lines[-1][len(MARK):])
    out["wall"] = time.perf_counter() - t0
    return out


def _fmt(x, digits=2) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"


def _machine() -> str:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 ** 2:.1f} GB RAM"
    except OSError:
        pass
    import highspy
    import pyomo.version
    hv = f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"Machine: {os.cpu_count()} cores, {mem}, {platform.machine()} "
            f"(load average {load:.2f} at start; the machine is shared, timings are noisy) | "
            f"python {platform.python_version()}, highspy {hv}, pyomo {pyomo.version.version} | "
            f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}")


def _table(header: str, rows: list[dict], notes: list[str]) -> str:
    cols = ["objective", "n", "path", "load s", "build s", "solve s", "total s", "peak MB",
            "ratio time", "ratio memory", "ratio time incl. load", "objective value / note"]
    out = ["# equalize benchmark", "", header, "",
           "Instances: optimizer.io.generate.generate(n, seed=1, budget_share=b): b = 0.8 for "
           "min-shortfall (the budget covers 80% of the gap to the 0.9 threshold, so its optimum "
           "is positive), b = 1.1 for maxmin (hard thresholds must be met). "
           "total s = build + solve + reading the result back (the project: also metrics and the "
           "allocation table), after loading; load s is separate (project: load_instance with all "
           "checks; raw: pandas.read_csv). Ratios are against raw highspy on the same objective and "
           "size; each measurement is a fresh process (peak MB = its VmHWM, the process's own peak "
           "RSS). HiGHS options as "
           "the project: threads=1, ipm for min-shortfall, simplex for maxmin. "
           "'direct, defaults' = SolveOptions() (tie-break phase, skipped when the budget binds for "
           "every optimum; price-of-fairness max-mean (closed form on the bare core); "
           "certified water-filling fast path for maxmin); "
           "'LP only' = tie_break, price_of_fairness and fast_path off: the like-for-like LP through "
           "HiGHS. A row not run after raw highspy timed out is the same LP with the same HiGHS options.", "",
           "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    raw = {(r["objective"], r["n"]): r for r in rows if r["kind"] == "raw" and "skipped" not in r}
    for r in rows:
        base = raw.get((r["objective"], r["n"]))
        if "skipped" in r:
            cells = [r["objective"], f"{r['n']:.0e}", LABEL[r["kind"]], *["-"] * 8,
                     "skipped: " + r["skipped"]]
        else:
            ratio_t = ratio_m = ratio_l = None
            if base is not None and r["kind"] != "raw":
                ratio_t = r["total"] / base["total"]
                ratio_m = r["peak_mb"] / base["peak_mb"]
                ratio_l = (r["total"] + r["load"]) / (base["total"] + base["load"])
            cells = [r["objective"], f"{r['n']:.0e}", LABEL[r["kind"]], _fmt(r["load"]), _fmt(r["build"]),
                     _fmt(r["solve"]), _fmt(r["total"]), _fmt(r["peak_mb"], 0), _fmt(ratio_t),
                     _fmt(ratio_m), _fmt(ratio_l),
                     f"{r['objective_value']:.10g}" if r["status"] == "optimal" else r["status"]]
        out.append("| " + " | ".join(cells) + " |")
    if notes:
        out += ["", *("- " + n for n in notes)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results.md"))
    ap.add_argument("--sizes", default="1e3,1e4,1e5,1e6", help="comma-separated region counts")
    ap.add_argument("--objectives", default="maxmin,min-shortfall")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"subset of {','.join(KINDS)}")
    ap.add_argument("--pyomo-sizes", default="1e3,1e4,1e5,1e6", help="sizes for the pyomo row")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per measurement")
    ap.add_argument("--pyomo-timeout", type=float, default=300.0)
    ap.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--objective", help=argparse.SUPPRESS)
    ap.add_argument("folder", nargs="?", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        _worker_main(a.worker, a.objective, a.folder)
        return 0

    sizes = [int(float(s)) for s in a.sizes.split(",") if s.strip()]
    pyomo_sizes = {int(float(s)) for s in a.pyomo_sizes.split(",") if s.strip()}
    kinds = [k for k in KINDS if k in a.kinds.split(",")]
    header = _machine()
    out = a.out if a.out.is_absolute() else Path.cwd() / a.out
    from optimizer.io.writers import atomic_write_text

    rows: list[dict] = []
    notes: list[str] = []
    for objective in a.objectives.split(","):
        timed_out: dict[str, int] = {}   # kind -> smallest size that timed out
        for n in sorted(sizes):
            # min-shortfall on a short budget (80% of the gap to the threshold: its optimum
            # is positive; at 1.1 it is 0 and the LP nearly trivial); maxmin keeps hard
            # thresholds, so it gets a budget that meets them (1.1)
            folder = _instance(n, 0.8 if objective == "min-shortfall" else 1.1)
            for kind in kinds:
                row = {"objective": objective, "n": n, "kind": kind}
                if kind == "pyomo" and n not in pyomo_sizes:
                    continue
                if kind in timed_out:
                    row["skipped"] = f"not run: timed out at n={timed_out[kind]:.0e}"
                elif kind in ("direct-notb", "pyomo") and "raw" in timed_out and timed_out["raw"] <= n:
                    row["skipped"] = "not run: raw highspy (same LP, same HiGHS options) timed out"
                else:
                    timeout = a.pyomo_timeout if kind == "pyomo" else a.timeout
                    row |= _measure(kind, objective, folder, timeout)
                    if str(row.get("skipped", "")).startswith("timed out"):
                        timed_out[kind] = n
                rows.append(row)
                print(f"{objective:14s} n={n:<8d} {kind:12s} " + (
                    row["skipped"] if "skipped" in row else
                    f"load {row['load']:.2f}s total {row['total']:.2f}s (build {row['build']:.2f} "
                    f"solve {row['solve']:.2f}) peak {row['peak_mb']:.0f} MB obj {row['objective_value']}"),
                    flush=True)
                atomic_write_text(out, _table(header, rows, notes))
        base = {r["n"]: r for r in rows if r["objective"] == objective and r["kind"] == "raw"
                and "skipped" not in r}
        for r in rows:
            if (r["objective"] == objective and r["kind"] != "raw" and "skipped" not in r
                    and r["n"] in base and r["status"] == "optimal"):
                ref = base[r["n"]]["objective_value"]
                if abs(r["objective_value"] - ref) > 1e-6 * max(1.0, abs(ref)):
                    notes.append(f"{objective} n={r['n']:.0e} {LABEL[r['kind']]}: objective "
                                 f"{r['objective_value']!r} differs from raw highspy {ref!r}")
    atomic_write_text(out, _table(header, rows, notes))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
