"""Issue 10, classes 1, 3 and 7 for ``equalize sweep``: --budget and --threshold ranges parse
each end on its own (a multiple and an amount never mix silently), POINTS is an integer from 1
to 10,000, the whole sweep is bounded, and a sweep whose points all fail exits non-zero."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.core.errors import UsageError
from optimizer.io.load import load_instance
from optimizer.studies.sweep import parse_values, sweep
from tests.conftest import INSTANCES

TOY = INSTANCES / "toy-3"   # budget 60


def run(*args: str):
    return CliRunner().invoke(main, ["sweep", str(TOY), *args])


@pytest.mark.parametrize("option,value,words", [
    ("--budget", "0.5x:90:3", ["mixes"]),
    ("--budget", "30:2x:3", ["mixes"]),
    ("--budget", "0.5x:2x:0", ["points"]),
    ("--budget", "0.5x:2x:-2", ["points"]),
    ("--budget", "0.5x:2x:2.5", ["points"]),
    ("--budget", "0.5x:2x:1e9", ["points"]),
    ("--budget", "0.5x:2x:10001", ["10,000"]),
    ("--budget", "0.5x:2x:1", ["points >= 2"]),
    ("--budget", "abc:2x:3", ["'abc'"]),
    ("--budget", "0.5x:2x", ["FROM:TO:POINTS"]),
    ("--budget", "::", ["''"]),
    ("--budget", "-1", ["'-1'"]),
    ("--threshold", "0.5x:0.9:3", ["'0.5x'"]),
    ("--threshold", "0.5:0.9:0", ["points"]),
    ("--threshold", "0.5:0.9:1", ["points >= 2"]),
    ("--threshold", "high", ["'high'"]),
    ("--threshold", "nan", ["'nan'"]),
    ("--threshold", "0.1:0.9:abc", ["points"]),
])
def test_bad_range_is_exit_2_naming_the_option(tmp_path, option, value, words):
    out = tmp_path / "out"
    res = run(option, value, "--output", str(out))
    assert res.exit_code == 2, res.output
    line = res.stderr.splitlines()[0]
    assert line.startswith(f"error: {option}: "), line
    assert all(w in line for w in words), line
    assert not out.exists()


def test_each_end_is_parsed_on_its_own():
    inst = load_instance(TOY)
    assert parse_values("30:60:3", inst.budget, "budget") == [30.0, 45.0, 60.0]
    assert parse_values("0.5x:1x:3", inst.budget, "budget") == [30.0, 45.0, 60.0]
    assert parse_values("0.4:0.5:2", None, "threshold") == [0.4, 0.5]
    assert parse_values("1x:1x:1", inst.budget, "budget") == [60.0]


def test_the_whole_sweep_is_bounded():
    inst = load_instance(TOY)
    budgets = parse_values("0.5x:2x:10000", inst.budget, "budget")
    with pytest.raises(UsageError, match="10,000"):
        sweep(inst, budgets, [0.4, 0.5])
    res = run("--budget", "0.5x:2x:5000", "--threshold", "0.1:0.9:3")
    assert res.exit_code == 2 and "15,000 points" in res.output


def test_all_points_failing_exits_non_zero(tmp_path):
    # a budget beyond the accepted range (docs/reliability.md) fails every point on bad input:
    # exit 2 and nothing written, as for any other bad input
    res = run("--budget", "1e300", "--threshold", "0", "-o", "maxmin", "--output", str(tmp_path / "o"))
    assert res.exit_code == 2, res.output
    assert "every point failed on bad input" in res.stderr and "--budget" in res.stderr
    assert not (tmp_path / "o" / "frontier.csv").exists()
    ok = run("--budget", "0.5x:1x:2", "--threshold", "0.9")   # infeasible points are answers
    assert ok.exit_code == 0, ok.output


RANGE_PART = st.one_of(st.sampled_from(["0.5x", "2x", "x", "-1", "1e999", "nan", "", " ", "abc", "1,5"]),
                       st.integers(-5, 20).map(str), st.floats(allow_nan=True).map(repr),
                       st.text(max_size=4))


@settings(max_examples=80, deadline=None)
@given(parts=st.lists(RANGE_PART, min_size=1, max_size=4), option=st.sampled_from(["--budget", "--threshold"]))
def test_range_options_exit_0_or_2_never_a_traceback(parts, option):
    res = run(option, ":".join(parts), "-o", "min-shortfall")
    assert res.exception is None or isinstance(res.exception, SystemExit), (parts, res.exception)
    assert res.exit_code in (0, 2), res.output
    if res.exit_code == 2:
        assert res.stderr.startswith("error: "), res.output


@pytest.mark.parametrize("objective", ["max-mean", "maxmin", "min-shortfall"])
def test_a_point_out_of_range_is_bad_input_on_every_sweep_path(objective):
    """The persistent model and the fast paths skip solve(): each point still passes the
    round check (a budget of 1e20 was 'optimal' on the persistent path)."""
    for extra in ((), ("--no-fast-path",)):
        res = run("--budget", "1e20:2e20:2", "-o", objective, *extra)
        assert res.exit_code == 2, res.output
        assert "every point failed on bad input" in res.stderr and "--budget" in res.stderr
