"""The round flags are one definition (optimizer/cli/round_flags.py): solve, explain, export,
report and verify take the same flags with the same help and validation; report and export
take --spend/--surplus like solve; and a hostile value or a conflicting pair of flags is one
line, exit 2, nothing written, in every one of the five (the real CLI, in process)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import load_command, main
from tests.run_folder_helpers import EXE, NOBODY, can_drop_root, world_dir

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "instances" / "toy-3"
KOREA = ROOT / "instances" / "korea-17"
FIVE = ("solve", "explain", "export", "report", "verify")
SUMMARY = re.compile(r"^\d+ problem\(s\) found; nothing was solved or written\.$")


def invoke(*args) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [str(a) for a in args], prog_name="equalize")
    return res.exit_code, res.stdout, res.stderr


def command_args(name: str, tmp: Path, inst: Path = TOY) -> list:
    """The command with its own required arguments; every output goes into ``tmp``."""
    return {"solve": ["solve", inst, "--output", tmp / "out"],
            "explain": ["explain", inst, "--region", "a" if inst == TOY else "busan"],
            "export": ["export", inst, "--lp", tmp / "x.lp"],
            "report": ["report", inst, "--output", tmp / "r.html"],
            "verify": ["verify", inst, tmp.parent / "allocation.csv"]}[name]


@pytest.fixture(scope="module")
def allocation(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("alloc")
    code, out, _ = invoke("solve", TOY, "--format", "csv")
    assert code == 0
    (folder / "allocation.csv").write_text(out)
    return folder


def _params(name: str) -> dict[str, tuple]:
    cmd = load_command(name)
    return {p.name: (tuple(p.opts), getattr(p, "help", None), repr(p.type)) for p in cmd.params}


def test_the_five_commands_take_the_same_round_flags_with_the_same_help():
    solve = _params("solve")
    round_names = set(_params("verify")) - {"instance", "allocation", "tolerance"}
    assert {"objective", "budget", "threshold", "scenario", "merges", "merge_groups", "spend", "surplus",
            "thresholds", "alpha", "policy_hold_harmless", "round_years", "growth_budget_growth"} <= round_names
    for name in ("explain", "export", "report", "verify"):
        params = _params(name)
        missing = round_names - set(params)
        assert not missing, f"{name} lacks {missing}"
        for key in round_names - ({"objective"} if name == "verify" else set()):
            assert params[key] == solve[key], f"{name} --{key} differs from solve's"
    # the solver's flags wherever a round is solved (verify solves nothing; export writes the LP)
    for name in ("explain", "report"):
        for key in ("engine", "no_tie_break", "time_limit", "no_fast_path"):
            assert _params(name)[key] == solve[key]
    assert _params("export")["no_tie_break"] == solve["no_tie_break"]


def _html_figures(path: Path) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:+]+|\d+\.\d{3} s", "", path.read_text())


def test_report_and_export_take_spend_and_surplus(tmp_path):
    # korea-17 has [budget] spend = "all": --spend least must change the report, not be ignored
    runs = {}
    for spend in ("all", "least"):
        code, out, err = invoke("report", KOREA, "-o", "min-cost", "--spend", spend,
                                "--output", tmp_path / f"{spend}.html")
        assert code == 0, err
        runs[spend] = _html_figures(tmp_path / f"{spend}.html")
    assert runs["all"] != runs["least"]
    code, _, err = invoke("report", KOREA, "-o", "min-cost", "--output", tmp_path / "default.html")
    assert code == 0 and _html_figures(tmp_path / "default.html") == runs["all"]
    # export: the file's optimum is the solve's objective value under either spending rule
    for spend, surplus in (("least", None), ("all", "per-capita")):
        extra = ["--spend", spend] + (["--surplus", surplus] if surplus else [])
        code, out, err = invoke("export", KOREA, "-o", "min-cost", *extra, "--lp", tmp_path / "k.lp")
        assert code == 0, err
        optimum = float(re.search(r"optimum ([-\d.e+]+)\)", out).group(1))
        code, out, err = invoke("solve", KOREA, "-o", "min-cost", *extra, "--format", "json")
        assert code == 0, err
        summary = json.loads(out)["summary"]
        assert optimum == pytest.approx(summary["objective_value"], rel=1e-9)
        assert summary["budget_used"] == pytest.approx(summary["budget"] if spend == "all" else optimum, rel=1e-9)


HOSTILE = [
    (["--threshold", "nan"], "--threshold"), (["--threshold", "inf"], "--threshold"),
    (["--threshold", "-1"], "--threshold"), (["--budget", "nan"], "--budget"), (["--budget", "-1"], "--budget"),
    (["--budget", "1e400"], "--budget"), (["--objective", ""], "--objective"),
    (["--objective", "nope"], "nope"), (["--alpha", "nan"], "--alpha"), (["--weights", "a,b"], "--weights"),
    (["--breakpoints", "-3"], "--breakpoints"), (["--hold-harmless", "nan"], "--hold-harmless"),
    (["--change-limit", "inf"], "--change-limit"), (["--time-limit", "nan"], "--time-limit"),
    (["--time-limit", "-5"], "--time-limit"), (["--time-limit", "0"], "--time-limit"),
    (["--scenario", "nope"], "nope"), (["--merge", "a"], "--merge"), (["--merge-group", "nope"], "--merge-group"),
    (["--years", "0"], "--years"), (["--budget-growth", "nan"], "--budget-growth"),
    (["--budget-growth", "0.1"], "--budget-growth"), (["--spend", "nope"], "--spend"),
    (["--surplus", "proportional"], "--surplus"),                       # toy-3 spends least: a no-op flag
    (["--formula-option", "revenue_share=0.7"], "--formula-option"),   # maxmin is not a formula
    (["-o", "proportional", "--alpha", "nan"], "--alpha"),
    (["--earmarked"], "--earmarked"), (["--thresholds", "weird"], "--thresholds"),
]


@pytest.mark.parametrize("name", FIVE)
@pytest.mark.parametrize("bad, words", HOSTILE, ids=[" ".join(b) for b, _ in HOSTILE])
def test_a_hostile_or_conflicting_flag_is_one_line_exit_2_nothing_written(name, bad, words, allocation):
    tmp = allocation / f"{name}-{abs(hash(tuple(bad)))}"
    tmp.mkdir()
    code, out, err = invoke(*command_args(name, tmp), *bad)
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert lines[0].startswith("error: ") and words in lines[0], err
    # one line; a problem of the values read (the policy's checks) adds the input reporter's count
    assert len(lines) == 1 or (len(lines) == 2 and SUMMARY.match(lines[1])), err
    assert "Traceback" not in err and out == ""
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("name", FIVE)
def test_a_missing_instance_is_one_problem_exit_2(name, allocation, tmp_path):
    code, out, err = invoke(*command_args(name, tmp_path, ROOT / "instances" / "missing"))
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and list(tmp_path.iterdir()) == []
    assert lines[0] == f"error: {ROOT / 'instances' / 'missing'}: instance folder does not exist"
    assert len(lines) == 2 and SUMMARY.match(lines[1])   # the reporter's count of input problems


@pytest.mark.parametrize("name", ["solve", "export", "report"])
def test_an_output_under_a_file_is_a_failed_write_and_a_missing_folder_is_made(name, tmp_path):
    """docs/reliability.md: an output that cannot be written is one line, exit 1, nothing
    written; a missing output folder is created with its parents (mkdir -p)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = invoke(*command_args(name, blocker))
    assert code == 1 and err.startswith(f"error: cannot write {blocker}/") and len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    code, _, err = invoke(*command_args(name, tmp_path / "new" / "deeper" / "x"))
    assert code == 0, err
    assert any((tmp_path / "new" / "deeper").iterdir())


