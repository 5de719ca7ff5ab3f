"""`make bench` (issue 14): every objective against maxmin and against the floor, end to end.

    python -m bench.ratios --out bench/ratios.md [--sizes 1e4,1e5,1e6] [--seeds 0,1] [--cap 300]
                           [--objectives maxmin,leximin,...]

For each size n and seed s, ``equalize generate --regions n --seed s`` writes an instance under
bench/work/ratios/; the floor (bench/floor.py) is measured on it; then each objective of
``equalize objectives`` runs as ``equalize solve FOLDER -o NAME --output TMP`` (every default
kept: certificate, metrics, price of fairness, the post-solve check), bare and with
``--hold-harmless 0.9 --no-overtaking`` (policy rows; under ``--thresholds auto``, since
hold-harmless can make the thresholds unreachable). Each run is a fresh subprocess, timed
from the parent (start-up, loading, solving, writing), its peak memory the child's maximum
RSS (os.wait4). A run past ``--cap`` seconds is killed and recorded as "> CAP s"; an
(objective, mode) past the cap at one size is not run at larger ones. The path taken and
whether a certificate was checked come from the run's summary.json: ``solved_by`` names a
closed form or a decomposition, else the run was solved as LPs; "certificate" is the
summary's ``certificate`` or the post-solve check's optimality verdict.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.floor import floor, output_floor, run_measured

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work" / "ratios"
EQUALIZE = str(Path(sys.executable).with_name("equalize"))
POLICY = ["--hold-harmless", "0.9", "--no-overtaking", "--thresholds", "auto"]
MODES = {"bare": [], "hh0.9+no": POLICY, "hh0.9+no+group": POLICY}
# the group-floor mode solves a copy of the instance with groups.csv: GROUPS groups of GROUP_SIZE
# regions (5% of them in all below 10,000 regions) drawn at random (fixed seed), each with a
# min_level GROUP_LIFT above its level in the policy round's maxmin answer, so the group rows bind
GROUPS, GROUP_SIZE, GROUP_LIFT = 5, 100, 0.001


def objectives() -> list[str]:
    out = subprocess.run([EQUALIZE, "objectives"], capture_output=True, text=True, check=True).stdout
    # the LP objectives; formulas are not optimized (and need their system's columns)
    return [line.split()[0] for line in out.splitlines() if line.strip() and line.split()[1] != "formula"]


def instance(n: int, seed: int = 0) -> Path:
    folder = WORK / (f"n{n}" if seed == 0 else f"n{n}-s{seed}")
    if not (folder / "regions.csv").exists():
        subprocess.run([EQUALIZE, "generate", "--regions", str(n), "--seed", str(seed), str(folder)],
                       check=True, capture_output=True)
    return folder


def with_groups(folder: Path, cap: float | None = None) -> Path | None:
    """A copy of ``folder`` with GROUPS group floors that bind (None if the policy round's maxmin,
    which sets the floors, does not finish within ``cap``)."""
    out = folder.with_name(folder.name + "-groups")
    if (out / "groups.csv").exists():
        return out
    with open(folder / "regions.csv", newline="") as f:
        regions = {r["region_id"]: r for r in csv.DictReader(f)}
    size = max(1, min(GROUP_SIZE, len(regions) // 100))
    picked = random.Random(0).sample(sorted(regions), GROUPS * size)
    groups = {f"g{k}": picked[k::GROUPS] for k in range(GROUPS)}
    with tempfile.TemporaryDirectory(prefix="ratios-groups-") as tmp:
        run = run_measured([EQUALIZE, "solve", str(folder), "-o", "maxmin", *POLICY, "--no-price-of-fairness",
                            "--output", f"{tmp}/run"], cap)
        if run["code"] != 0:
            return None
        with open(f"{tmp}/run/allocation.csv", newline="") as f:
            transfer = {r["region_id"]: float(r["transfer"]) for r in csv.DictReader(f)}
    floors = {g: sum(float(regions[m]["own_revenue"]) + transfer[m] for m in ms)
              / sum(float(regions[m]["fiscal_need"]) for m in ms) + GROUP_LIFT for g, ms in groups.items()}
    tmp_out = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp_out, ignore_errors=True)
    shutil.copytree(folder, tmp_out)
    (tmp_out / "groups.csv").write_text("group_id,region_id,kind\n" + "".join(
        f"{g},{m},union\n" for g, ms in groups.items() for m in ms))
    with open(tmp_out / "instance.toml", "a") as f:
        f.writelines(f"\n[groups.{g}]\nmin_level = {floor:.6f}\n" for g, floor in floors.items())
    tmp_out.rename(out)
    return out


def path_of(summary: dict) -> str:
    how = str(summary.get("solved_by") or "")
    if not how:
        stages = summary.get("leximin_stages") or summary.get("gini_lps")
        return f"LP ({stages} stages)" if stages else "LP"
    head = re.sub(r" \(optimizer/[^)]*\)", "", re.sub(r",? certified.*$", "", how)).strip()
    kind = "decomposition" if "decomposition" in head else "LP" if " LP" in head else "closed form"
    return f"{kind}: {head}"


def certificate_of(summary: dict) -> str:
    cert = summary.get("certificate") or next(
        (v for k, v in summary.items() if k.endswith("_certificate") and v), None)   # gini_certificate, ...
    if isinstance(cert, dict):
        cert = cert.get("kind") or cert.get("name") or cert.get("checked") or True
    verdict = (summary.get("verified") or {}).get("optimality")
    if cert:
        return "yes" if cert is True else f"yes ({str(cert)[:40]})"
    return "no" if verdict in (None, "not certified") else f"checked ({str(verdict)[:40]})"


def solve_run(folder: Path, objective: str, flags: list[str], cap: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="ratios-") as tmp:
        out = Path(tmp) / "run"
        res = run_measured([EQUALIZE, "solve", str(folder), "-o", objective, "--output", str(out), *flags], cap)
        if res["code"] == 0 and (out / "summary.json").exists():
            summary = json.loads((out / "summary.json").read_text())
            res |= {"path": path_of(summary), "certificate": certificate_of(summary)}
        elif not res["timed_out"]:
            res |= {"path": f"failed (exit {res['code']}): {res['stderr'][:80]}", "certificate": "-"}
        return res


def fmt_run(r: dict | None, ref: dict | None, flo: dict, cap: float) -> list[str]:
    if r is None:
        return ["skipped (past the cap at a smaller size)", "-", "-", "-", "-", "-"]
    if r["timed_out"]:
        return [f"> {cap:.0f} s", "-", "-", "-", "-", "-"]
    ok = r["code"] == 0
    t_ref = ref["seconds"] if ref and ok and not ref["timed_out"] and ref["code"] == 0 else None
    m_ref = ref["peak_mb"] if t_ref else None
    return [f"{r['seconds']:.2f}", f"{r['peak_mb']:.0f}",
            f"{r['seconds'] / t_ref:.2f}x / {r['peak_mb'] / m_ref:.2f}x" if t_ref else "-",
            f"{r['seconds'] / flo['seconds']:.2f}x / {r['peak_mb'] / flo['peak_mb']:.2f}x" if ok else "-",
            r.get("path", "-"), r.get("certificate", "-")]


def header(sizes: list[int], cap: float) -> list[str]:
    load = os.getloadavg()[0]
    return ["# Every objective against maxmin and the floor (issue 14)", "",
            f"`python -m bench.ratios --sizes {','.join(str(n) for n in sizes)} --cap {cap:g}` "
            f"(`make bench`); instances `equalize generate --regions N --seed S`; mode hh0.9+no+group adds "
            f"{GROUPS} group floors ({GROUP_SIZE} random regions each, min_level {GROUP_LIFT} above the group's "
            "level in the policy round's maxmin answer, so the group rows bind). Each run is "
            "`equalize solve` end to end in a fresh process (start-up, loading, solve with every default "
            "kept, writing the output folder); peak memory is the child's maximum RSS. Ratios are "
            "time / memory. Floor: `import optimizer.cli` + an Arrow read of regions.csv + an Arrow "
            "write of a table that size (bench/floor.py). Output floor: the same, writing a table with "
            "allocation.csv's columns and about its bytes (decision 70).", "",
            f"Machine: {os.cpu_count()} cores shared with other work, load average {load:.1f} at start: "
            "absolute times are inflated and noisy; ratios taken in the same run are the figure to read.", ""]


def size_table(n: int, seed: int, names: list[str], modes: dict[str, list[str]], cap: float,
               past_cap: set[tuple[str, str, int]]) -> list[str]:
    """The rows of one instance: every objective in every mode, against maxmin and the floor."""
    folder = instance(n, seed)
    flo, out_flo = floor(folder), output_floor(folder)
    print(f"n={n} seed={seed} floor {flo['seconds']:.2f} s {flo['peak_mb']:.0f} MB, output floor "
          f"{out_flo['seconds']:.2f} s {out_flo['peak_mb']:.0f} MB", flush=True)
    lines = [f"## {n:,} regions, seed {seed}", "", f"Floor: {flo['seconds']:.2f} s, {flo['peak_mb']:.0f} MB. "
             f"Output floor (the same, writing allocation.csv's columns): {out_flo['seconds']:.2f} s, "
             f"{out_flo['peak_mb']:.0f} MB.", "",
             "| objective | mode | seconds | peak MB | vs maxmin (same mode) | vs bare maxmin | vs floor | path "
             "| certificate |", "|---|---|---|---|---|---|---|---|---|"]
    bare = None
    # a first fresh process pays cold file and import caches (3.3 s against 1.3 s for the same
    # maxmin at 1e4): one untimed run first, so the reference is as warm as what follows it
    solve_run(folder, "maxmin", [], cap)
    for mode, flags in modes.items():
        where = with_groups(folder, cap) if "group" in mode else folder
        if where is None:
            lines += [f"(mode {mode} skipped: the policy round's maxmin that sets its group floors ran past "
                      f"{cap:.0f} s)", ""]
            continue
        ref = None
        for name in names:
            r = None if (name, mode, seed) in past_cap else solve_run(where, name, flags, cap)
            if r is not None and r["timed_out"]:
                past_cap.add((name, mode, seed))
            ref = r if name == "maxmin" else ref
            bare = r if (name, mode) == ("maxmin", "bare") else bare
            cells = fmt_run(r, ref, flo, cap)
            cells.insert(3, fmt_ratio(r, bare) if r is not None and not r["timed_out"] else "-")
            print(n, seed, mode, name, *cells, flush=True)
            lines.append("| " + " | ".join([name, mode, *cells]) + " |")
        lines.append("")
    if bare is not None and not bare["timed_out"] and bare["code"] == 0:
        lines += [f"Bare maxmin against the output floor: {fmt_ratio(bare, out_flo)} (time / memory).", ""]
    return lines


def fmt_ratio(r: dict, ref: dict | None) -> str:
    ok = ref is not None and not ref["timed_out"] and ref["code"] == 0 and r["code"] == 0
    return f"{r['seconds'] / ref['seconds']:.2f}x / {r['peak_mb'] / ref['peak_mb']:.2f}x" if ok else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "ratios.md"))
    ap.add_argument("--sizes", default="1e4,1e5,1e6")
    ap.add_argument("--cap", type=float, default=300.0)
    ap.add_argument("--objectives", default=None)
    ap.add_argument("--seeds", default="0", help="seeds of `equalize generate`, e.g. 0,1")
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args(argv)
    sizes = [int(float(s)) for s in a.sizes.split(",")]
    names = a.objectives.split(",") if a.objectives else objectives()
    names = ["maxmin"] + [o for o in names if o != "maxmin"]   # the reference first
    lines = header(sizes, a.cap)
    past_cap: set[tuple[str, str, int]] = set()
    seeds = [int(x) for x in a.seeds.split(",")]
    modes = {m: MODES[m] for m in a.modes.split(",")}
    for n in sizes:
        for seed in seeds:
            lines += size_table(n, seed, names, modes, a.cap, past_cap)
            Path(a.out).write_text("\n".join(lines) + "\n")   # after each table: a partial run survives
    return 0


if __name__ == "__main__":
    sys.exit(main())
