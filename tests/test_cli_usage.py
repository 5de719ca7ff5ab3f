"""Bad flags are bad input like any other: one line naming the option, exit 2 (click's own
report is three lines); a symlink loop in place of an optional file is reported, never taken
for an absent file (a silent wrong answer: the groups' constraints would vanish)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy-3"
EQUALIZE = str(Path(sys.executable).parent / "equalize")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EQUALIZE, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("args, words", [
    (("solve", TOY, "--change-limit", "inf"), "'--change-limit'"),
    (("solve", TOY, "--breakpoints", "abc"), "'--breakpoints'"),
    (("solve", TOY, "--bogus"), "--bogus"),
    (("solve", TOY, "--format", "xml"), "'--format'"),
    (("frob",), "frob"),
    (("sweep", TOY, "--budget"), "--budget"),
])
def test_a_bad_flag_is_one_line_and_exit_2(args, words):
    res = run(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("name", ["groups.csv", "services.csv"])
def test_a_symlink_loop_in_place_of_an_optional_file_is_reported(tmp_path, name):
    inst = tmp_path / "inst"
    shutil.copytree(TOY, inst)
    (inst / name).symlink_to(name)        # points at itself
    res = run("validate", inst)
    assert res.returncode == 2
    assert f"{name}: cannot be read" in res.stderr and "symbolic links" in res.stderr