def test_the_installed_command_reports_a_conflict_in_one_line():
    """The same through the console script (sys.argv, click's own parsing, the exit code)."""
    exe = str(Path(sys.executable).parent / "equalize")
    res = subprocess.run([exe, "export", str(TOY), "--years", "2", "--lp", "/nonexistent/x.lp"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == ("error: --years: equalize export writes single-round LPs, not multi-year or service "
                          "rounds\n")


@pytest.mark.parametrize("args, words", [
    (["compare", TOY, "--surplus", "proportional"], "--surplus"),
    (["compare", TOY, "--scenarios", "all", "--surplus", "per-capita"], "--surplus"),
    (["sweep", TOY, "--surplus", "proportional"], "--surplus"),
    (["compare", TOY, "--time-limit", "-5"], "--time-limit"),
    (["compare", TOY, "--time-limit", "nan"], "--time-limit"),
])
def test_compare_and_sweep_refuse_the_same_no_op_and_hostile_flags(args, words, tmp_path):
    code, out, err = invoke(*args, "--output", tmp_path / "out")
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and words in lines[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, words", [("export", "--years: equalize export writes single-round LPs"),
                                         ("report", "multi-year rounds are not reported yet"),
                                         ("verify", "(--years 2); verify checks single rounds only")])
def test_the_single_round_commands_refuse_years_before_solving(name, words, allocation):
    tmp = allocation / f"years-{name}"
    tmp.mkdir()
    code, out, err = invoke(*command_args(name, tmp), "--years", "2")
    assert code == 2 and out == "" and err.strip().splitlines() == [err.strip()] and words in err, err
    assert list(tmp.iterdir()) == []
    # solve and explain take the same flag and phase the round in
    code, out, err = invoke(*command_args("explain", tmp), "--years", "2")
    assert code == 0 and "in 2025" in out, err


@pytest.mark.skipif(not can_drop_root(), reason="needs root and setpriv to run as an unprivileged user")
@pytest.mark.parametrize("name", ["solve", "export", "report"])
def test_a_read_only_output_folder_is_one_line_exit_1_nothing_written(name):
    """As user nobody, into a folder it cannot write: the documented failed write."""
    with world_dir() as tmp:
        shutil.copytree(TOY, tmp / "inst")
        (tmp / "ro").mkdir(mode=0o755)          # root's: nobody may read it, not write it
        (tmp / "home").mkdir()
        (tmp / "home").chmod(0o777)             # nobody's HOME: matplotlib's cache, not our concern here
        args = command_args(name, tmp / "ro", tmp / "inst")
        proc = subprocess.run([*NOBODY, str(EXE), *map(str, args)], capture_output=True, text=True,
                              env={**os.environ, "HOME": str(tmp / "home"), "MPLCONFIGDIR": str(tmp / "home")})
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"error: cannot write {tmp / 'ro'}/") and "Permission denied" in lines[0]
        assert list((tmp / "ro").iterdir()) == []
