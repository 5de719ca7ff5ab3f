"""Issue 11, point 4: the ``reason`` column, derived from the binding tags, the duals and the
region's figures (optimizer/explain/reasons.py), never written per objective. Hand-solved
cases on toy instances, korea-17, and hypothesis properties on random instances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.core.policy import PolicyConfig
from optimizer.engine.solve import SolveOptions, solve
from optimizer.explain.reasons import TAG_REASONS, region_reasons
from optimizer.io.load import load_instance
from tests.conftest import write_instance
from tests.test_core_lp import SETTINGS, core_instance, rounds

TOY = [{"region_id": "a", "name": "Alpha", "population": 100, "own_revenue": 20, "fiscal_need": 100,
        "prior_transfer": 40, "max_transfer": ""},
       {"region_id": "b", "name": "Beta", "population": 200, "own_revenue": 60, "fiscal_need": 100,
        "prior_transfer": 10, "max_transfer": ""},
       {"region_id": "c", "name": "Gamma", "population": 100, "own_revenue": 90, "fiscal_need": 100,
        "prior_transfer": 0, "max_transfer": ""}]


def reasons_of(r) -> dict[str, str]:
    return dict(zip(r.allocation["region_id"], r.allocation["reason"]))


def test_toy_maxmin_reasons_by_hand(toy3):
    # Alpha and Beta are lifted to z = 0.7 (docs/math.md); Gamma's own 0.9 is above it
    r = solve(load_instance(toy3), SolveOptions(objective="maxmin"))
    assert reasons_of(r) == {"a": "lifted to the common level 0.7000", "b": "lifted to the common level 0.7000",
                             "c": "no transfer: its own level 0.9000 is above the floor 0.7000"}
    assert list(r.allocation.columns).index("reason") == list(r.allocation.columns).index("binding") + 1


def test_toy_cap_threshold_and_hold_harmless_reasons(tmp_path):
    rows = [dict(r) for r in TOY]
    rows[0]["max_transfer"] = 45
    inst = load_instance(write_instance(tmp_path / "cap", rows, budget=60, threshold=0.5))
    # Alpha capped at 45 -> 0.65 = the floor; Beta needs 5 to reach it (least transfer tie-break)
    r = solve(inst, SolveOptions(objective="maxmin"))
    assert r.allocation.transfer.tolist() == pytest.approx([45, 5, 0], abs=1e-7)
    assert reasons_of(r)["a"] == "lifted to the common level 0.6500; at its cap (max_transfer 45.0)"
    # min-cost: Alpha held at 0.5 (30); Beta at 0.6 needs nothing
    c = solve(inst, SolveOptions(objective="min-cost"))
    assert reasons_of(c) == {"a": "held at its threshold 0.5",
                             "b": "no transfer: its own level 0.6000 already meets its threshold 0.5",
                             "c": "no transfer: its own level 0.9000 already meets its threshold 0.5"}
    # hold-harmless 0.5: Beta keeps half of last year's 10
    h = solve(inst, SolveOptions(objective="min-cost", policy=PolicyConfig(hold_harmless=0.5)))
    assert h.allocation.transfer.tolist() == pytest.approx([30, 5, 0], abs=1e-7)
    assert reasons_of(h)["b"] == "hold-harmless: 50% of last year's 10.0"


def test_korea_reasons_and_soft_shortfall(korea17):
    inst = load_instance(korea17)
    r = solve(inst, SolveOptions(objective="maxmin"))
    got = reasons_of(r)
    assert got["gangwon"] == "lifted to the common level 0.9418"
    assert got["seoul"] == "no transfer: its own level 1.0936 is above the floor 0.9418"
    h = solve(inst, SolveOptions(objective="min-cost", policy=PolicyConfig(hold_harmless=0.5)))
    prior = inst.regions.set_index("region_id").loc["jeju", "prior_transfer"]
    assert reasons_of(h)["jeju"] == f"hold-harmless: 50% of last year's {prior:,.1f}"
    s = solve(inst, SolveOptions(objective="min-shortfall", budget=0.9 * inst.budget))
    assert reasons_of(s)["gangwon"] == ("below its threshold 0.92 by 0.1927 (the budget cannot meet every "
                                        "threshold)")
    # Jeonnam is 1.8e-7 short: within the check's tolerance it is held at its threshold
    assert reasons_of(s)["jeonnam"] == "held at its threshold 0.92"


def test_soft_phase_two_and_decomposition_say_why_the_dual_is_empty(korea17):
    inst = load_instance(korea17)
    # the shortfall-first rule's phase 2 (under --scarcity objective there is no held shortfall)
    soft = solve(inst, SolveOptions(objective="maxmin", budget=0.9 * inst.budget,
                                    objective_options={"thresholds": "soft", "scarcity": "shortfall-first"}))
    a = soft.allocation
    held = a["binding"].str.contains("threshold")
    assert held.any() and a.loc[held, "threshold_dual"].isna().all()
    assert a.loc[held, "reason"].str.contains("threshold dual left empty: not one number under soft").all()
    assert np.isnan(soft.summary["budget_shadow_price"])
    assert "no single price" in soft.summary["budget_shadow_price_text"]


def test_unknown_tags_still_read_and_every_tag_has_words():
    frame = pd.DataFrame({"transfer": [10.0], "level_before": [0.2], "level_after": [0.3], "threshold": [0.5],
                          "prior_transfer": [np.nan], "threshold_dual": [0.0], "binding": ["new_rule"]})
    assert region_reasons(frame) == ["new rule binds"]
    from optimizer.explain.policy_checks import CONTRIBUTION_TAG, TAGS

    policy_tags = {t for pair in TAGS.values() for t in pair if t is not None} | {CONTRIBUTION_TAG}
    assert policy_tags <= set(TAG_REASONS)   # a policy tag without words would read "x binds"


@pytest.mark.slow
@SETTINGS
@given(rounds(max_n=8), st.sampled_from(["maxmin", "min-cost", "max-mean", "min-shortfall"]))
def test_reasons_follow_the_tags_on_random_instances(tmp_path, rnd, objective):
    """Every region has a reason; it quotes the binding value of every tag it has; a region
    without tags and without transfer says 'no transfer'; a reason never names the objective."""
    inst = core_instance(tmp_path, *rnd)
    try:
        r = solve(inst, SolveOptions(objective=objective, price_of_fairness=False))
    except InfeasibleError:
        return
    for row in r.allocation.itertuples():
        tags = [t for t in (row.binding or "").split(";") if t]
        assert row.reason
        assert objective not in row.reason
        if "max_transfer" in tags:
            assert f"at its cap (max_transfer {row.transfer:,.1f})" in row.reason
        if "threshold" in tags:
            assert f"held at its threshold {row.threshold:.4g}" in row.reason
        if "floor" in tags:
            assert f"lifted to the common level {row.level_after:.4f}" in row.reason
        if not tags and abs(row.transfer) <= 1e-9 * max(1.0, r.allocation.transfer.abs().max()):
            assert row.reason.startswith("no transfer: its own level")


@pytest.mark.slow
@SETTINGS
@given(rounds(max_n=6))
def test_same_tags_and_figures_same_reason_whatever_the_objective(tmp_path, rnd):
    inst = core_instance(tmp_path, *rnd)
    seen: dict[tuple, str] = {}
    for objective in ("maxmin", "leximin", "max-mean"):
        try:
            r = solve(inst, SolveOptions(objective=objective, price_of_fairness=False))
        except InfeasibleError:
            return
        a = r.allocation
        floored = a["binding"].str.contains("floor")
        floor = round(float(a.loc[floored, "level_after"].min()), 6) if floored.any() else None
        for row in a.itertuples():   # the round's common level is part of what a reason reads
            key = (row.region_id, row.binding, round(row.transfer, 6), round(row.level_after, 6), floor)
            assert seen.setdefault(key, row.reason) == row.reason
