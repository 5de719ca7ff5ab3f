"""Output files get the permissions of an ordinary file (0666 less the umask), although they
are written to a private temporary file and renamed into place."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from tests.conftest import INSTANCES

SCRIPT = """
import os, sys
os.umask(int(sys.argv[1], 8))
from optimizer.cli import main
main([sys.argv[2], *sys.argv[3:]], standalone_mode=False)
"""


def run_with_umask(umask: str, *args) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, umask, *[str(a) for a in args]],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def modes(folder) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("umask, expected", [("022", 0o644), ("027", 0o640)])
def test_output_files_honour_the_umask(tmp_path, umask, expected):
    solve_out, cmp_out, sweep_out = tmp_path / "solve", tmp_path / "cmp", tmp_path / "sweep"
    run_with_umask(umask, "solve", INSTANCES / "toy-3", "--output", solve_out)
    run_with_umask(umask, "compare", INSTANCES / "toy-3", "--objectives", "maxmin,min-cost", "--output",
                   cmp_out, "--plot")
    run_with_umask(umask, "sweep", INSTANCES / "toy-3", "--budget", "0.5x:1.5x:3", "--output", sweep_out,
                   "--plot")
    found = modes(solve_out) | modes(cmp_out) | modes(sweep_out)
    for name in ("allocation.csv", "summary.json", "compare.csv", "lorenz.png", "allocations.parquet",
                 "frontier.png"):
        assert found[name] == expected, (name, oct(found[name]))
    assert set(found.values()) == {expected}


def test_umask_is_left_as_it_was(tmp_path):
    from optimizer.io.writers import atomic_write_text

    before = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
