"""Benchmark of the fairness objectives on generated instances.

    python -m bench.objectives --out bench/objectives.md [--sizes 1000,10000] [--timeout 120]

Each (objective, n) runs in its own subprocess (so peak memory = that run's max RSS),
through the real solve path (optimizer.engine.solve.solve, direct engine, no price-of-fairness
solve), on optimizer.io.generate.generate(n, seed=0). Writes a markdown table: objective, n,
build s, solve s, total s, peak MB, stages (leximin LP stages; min-gini LPs; "0 LPs: ..."
when a certified closed form or the threshold decomposition solved it). An objective that
times out at one size is not run at larger ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OBJECTIVES = ["maxmin", "leximin", "max-mean", "min-range", "min-mad", "min-gini", "owa", "cvar",
              "log-welfare"]

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from optimizer.io.load import load_instance
from optimizer.engine.solve import SolveOptions, solve
folder, name = sys.argv[1], sys.argv[2]
inst = load_instance(Path(folder))
t0 = time.perf_counter()
r = solve(inst, SolveOptions(objective=name, price_of_fairness=False))
total = time.perf_counter() - t0
s = r.summary
stages = s.get("leximin_stages", s.get("gini_lps", 1))
how = s.get("solved_by", "")
if "decomposition" in how:
    inner = s.get("gini_inner_solves", s.get("decomposition_inner_solves"))
    stages = f"0 LPs: threshold decomposition, {inner} cut solves"
elif how:
    stages = "0 LPs: " + how.split(", certified")[0]
print(json.dumps({"build": s["build_seconds"], "solve": s["solve_seconds"], "total": total,
                  "peak_mb": [int(l.split()[1]) / 1024.0 for l in open("/proc/self/status")
                              if l.startswith("VmHWM:")][0],
                  "stages": stages, "value": s["objective_value"]}))
"""


def _instance(n: int, root: Path) -> Path:
    from optimizer.io.generate import generate
    folder = root / f"gen-{n}"
    if not (folder / "regions.csv").exists():
        folder.mkdir(parents=True, exist_ok=True)
        g = generate(n, 0)
        (folder / "regions.csv").write_text(g.regions.to_csv(index=False, lineterminator="\n"))
        (folder / "instance.toml").write_text(g.toml)
    return folder


def run(sizes: list[int], out_path: str | Path, objectives: list[str] = OBJECTIVES,
        timeout: float = 120.0) -> str:
    rows = []
    timed_out: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="equalize-bench-") as tmp:
        for n in sizes:
            folder = _instance(n, Path(tmp))
            for name in objectives:
                if name in timed_out:
                    rows.append(f"| {name} | {n} | - | - | - | - | not run: timed out at a smaller size |")
                    continue
                t0 = time.perf_counter()
                try:
                    p = subprocess.run([sys.executable, "-c", _CHILD, str(folder), name], capture_output=True,
                                       text=True, timeout=timeout)
                    if p.returncode == 0:
                        rec = json.loads(p.stdout.strip().splitlines()[-1])
                        rows.append(f"| {name} | {n} | {rec['build']:.2f} | {rec['solve']:.2f} | {rec['total']:.2f} "
                                    f"| {rec['peak_mb']:.0f} | {rec['stages']} |")
                    else:
                        msg = (p.stderr.strip().splitlines() or ["failed"])[-1][:90]
                        rows.append(f"| {name} | {n} | - | - | - | - | failed: {msg} |")
                except subprocess.TimeoutExpired:
                    rows.append(f"| {name} | {n} | - | - | > {timeout:.0f} | - | timed out |")
                    timed_out.add(name)
                print(rows[-1], f"({time.perf_counter() - t0:.1f} s wall)", file=sys.stderr, flush=True)
    text = ("| objective | n | build s | solve s | total s | peak MB | stages |\n"
            "|---|---:|---:|---:|---:|---:|---|\n" + "\n".join(rows) + "\n")
    from optimizer.io.writers import atomic_write_text
    atomic_write_text(Path(out_path), text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/objectives.md")
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--objectives", default=",".join(OBJECTIVES))
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    run([int(s) for s in a.sizes.split(",")], a.out, a.objectives.split(","), a.timeout)


if __name__ == "__main__":
    main()
