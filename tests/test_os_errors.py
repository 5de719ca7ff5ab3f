"""Operating-system errors are one line naming the path and the cause: exit 2 for an input that
cannot be read (a directory, FIFO or symlink loop where a file should be, permission denied),
exit 1 for an output that cannot be written (a file where a folder should be, a read-only
folder, a full disk); never a traceback, never half an output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.io.writers import check_run
from tests.conftest import INSTANCES
from tests.run_folder_helpers import NOBODY, can_drop_root, equalize, one_error_line, temps, world_dir

BASES = {"toy-services": ["instance.toml", "regions.csv", "services.csv"],
         "korea-17": ["instance.toml", "regions.csv", "groups.csv"]}
REQUIRED = ("instance.toml", "regions.csv")


def obstruct(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "directory":
        path.mkdir()
        (path / "inside.csv").write_text("x\n")
    elif kind == "symlink loop":
        os.symlink(path.name, path)               # points at itself: ELOOP
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "missing":
        pass


def copy_instance(base: str, dest: Path) -> Path:
    shutil.copytree(INSTANCES / base, dest, ignore=shutil.ignore_patterns("raw", "*.py", "*.md"))
    return dest


def assert_reported(res_output: str, exit_code: int, obstructed: dict[str, str], folder: Path) -> None:
    assert exit_code == 2, res_output
    assert "Traceback" not in res_output and "internal error" not in res_output, res_output
    lines = [ln for ln in res_output.splitlines() if ln.strip()]
    assert lines[-1].endswith("problem(s) found; nothing was solved or written."), res_output
    assert all(ln.startswith(("error: ", "notice: ")) for ln in lines[:-1]), res_output
    required_ok = not any(n in obstructed for n in REQUIRED)
    for name in obstructed:
        if name in REQUIRED or required_ok:       # the optional files are read once the required are
            assert any(str(folder / name) in ln for ln in lines), (name, res_output)


# symlink loops of the OPTIONAL files (services.csv, groups.csv) are not in this strategy:
# io/services.py and io/groups.py test presence with Path.exists(), which says False for a
# loop (reported to their owner; docs/reliability.md lists it as a known gap).
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(sorted(BASES)), data=st.data())
def test_obstructed_inputs_are_one_line_each_and_exit_2(tmp_path_factory, base, data):
    folder = copy_instance(base, tmp_path_factory.mktemp("obstructed") / base)
    obstructed = {}
    for name in BASES[base]:
        kinds = ["directory", "symlink loop", "fifo"] + (["missing"] if name in REQUIRED else [])
        kind = data.draw(st.one_of(st.none(), st.sampled_from(kinds)), label=name)
        if kind is not None and (name in REQUIRED or kind != "symlink loop"):
            obstruct(folder / name, kind)
            obstructed[name] = kind
    if not obstructed:
        return
    out = folder.parent / "out"
    for cmd in (["validate"], ["solve", "--output", str(out)]):
        res = CliRunner().invoke(main, [cmd[0], str(folder), *cmd[1:]])
        assert_reported(res.output, res.exit_code, obstructed, folder)
        assert not out.exists()


@pytest.mark.skipif(not can_drop_root(), reason="needs root and setpriv to drop privileges")
@pytest.mark.parametrize("name", ["instance.toml", "regions.csv", "services.csv", "."])
def test_permission_denied_on_an_input_is_one_line_exit_2(name):
    with world_dir() as tmp:
        folder = copy_instance("toy-services", tmp / "inst")
        (folder / name).chmod(0o300 if name == "." else 0o000)
        proc = equalize("validate", folder, prefix=NOBODY)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert str(folder / name).rstrip("/.") in proc.stderr, proc.stderr
        assert "Permission denied" in proc.stderr or (name == "." and "is not readable" in proc.stderr)


def test_an_output_folder_under_a_file_is_a_failed_write(tmp_path, toy3):
    (tmp_path / "file").write_text("x")
    proc = equalize("solve", toy3, "--output", tmp_path / "file" / "a" / "b")
    line = one_error_line(proc.stderr)
    assert proc.returncode == 1 and "Not a directory" in line and str(tmp_path / "file") in line


def test_a_missing_output_folder_is_created_with_its_parents(tmp_path, toy3):
    out = tmp_path / "x" / "y" / "z"
    assert equalize("solve", toy3, "--output", out).returncode == 0
    assert check_run(out) == [] and temps(out) == []


@pytest.mark.parametrize("command", [["compare", "--objectives", "maxmin,min-cost", "--plot"],
                                     ["scenarios", "--compare"], ["solve"]])
def test_an_output_file_that_is_a_directory_is_a_failed_write(tmp_path, command):
    out = tmp_path / "out"
    (out / "run.json").mkdir(parents=True)
    inst = INSTANCES / ("korea-17" if command[0] == "scenarios" else "toy-3")
    proc = equalize(command[0], inst, *command[1:], "--output", out)
    line = one_error_line(proc.stderr)
    assert proc.returncode == 1 and "run.json" in line and "Is a directory" in line
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]


def test_a_fifo_input_does_not_hang(tmp_path):
    folder = copy_instance("toy-services", tmp_path / "inst")
    obstruct(folder / "services.csv", "fifo")
    proc = equalize("validate", folder, timeout=60)
    assert proc.returncode == 2 and "services.csv: cannot be read" in proc.stderr


def test_an_output_folder_that_is_a_broken_symlink_is_a_failed_write(tmp_path, toy3):
    for name, target in (("loop", "loop"), ("dangling", "nowhere/x")):
        os.symlink(target, tmp_path / name)
        proc = equalize("solve", toy3, "--output", tmp_path / name)
        line = one_error_line(proc.stderr)
        assert proc.returncode == 1 and str(tmp_path / name) in line and "is not a folder" in line


@pytest.mark.skipif(not can_drop_root(), reason="needs root and setpriv to drop privileges")
@settings(max_examples=12, deadline=None)
@given(base=st.sampled_from(sorted(BASES)), data=st.data())
def test_obstructed_and_unreadable_inputs_as_an_unprivileged_user(base, data):
    """The same, run as user 65534, with unreadable files (mode 000) among the obstructions."""
    with world_dir() as tmp:
        folder = copy_instance(base, tmp / base)
        obstructed = {}
        for name in BASES[base]:
            kinds = ["unreadable", "directory", "fifo"] + (["symlink loop"] if name in REQUIRED else [])
            kind = data.draw(st.one_of(st.none(), st.sampled_from(kinds)), label=name)
            if kind == "unreadable":
                (folder / name).chmod(0o000)
            elif kind is not None:
                obstruct(folder / name, kind)
            if kind is not None:
                obstructed[name] = kind
        if not obstructed:
            return
        proc = equalize("validate", folder, prefix=NOBODY, timeout=120)
        assert_reported(proc.stderr, proc.returncode, obstructed, folder)
        required_ok = not any(n in obstructed for n in REQUIRED)
        for name, kind in obstructed.items():
            if kind == "unreadable" and (name in REQUIRED or required_ok):
                assert f"{folder / name}: cannot be read: Permission denied" in proc.stderr, proc.stderr
