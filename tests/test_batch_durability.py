"""Issue 10, classes 4-6: a damaged or foreign committed run is detected on resume and only
that run is recomputed (with one notice line); stale temporaries are cleaned; the pool workers
die with a SIGKILLed batch; two batches never share an output folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.io.generate import generate
from optimizer.studies.batch import TIMING_COLUMNS, load_spec
from tests.conftest import INSTANCES

EXE = Path(sys.executable).with_name("equalize")


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.drop(columns=[c for c in TIMING_COLUMNS if c in runs.columns]).reset_index(drop=True)


def cli_batch(spec: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, ["batch", str(spec), "--output", str(out), "--jobs", "1", "-q", *extra])


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Path]:
    """A small batch (optimal and infeasible runs) run once, uninterrupted."""
    tmp = tmp_path_factory.mktemp("clean")
    spec = tmp / "spec.toml"
    spec.write_text(f'instances = ["{INSTANCES / "toy-3"}", "{INSTANCES / "korea-17"}"]\n'
                    'objectives = ["maxmin", "min-cost"]\n[sweep]\nthreshold = [0.4, 0.8]\n')
    res = cli_batch(spec, tmp / "out")
    assert res.exit_code == 0, res.output
    return spec, tmp / "out"


def _truncate(p: Path, other: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _zero(p: Path, other: Path) -> None:
    p.write_bytes(bytes(p.stat().st_size))


def _garbage(p: Path, other: Path) -> None:
    p.write_bytes(os.urandom(p.stat().st_size))


def _foreign(p: Path, other: Path) -> None:
    shutil.copyfile(other.with_suffix(p.suffix), p)


def _delete(p: Path, other: Path) -> None:
    p.unlink()


def _json(text: str):
    return lambda p, other: p.write_text(text)


DAMAGE = {  # (which file of an optimal run, how)
    "arrow-truncated": (".arrow", _truncate), "arrow-zero-filled": (".arrow", _zero),
    "arrow-garbage": (".arrow", _garbage), "arrow-foreign": (".arrow", _foreign),
    "arrow-missing": (".arrow", _delete), "json-null": (".json", _json("null")),
    "json-empty-object": (".json", _json("{}")), "json-list": (".json", _json("[1]")),
    "json-truncated": (".json", _truncate), "json-foreign": (".json", _foreign),
    "json-bad-status": (".json", None),
}


def _files(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "runs").iterdir()}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_run_is_recomputed_alone(clean, tmp_path, kind):
    spec, clean_out = clean
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    runs = pd.read_parquet(out / "runs.parquet")
    optimal = list(runs.run_id[runs.status == "optimal"])
    victim, other = optimal[1], optimal[2]
    suffix, damage = DAMAGE[kind]
    target = out / "runs" / f"{victim}{suffix}"
    if damage is None:
        row = json.loads(target.read_text())
        target.write_text(json.dumps({**row, "status": "splendid"}))
    else:
        damage(target, out / "runs" / f"{other}{suffix}")
    before = _files(out)
    res = cli_batch(spec, out)
    assert res.exit_code == 0, res.output
    notices = [line for line in res.stderr.splitlines() if line.startswith("notice:")]
    assert len(notices) == 1 and victim in notices[0] and "recomputing" in notices[0], res.stderr
    after = _files(out)
    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    assert changed <= {f"{victim}.json", f"{victim}.arrow"} and f"{victim}.json" in changed, changed
    assert set(after) == set(_files(clean_out))
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(out / "runs.parquet")),
                                  comparable(pd.read_parquet(clean_out / "runs.parquet")))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "allocations.parquet"),
                                  pd.read_parquet(clean_out / "allocations.parquet"))


def test_damaged_infeasible_run_and_stale_temporaries(clean, tmp_path):
    spec, clean_out = clean
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    runs = pd.read_parquet(out / "runs.parquet")
    victim = runs.run_id[runs.status == "infeasible"].iloc[0]
    (out / "runs" / f"{victim}.json").write_text("null")
    stale = [out / "runs" / f".{victim}.json.abc123.tmp", out / "runs" / f".{victim}.arrow.x.tmp",
             out / ".runs.csv.q1w2e3.tmp", out / ".allocations.parquet.zz.tmp"]
    for p in stale:
        p.write_bytes(b"half a file")
    res = cli_batch(spec, out)
    assert res.exit_code == 0, res.output
    assert sum(line.startswith("notice:") for line in res.stderr.splitlines()) == 1
    assert not [p for p in stale if p.exists()]
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(out / "runs.parquet")),
                                  comparable(pd.read_parquet(clean_out / "runs.parquet")))


def test_index_follows_the_current_spec(clean, tmp_path):
    """A run committed under an earlier spec keeps its row, in the order of the spec resumed."""
    spec, clean_out = clean
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    edited = tmp_path / "spec.toml"
    edited.write_text(spec.read_text().replace('objectives = ["maxmin", "min-cost"]',
                                               'objectives = ["min-shortfall", "maxmin", "min-cost"]'))
    res = cli_batch(edited, out)
    assert res.exit_code == 0, res.output
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["index"]) == list(range(12))
    assert list(runs.run_id) == [r.run_id for r in load_spec(edited).runs]


# ---- real processes ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_spec(tmp_path_factory) -> Path:
    """Hundreds of runs on a 3000-region instance: a batch that runs for several seconds."""
    tmp = tmp_path_factory.mktemp("slow")
    g = generate(3000, seed=5)
    inst = tmp / "gen"
    inst.mkdir()
    g.regions.to_csv(inst / "regions.csv", index=False)
    (inst / "instance.toml").write_text(g.toml)
    spec = tmp / "spec.toml"
    spec.write_text(f'instances = ["{inst}"]\nobjectives = ["maxmin", "min-shortfall", "min-cost"]\n'
                    '[sweep]\nbudget = { from = "0.9x", to = "1.5x", points = 200 }\n')
    return spec


def _start(spec: Path, out: Path, jobs: int = 2) -> subprocess.Popen:
    return subprocess.Popen([str(EXE), "batch", str(spec), "--output", str(out), "--jobs", str(jobs), "-q"],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_runs(out: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "runs").is_dir() and len(list((out / "runs").glob("*.json"))) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the batch did not commit {n} runs (exit {proc.poll()})")


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_workers_die_with_a_killed_batch(slow_spec, tmp_path):
    out = tmp_path / "out"
    proc = _start(slow_spec, out)
    workers: list[int] = []
    try:
        _wait_for_runs(out, 20, proc)
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        os.kill(proc.pid, signal.SIGKILL)   # the parent alone, as the OOM killer would
        proc.wait()
        deadline = time.time() + 5
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "pool workers outlived their batch"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    # and the folder resumes to the full result
    res = subprocess.run([str(EXE), "batch", str(slow_spec), "--output", str(out), "--jobs", "2", "-q"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 600 and runs.run_id.is_unique


@pytest.mark.slow
def test_second_batch_on_the_same_folder_is_refused(slow_spec, tmp_path):
    out = tmp_path / "out"
    first = _start(slow_spec, out, jobs=1)
    try:
        _wait_for_runs(out, 2, first)
        second = subprocess.run([str(EXE), "batch", str(slow_spec), "--output", str(out), "--jobs", "1", "-q"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        line = second.stderr.strip().splitlines()[0]
        assert str(out) in line and f"pid {first.pid}" in line and "in use" in line, line
        assert "Traceback" not in second.stderr
        stdout, stderr = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert first.returncode == 0, stderr
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 600 and runs.run_id.is_unique
    # the lock goes with its holder: a new batch on the folder runs (and resumes everything)
    again = subprocess.run([str(EXE), "batch", str(slow_spec), "--output", str(out), "--jobs", "1", "-q"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr


# ---- a failed write ------------------------------------------------------------------------

SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(SETPRIV is None or os.geteuid() != 0, reason="needs setpriv and root to drop privileges")
def test_unwritable_output_is_exit_1_without_traceback():
    """As an unprivileged user (root ignores file modes): a batch or sweep that cannot write its
    folder exits 1 with one line, no traceback."""
    tmp = Path(tempfile.mkdtemp(prefix="eq-perm-"))
    try:
        tmp.chmod(0o777)
        spec = tmp / "spec.toml"
        spec.write_text(f'instances = ["{INSTANCES / "toy-3"}"]\n')
        spec.chmod(0o644)
        locked = tmp / "locked"          # the batch can take the lock but not write runs/
        locked.mkdir(mode=0o777)
        locked.chmod(0o777)
        (locked / "runs").mkdir(mode=0o755)
        readonly = tmp / "readonly"      # nothing can be created in it
        readonly.mkdir(mode=0o755)
        drop = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
        cases = [[str(EXE), "batch", str(spec), "-O", str(locked), "-q", "-j", "1"],
                 [str(EXE), "batch", str(spec), "-O", str(readonly), "-q", "-j", "1"],
                 [str(EXE), "sweep", str(INSTANCES / "toy-3"), "-O", str(readonly)]]
        for cmd in cases:
            res = subprocess.run(drop + cmd, capture_output=True, text=True, timeout=120)
            assert res.returncode == 1, (cmd, res.stderr)
            assert "Traceback" not in res.stderr and res.stderr.startswith("error: "), res.stderr
            assert "Permission denied" in res.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
