"""services.csv: validation, hand-solved toy-services in both modes (real HiGHS), properties."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.core.errors import InputError, UsageError
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.prepare.services import service_floors, services_frame, split_transfers
from tests.policy_helpers import ROOT

TS = ROOT / "instances" / "toy-services"


def run(objective="maxmin", **kw):
    return solve_round(load_instance(TS), SolveOptions(objective=objective), **kw)


def test_regions_mode_general_hand_solved():
    # elderly of a: 4/40 = 0.1, threshold 0.6 -> T_a >= 100 (0.6 - 0.1) = 50 (general split by need);
    # maxmin alone gives 50, 10, 0 with floor 0.7, so the service floor binds exactly on a.
    r = run()
    assert np.allclose(r.allocation["transfer"], [50, 10, 0])
    assert "service_floor" in r.allocation["binding"][0]
    s = r.tables["services"]
    assert np.allclose(s["transfer"], [20, 30, 5, 5, 0, 0])
    assert s["level_after"][0] == pytest.approx(0.6)


def test_regions_mode_earmarked_split_fills_thresholds_first():
    # floors: a 20 + 14 = 34; T_a = 50 -> 20 + 14 filled, 16 more by need: 6.4 and 9.6
    r = run(earmarked=True)
    assert np.allclose(r.allocation["transfer"], [50, 10, 0])
    assert np.allclose(r.tables["services"]["transfer"][:2], [26.4, 23.6])


def test_services_mode_earmarked_maxmin_hand_solved():
    # 40(z-0.1) + 60(z-0.2667) + 100(z-0.6) = 60 -> z = 0.7
    r = run(earmarked=True, fairness_over="services")
    assert r.summary["objective_value"] == pytest.approx(0.7)
    assert np.allclose(r.tables["services"]["transfer"], [24, 26, 5, 5, 0, 0])
    assert np.allclose(r.allocation["transfer"], [50, 10, 0])


def test_services_mode_general_maxmin_hand_solved():
    # L_{a,s} = own/N + T_a/100: the weakest is elderly 0.1; 100(z-0.1) + 100(z-0.6) = 60 -> z = 0.65
    r = run(fairness_over="services")
    assert r.summary["objective_value"] == pytest.approx(0.65)
    assert np.allclose(r.allocation["transfer"], [55, 5, 0])
    s = r.tables["services"]
    assert np.allclose(s["transfer"], [22, 33, 2.5, 2.5, 0, 0])   # need shares of T_r


@pytest.mark.parametrize("earmarked,cost", [(True, 34.0), (False, 50.0)])
def test_services_mode_min_cost(earmarked, cost):
    r = run("min-cost", earmarked=earmarked, fairness_over="services")
    assert r.summary["objective_value"] == pytest.approx(cost)
    assert (r.tables["services"]["level_after"] >= r.tables["services"]["threshold"] - 1e-9).all()


def test_services_mode_min_shortfall_runs_and_other_objectives_are_refused():
    r = solve_round(load_instance(TS), SolveOptions(objective="min-shortfall", budget=10.0),
                    earmarked=True, fairness_over="services")
    assert r.allocation["transfer"].sum() == pytest.approx(10.0)
    with pytest.raises(UsageError, match="fairness-over services"):
        run("leximin", fairness_over="services")


def _copy(tmp_path, services: str):
    for f in ("instance.toml", "regions.csv"):
        shutil.copy(TS / f, tmp_path / f)
    (tmp_path / "services.csv").write_text(services)
    return tmp_path


def test_validation_reports_every_problem_with_line_and_column(tmp_path):
    _copy(tmp_path, "region_id,service,need,threshold,own_revenue\n"
                    "a,elderly,40,0.6,4\n"
                    "a,elderly,60,0.5,16\n"      # duplicate (a, elderly)
                    "zz,transport,10,0.5,\n"     # unknown region
                    "b,elderly,0,0.6,\n"         # need must be > 0
                    "b,transport,50,x,\n")       # threshold not a number
    with pytest.raises(InputError) as e:
        load_instance(tmp_path)
    got = {(p.line, p.column) for p in e.value.problems}
    assert {(3, "service"), (4, "region_id"), (5, "need"), (6, "threshold")} <= got


def test_need_sum_and_partial_own_are_checked(tmp_path):
    _copy(tmp_path, "region_id,service,need,threshold,own_revenue\n"
                    "a,elderly,40,0.6,4\na,transport,61,0.5,16\n"     # 101 vs 100: > 0.1 %
                    "b,elderly,50,0.6,30\nb,transport,50,0.5,\n"      # own given for one of two
                    "c,elderly,100,0.6,90\n")
    with pytest.raises(InputError) as e:
        load_instance(tmp_path)
    msgs = " ".join(p.message for p in e.value.problems)
    assert "sum to 101" in msgs and "some services of 'b'" in msgs


def test_own_revenue_spread_by_need_when_absent(tmp_path):
    _copy(tmp_path, "region_id,service,need,threshold\na,x,40,0.5\na,y,60,\nb,x,100,0.5\nc,x,100,\n")
    svc = services_frame(load_instance(tmp_path))
    assert np.allclose(svc["own_revenue"], [8, 12, 60, 90])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(1, 100), st.floats(0, 100), st.floats(0, 1.2)), min_size=1, max_size=4),
       st.floats(0, 200), st.booleans())
def test_floor_is_the_least_transfer_meeting_every_threshold(rows, extra, earmarked):
    import pandas as pd

    need, own, theta = (np.array(c) for c in zip(*rows))
    svc = pd.DataFrame({"region_id": "r", "region_index": 0, "service": [f"s{i}" for i in range(len(rows))],
                        "need": need, "own_revenue": own, "threshold": theta})
    f = max(0.0, float(service_floors(svc, 1, theta, earmarked)[0]))
    for t in (f, f + extra):
        lv = (own + split_transfers(svc, np.array([t]), theta, earmarked)) / need
        assert np.all(lv >= theta - 1e-9)
        assert split_transfers(svc, np.array([t]), theta, earmarked).sum() == pytest.approx(t)
    if f > 1e-6:  # a little less than the floor misses some threshold
        lv = (own + split_transfers(svc, np.array([f * (1 - 1e-3)]), theta, earmarked)) / need
        assert np.any(lv < theta - 1e-12)


def test_cli_writes_services_csv(tmp_path):
    res = CliRunner().invoke(main, ["solve", str(TS), "--fairness-over", "services", "-O", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "services.csv").read_text().startswith("region_id,service,need")
    assert "service levels" in res.output
    bad = CliRunner().invoke(main, ["solve", str(ROOT / "instances" / "toy-3"), "--earmarked"])
    assert bad.exit_code == 2
