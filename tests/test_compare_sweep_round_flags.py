"""compare and sweep take the round's policy flags, --scenario and --merge, and sweep the
objective's options, as solve does: every row (or point) is the answer ``equalize solve``
gives with the same flags, and a hostile value is one line, exit 2, nothing written."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from tests.test_cli_round_flags import KOREA, SUMMARY, TOY


def invoke(*args) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [str(a) for a in args], prog_name="equalize")
    return res.exit_code, res.stdout, res.stderr


def solved(*args) -> pd.DataFrame:
    """``equalize solve ... --format csv``: the allocation of one round."""
    code, out, err = invoke("solve", *args, "--format", "csv")
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


POLICY = ["--hold-harmless", "0.8", "--change-limit", "0.3", "--thresholds", "auto"]


@pytest.mark.parametrize("objective", ["maxmin", "leximin", "min-gini"])
def test_compare_with_a_scenario_and_policy_flags_gives_solves_answers(objective, tmp_path):
    code, _, err = invoke("compare", KOREA, "--objectives", objective, "-S", "busan-gyeongnam-merger",
                          *POLICY, "--output", tmp_path / "cmp")
    assert code == 0, err
    got = pd.read_csv(tmp_path / "cmp" / f"allocation-{objective}.csv")
    want = solved(KOREA, "-o", objective, "-S", "busan-gyeongnam-merger", *POLICY)
    assert len(got) == 16   # the merger is applied: 17 regions less one
    assert list(got["region_id"]) == list(want["region_id"])
    np.testing.assert_allclose(got["transfer"], want["transfer"], rtol=1e-9, atol=1e-6)
    # and the policy flags bite: the hold-harmless floor holds on every region
    prior = want["prior_transfer"].to_numpy() if "prior_transfer" in want else None
    if prior is not None:
        assert (got["transfer"].to_numpy() >= 0.8 * prior - 1e-6).all()


def test_compare_with_a_merge_flag_matches_solve(tmp_path):
    code, out, err = invoke("compare", KOREA, "--objectives", "maxmin,min-shortfall", "--merge", "daegu,gyeongbuk",
                            "--output", tmp_path / "cmp")
    assert code == 0, err
    for name in ("maxmin", "min-shortfall"):
        got = pd.read_csv(tmp_path / "cmp" / f"allocation-{name}.csv")
        want = solved(KOREA, "-o", name, "--merge", "daegu,gyeongbuk")
        assert len(got) == 16
        np.testing.assert_allclose(got["transfer"], want["transfer"], rtol=1e-9, atol=1e-6)


def test_compare_scenarios_apply_the_policy_flags_to_every_row():
    code, out, err = invoke("compare", KOREA, "--scenarios", "daegu-gyeongbuk-merger", "--objectives", "maxmin",
                            "--hold-harmless", "0.8")
    assert code == 0, err
    for scenario in ("base", "daegu-gyeongbuk-merger"):
        row = next(line for line in out.splitlines() if line.startswith(scenario + " "))
        args = [] if scenario == "base" else ["-S", scenario]
        code, text, err = invoke("solve", KOREA, "-o", "maxmin", "--hold-harmless", "0.8", *args)
        assert code == 0, err
        assert row.split()[3] == "optimal"
        assert f"{float(row.split()[4]):.4f}" in text   # the min level solve reports


@pytest.mark.parametrize("budget", ["1x", "1.1x"])
def test_sweep_points_under_policy_flags_are_solves_answers(budget, tmp_path):
    code, _, err = invoke("sweep", KOREA, "-o", "leximin", "--budget", f"{budget}:1.2x:2", *POLICY,
                          "--output", tmp_path / "sw")
    assert code == 0, err
    frontier = pd.read_csv(tmp_path / "sw" / "frontier.csv")
    allocs = pd.read_parquet(tmp_path / "sw" / "allocations.parquet")
    assert (frontier["status"] == "optimal").all()
    for point, b in zip(frontier["point"], frontier["budget"]):
        want = solved(KOREA, "-o", "leximin", "--budget", repr(float(b)), *POLICY)
        got = allocs[allocs["point"] == point]
        np.testing.assert_allclose(got["transfer"], want["transfer"], rtol=1e-9, atol=1e-6)


def test_sweep_policy_flags_change_the_answer_and_are_not_ignored():
    """Without the flag the leximin frontier differs: the flag is applied, not dropped."""
    args = ["sweep", KOREA, "-o", "leximin", "--budget", "1.2x"]
    _, with_flag, _ = invoke(*args, "--hold-harmless", "0.95")
    _, without, _ = invoke(*args)
    level = lambda text: float(text.splitlines()[2].split()[4])  # noqa: E731
    assert level(with_flag) < level(without) - 1e-3


def test_sweep_takes_the_objective_options(tmp_path):
    code, _, err = invoke("sweep", KOREA, "-o", "cvar", "--alpha", "0.3", "--budget", "1x", "--output",
                          tmp_path / "sw")
    assert code == 0, err
    value = pd.read_csv(tmp_path / "sw" / "frontier.csv")["objective_value"].iloc[0]
    code, out, err = invoke("solve", KOREA, "-o", "cvar", "--alpha", "0.3", "--format", "json")
    assert code == 0, err
    assert f"{value:.6g}" in out or abs(value - float(out.split('"objective_value": ')[1].split(",")[0])) < 1e-9


def test_sweep_with_a_scenario_sweeps_the_scenario(tmp_path):
    code, _, err = invoke("sweep", KOREA, "-S", "both-mergers", "--budget", "1x", "--output", tmp_path / "sw")
    assert code == 0, err
    allocs = pd.read_parquet(tmp_path / "sw" / "allocations.parquet")
    assert len(allocs) == 15


@pytest.mark.parametrize("args, words", [
    (["sweep", TOY, "--alpha", "7", "-o", "cvar"], "--alpha"),
    (["sweep", TOY, "--hold-harmless", "-1"], "--hold-harmless"),
    (["sweep", TOY, "--merge", "a,nowhere"], "nowhere"),
    (["sweep", TOY, "-S", "no-such-scenario"], "no-such-scenario"),
    (["compare", TOY, "--merge-group", "nope"], "--merge-group"),
    (["compare", TOY, "--scenarios", "all", "-S", "x"], "--scenarios"),
    (["compare", TOY, "--per-capita-cap", "nan"], "--per-capita-cap"),
])
def test_hostile_round_flags_on_compare_and_sweep_are_one_line_exit_2(args, words, tmp_path):
    code, out, err = invoke(*args, "--output", tmp_path / "out")
    # one line, with the documented count line of a gathered check when there is one
    lines = [line for line in err.strip().splitlines() if not SUMMARY.match(line)]
    assert code == 2 and out == "" and len(lines) == 1 and words in lines[0], err
    assert list(tmp_path.iterdir()) == []
