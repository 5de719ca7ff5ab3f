"""The floor of an end-to-end solve (issue 14): start the package, read the regions,
write a table that size; no run can cost less.

    python -m bench.floor FOLDER [FOLDER ...]

One fresh subprocess per instance runs ``import optimizer.cli`` (what `equalize` starts
with; ``SOLVE_STARTUP``: what `equalize solve` starts with, now that the commands load
lazily), an Arrow read of regions.csv (pyarrow.csv) and an Arrow write of a table of the same
size (one row per region: the CSV columns plus two float columns, as allocation.csv has more
than regions.csv) to a temporary file. Its time is wall-clock from the parent around the whole
child (interpreter start included, as for `equalize solve`); its peak memory is the child's
own maximum resident set, read from ``os.wait4`` (the parent stays small, so Linux's
inheritance of ru_maxrss over fork+exec does not inflate it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

FLOOR_CHILD = r"""
import sys, tempfile, os, importlib
importlib.import_module(sys.argv[2])  # the package start-up `equalize` pays
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
table = pacsv.read_csv(sys.argv[1])
n = table.num_rows
if sys.argv[3] == "two":
    out = table.append_column("transfer", pa.array(np.zeros(n))).append_column("level_after", pa.array(np.ones(n)))
else:  # allocation.csv's 17 columns: 9 floats, 4 of full precision (random doubles format like the
    # levels and transfers) and 5 of zeros (most regions' change, shortfall, dual), a reason a row
    rng = np.random.default_rng(0)
    out = table
    for k, name in enumerate(("transfer", "change", "change_pct", "transfer_per_capita", "level_before",
                              "level_after", "shortfall", "threshold_dual", "float_9")):
        out = out.append_column(name, pa.array(rng.random(n) if k < 4 else np.zeros(n)))
    out = out.append_column("binding", pa.array([""] * n))
    out = out.append_column("reason", pa.array(["no transfer: its own level 1.4046 is above the floor 0.9293"] * n))
if len(sys.argv) > 4:  # a kept copy, for the test that the output floor writes allocation.csv's bytes
    pacsv.write_csv(out, sys.argv[4])
else:
    with tempfile.TemporaryDirectory() as tmp:
        pacsv.write_csv(out, os.path.join(tmp, "allocation.csv"))
"""


def run_measured(argv: list[str], cap: float | None = None, cwd: str | None = None) -> dict:
    """Run ``argv``; wall seconds, the child's peak RSS in MB (os.wait4), its exit code, or
    ``timed_out`` when it ran past ``cap`` seconds (then killed)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if cap is not None and time.perf_counter() - t0 > cap:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            timed_out = True
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024.0, "code": proc.returncode,
            "timed_out": timed_out, "stderr": err.splitlines()[-1] if err else ""}


STARTUP = "optimizer.cli"   # what `equalize` imports before it knows the command (issue 14's floor)
SOLVE_STARTUP = "optimizer.cli.solve"   # ... and what `equalize solve` adds (commands load lazily)


def output_floor(folder: Path) -> dict:
    """The floor writing a table with allocation.csv's columns (regions.csv's, 10 full-precision
    floats, a reason string a row) instead of two: what writing the answer costs before any
    solve or check (decision 70)."""
    out = run_measured([sys.executable, "-c", FLOOR_CHILD, str(Path(folder) / "regions.csv"), STARTUP, "allocation"])
    if out["code"] != 0:
        raise RuntimeError(f"output floor child failed on {folder}: {out['stderr']}")
    return out


def floor(folder: Path, startup: str = STARTUP) -> dict:
    """The floor on one instance folder: seconds and peak MB of the child above. ``startup``:
    the module imported first, ``optimizer.cli`` (issue 14's definition; since the commands
    load lazily it no longer imports any command) or ``optimizer.cli.solve`` (the start-up of
    `equalize solve` itself: pandas, scipy, highspy, the engine)."""
    out = run_measured([sys.executable, "-c", FLOOR_CHILD, str(Path(folder) / "regions.csv"), startup, "two"])
    if out["code"] != 0:
        raise RuntimeError(f"floor child failed on {folder}: {out['stderr']}")
    return out


def main(argv: list[str] | None = None) -> int:
    folders = argv if argv is not None else sys.argv[1:]
    for folder in folders:
        print(json.dumps({"instance": str(folder), **floor(Path(folder)),
                          "with_solve_startup": floor(Path(folder), SOLVE_STARTUP)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
