"""The optional parts of an instance are parsed once, at load: a loaded Instance solves with a
scenario, a merge, its policy, groups, phasing and services after its folder is gone (proof
that no later stage reads a file or parses the TOML again), with the same result as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimizer.core.groups import Group
from optimizer.core.phasing import Phasing
from optimizer.core.policy import PolicyConfig
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.prepare.scenarios import prepare

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
EXTRA_TOML = """
[policy]
hold_harmless = 0.5

[groups.chungcheong]
max_transfer = 20000.0
"""
PHASING_TOML = """
[phasing]
years = 2
budget_growth = 0.05
"""


def _copy(src: Path, dst: Path, extra: str = "") -> Path:
    shutil.copytree(src, dst)
    with open(dst / "instance.toml", "a", encoding="utf-8") as f:
        f.write(extra)
    return dst


def _gone(folder: Path):
    inst = load_instance(folder)
    shutil.rmtree(folder)
    return inst


ROUNDS = [
    ("scenario", dict(scenario="chungcheong-union")),
    ("scenario with merges", dict(scenario="both-mergers")),
    ("merge group", dict(merge_groups=["busan-gyeongnam"])),
    ("merge", dict(merges=[["daegu", "gyeongbuk"]])),
    ("policy and groups", dict()),
]


@pytest.mark.parametrize("name, how", ROUNDS, ids=[r[0] for r in ROUNDS])
def test_korea_solves_after_its_folder_is_deleted(tmp_path, name, how):
    folder = _copy(INSTANCES / "korea-17", tmp_path / "korea", EXTRA_TOML)
    expected = solve_round(prepare(load_instance(folder), **how), SolveOptions())
    inst = _gone(folder)
    assert inst.policy == PolicyConfig(hold_harmless=0.5)
    assert Group("chungcheong", "union", ("daejeon", "sejong", "chungbuk", "chungnam"),
                 max_transfer=20000.0) in inst.groups
    assert "chungcheong-union" in inst.scenarios
    got = solve_round(prepare(inst, **how), SolveOptions())
    assert got.summary["status"] == expected.summary["status"] == "optimal"
    assert got.summary["objective_value"] == pytest.approx(expected.summary["objective_value"])
    assert list(got.allocation["transfer"]) == pytest.approx(list(expected.allocation["transfer"]))
    assert got.summary.get("applied") == expected.summary.get("applied")


def test_scenario_applies_to_the_parsed_parts(tmp_path):
    inst = _gone(_copy(INSTANCES / "korea-17", tmp_path / "korea", EXTRA_TOML))
    merged = prepare(inst, "both-mergers")
    assert merged.policy == PolicyConfig(hold_harmless=0.5, merger_guarantee=True)
    assert merged.n == 15 and inst.n == 17
    union = prepare(inst, "chungcheong-union")
    bounds = {g.id: (g.max_transfer, g.min_level) for g in union.groups}
    assert bounds["chungcheong"] == (20000.0, 0.95)   # the scenario's bound added, the instance's kept
    assert {g.id: g.min_level for g in inst.groups}["chungcheong"] is None  # the loaded one untouched


def test_phasing_solves_after_the_folder_is_deleted(tmp_path):
    folder = _copy(INSTANCES / "toy-3", tmp_path / "toy", PHASING_TOML)
    expected = solve_round(load_instance(folder), SolveOptions())
    inst = _gone(folder)
    assert inst.phasing == Phasing(years=2, budget_growth=0.05)
    got = solve_round(inst, SolveOptions())
    assert [y["budget_used"] for y in got.summary["years"]] == \
        pytest.approx([y["budget_used"] for y in expected.summary["years"]])


@pytest.mark.parametrize("fairness_over", ["regions", "services"])
def test_services_solve_after_the_folder_is_deleted(tmp_path, fairness_over):
    folder = _copy(INSTANCES / "toy-services", tmp_path / "svc")
    expected = solve_round(load_instance(folder), SolveOptions(), fairness_over=fairness_over)
    inst = _gone(folder)
    assert inst.services is not None and len(inst.services) == 6
    got = solve_round(inst, SolveOptions(), fairness_over=fairness_over)
    assert list(got.tables["services"]["transfer"]) == \
        pytest.approx(list(expected.tables["services"]["transfer"]))
