"""groups.csv, group constraints (hand-solved) and merges (totals conserved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.core.errors import InfeasibleError, InputError
from optimizer.core.groups import Group
from optimizer.io.load import load_instance
from optimizer.prepare.merge import merge_effect, merge_regions
from tests.policy_helpers import KOREA, run, toy, transfers


def _toy_with_groups(tmp_path, bounds: dict, budget=60.0):
    inst = toy(budget=budget, path=tmp_path, groups=[Group("ab", "union", ("r0", "r1"), **bounds)])
    return inst


@pytest.mark.parametrize("engine", ["direct", "pyomo"])
def test_group_total_transfer_cap_hand_solved(tmp_path, engine):
    # T_a + T_b <= 30, b already at 0.6: only a is lifted, floor = (20 + 30)/100 = 0.5
    r = run(_toy_with_groups(tmp_path, {"max_transfer": 30.0}), engine=engine)
    assert np.allclose(transfers(r), [30, 0, 0])
    assert r.summary["objective_value"] == pytest.approx(0.5)


def test_group_min_level_hand_solved(tmp_path):
    # min-cost, thresholds 0.5 need T_a >= 30; (80 + T_a + T_b)/200 >= 0.75 needs T_a + T_b >= 70
    r = run(_toy_with_groups(tmp_path, {"min_level": 0.75}, budget=100), "min-cost")
    t = transfers(r)
    assert t.sum() == pytest.approx(70) and t[0] >= 30 - 1e-9 and t[2] == 0
    assert r.summary["required_budget"] == pytest.approx(70)


def test_group_min_level_conflict_names_the_family(tmp_path):
    with pytest.raises(InfeasibleError) as exc:
        run(_toy_with_groups(tmp_path, {"min_level": 0.75}, budget=60), "min-cost")
    assert exc.value.summary["required_budget"] == pytest.approx(70)
    assert {c["family"] for c in exc.value.summary["conflicts"]} <= {"group_level", "budget"}


def test_groups_csv_problems_are_all_reported(tmp_path):
    for name in ("instance.toml", "regions.csv"):
        (tmp_path / name).write_text((KOREA.parent / "toy-3" / name).read_text())
    (tmp_path / "groups.csv").write_text("group_id,region_id,kind\ng,a,union\ng,zz,union\nh,b,merge\ng,a,union\n")
    with open(tmp_path / "instance.toml", "a") as fh:
        fh.write("\n[groups.g]\nmin_level = -1\n[groups.nope]\nmin_level = 1\n")
    with pytest.raises(InputError) as exc:
        load_instance(tmp_path)
    text = "\n".join(str(p) for p in exc.value.problems)
    assert "unknown region 'zz'" in text and "kind must be" in text and "listed twice" in text
    assert "groups.g.min_level" in text and "[groups.nope]" in text


def test_merge_conserves_totals_and_maps_members():
    inst = load_instance(KOREA)
    m = merge_regions(inst, [["busan", "gyeongnam"], ["daegu", "gyeongbuk"]])
    assert len(m.regions) == len(inst.regions) - 2
    for col in ("population", "own_revenue", "fiscal_need", "prior_transfer"):
        assert m.regions[col].sum() == pytest.approx(inst.regions[col].sum(), rel=1e-12)
    row = m.regions.set_index("region_id").loc["busan+gyeongnam"]
    src = inst.regions.set_index("region_id").loc[["busan", "gyeongnam"]]
    assert row["own_revenue"] == pytest.approx(src["own_revenue"].sum())
    assert row["merged_from"] == "busan+gyeongnam"
    assert m.applied["merges"] == [["busan", "gyeongnam"], ["daegu", "gyeongbuk"]]


def test_merger_guarantee_and_effect_hand_solved():
    # merge a and b of toy-3: own 80, need 200, prior 50. min-cost with thresholds 0.5 needs 20,
    # the guarantee 50; maxmin with budget 60: T_ab = 60 (>= 50), floor 0.7 as without merger.
    merged = merge_regions(toy(), [["r0", "r1"]])
    r = run(merged, "min-cost", merger_guarantee=True)
    assert np.allclose(transfers(r), [50, 0])
    with pytest.raises(InfeasibleError) as exc:
        run(merge_regions(toy(budget=40), [["r0", "r1"]]), "min-cost", merger_guarantee=True)
    assert exc.value.summary["required_budget"] == pytest.approx(50)
    base, after = run(toy()), run(merged, merger_guarantee=True)
    eff = merge_effect(base.allocation, after.allocation)
    row = eff.set_index("region_id").loc["r0+r1"]
    assert row["transfer_without_merger"] == pytest.approx(60)   # 50 + 10 without the merger
    assert row["transfer_with_merger"] == pytest.approx(60)
    assert row["level_without_merger"] == pytest.approx(0.7)
    assert eff["transfer_with_merger"].sum() == pytest.approx(base.allocation["transfer"].sum())


def test_merge_effect_nested_merge_by_hand():
    """A scenario merged a+b; the run merges a+b with c: the unit's 'before' is the a+b row plus
    c; a region absent from the merger keeps its own row; sums by hand."""
    base = pd.DataFrame({"region_id": ["a+b", "c", "d"], "own_revenue": [30.0, 10.0, 50.0],
                         "fiscal_need": [100.0, 50.0, 60.0], "transfer": [40.0, 15.0, 5.0]})
    merged = pd.DataFrame({"region_id": ["a+b+c", "d"], "merged_from": ["a+b+c", None],
                           "transfer": [50.0, 10.0], "level_after": [0.6, 1.0]})
    eff = merge_effect(base, merged).set_index("region_id")
    assert eff.loc["a+b+c", "transfer_without_merger"] == 55.0
    assert eff.loc["a+b+c", "level_without_merger"] == pytest.approx((40 + 55) / 150)
    assert eff.loc["a+b+c", "transfer_change"] == -5.0 and bool(eff.loc["a+b+c", "merged"])
    assert eff.loc["d", "transfer_without_merger"] == 5.0 and not bool(eff.loc["d", "merged"])
    assert eff.loc["d", "level_change"] == pytest.approx(1.0 - 55 / 60)
