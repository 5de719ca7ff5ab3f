"""equalize export: the LP file, solved by HiGHS alone (highspy's own reader), gives the
objective_value of equalize solve on the same options, with names carrying the region ids."""

from __future__ import annotations

import json
import re
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main

KOREA = Path(__file__).resolve().parents[1] / "instances" / "korea-17"
OBJECTIVES = ["min-cost", "maxmin", "min-shortfall", "leximin", "max-mean", "min-range", "min-mad",
              "min-gini", "owa", "cvar", "log-welfare"]
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gen") / "g40"
    assert invoke("generate", "--regions", "40", "--seed", "5", folder).exit_code == 0
    return folder


def solve_json(instance: Path, *opts: str) -> tuple[dict, pd.DataFrame]:
    res = invoke("solve", instance, "--format", "json", "--no-price-of-fairness", *opts)
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    return payload["summary"], pd.DataFrame(payload["allocation"])


def highs_solve(path: Path) -> tuple[float, dict[str, float], highspy.Highs]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    names = list(h.getLp().col_names_)
    x = dict(zip(names, h.getSolution().col_value, strict=True))
    return h.getInfo().objective_function_value, x, h


def expected_optimum(objective: str, summary: dict, text: str) -> float:
    if objective == "min-gini":
        return 0.0
    if objective == "leximin":
        return float(re.search(r"the optimum is the top level (\S+);", text.replace("\\ ", "")).group(1))
    if objective == "log-welfare" and "log_welfare" in summary:   # the tangent LP was the solve's path
        return float(summary["log_welfare"]["lp_value"])
    return float(summary["objective_value"])


def check_export(instance: Path, objective: str, tmp_path: Path, *opts: str, fmt: str = "lp") -> None:
    summary, alloc = solve_json(instance, "-o", objective, *opts)
    path = tmp_path / f"{objective}.{fmt}"
    res = invoke("export", instance, "-o", objective, *opts, f"--{fmt}", path)
    assert res.exit_code == 0, res.output
    text = path.read_text()
    value, x, h = highs_solve(path)
    want = expected_optimum(objective, summary, text)
    gap = re.search(r"at most\s+(\S+)\s+above it", text.replace("\\ ", ""))
    if objective == "log-welfare" and gap:   # exact welfare: the tangent LP bounds it from above
        assert want - 1e-9 <= value <= want + float(gap.group(1)) + 1e-9, (value, want, gap.group(1))
        return
    scale = max(1.0, abs(want)) if objective != "min-gini" else float(summary["metrics_after"]["mean_level"]) \
        if "mean_level" in summary["metrics_after"] else 1.0
    assert value == pytest.approx(want, rel=1e-6, abs=1e-7 * scale), (objective, value, want)
    lp = h.getLp()
    names = list(lp.col_names_) + list(lp.row_names_)
    assert all(NAME.match(n) for n in names) and len(set(names)) == len(names)
    id_map = dict(re.findall(r"id map: '([^']*)' -> (\w+)", text))
    ids = [id_map.get(r, r) for r in alloc["region_id"].astype(str)]
    t = np.array([x[f"transfer_{r}"] for r in ids])   # every region's transfer is a named column
    budget = float(summary["budget"])
    assert t.sum() <= budget * (1 + 1e-9) + 1e-6
    if objective == "leximin":   # unique optimum: the same transfers
        np.testing.assert_allclose(t, alloc["transfer"].to_numpy(float), rtol=1e-6, atol=1e-6 * budget / len(t))


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_korea_every_objective(objective, tmp_path):
    check_export(KOREA, objective, tmp_path)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_generated_every_objective(objective, generated, tmp_path):
    check_export(generated, objective, tmp_path)


@pytest.mark.parametrize("objective", ["maxmin", "leximin", "min-cost", "min-mad"])
def test_mps_and_policies(objective, generated, tmp_path):
    check_export(generated, objective, tmp_path, "--hold-harmless", "0.9", "--no-overtaking",
                 "--thresholds", "auto", fmt="mps")


@pytest.mark.parametrize("objective", ["maxmin", "leximin", "cvar"])
def test_soft_mode_holds_the_shortfall(objective, tmp_path):
    check_export(KOREA, objective, tmp_path, "--budget", "0.8x", "--thresholds", "soft", "--scarcity",
                 "shortfall-first")
    assert "shortfall_cap" in (tmp_path / f"{objective}.lp").read_text()


@pytest.mark.parametrize("objective", ["maxmin", "cvar", "max-mean"])
def test_scarcity_caps_are_bounds_of_the_exported_lp(objective, tmp_path):
    """--scarcity objective (the default): each threshold caps its region's transfer; the file
    carries the caps, so HiGHS alone reproduces the solve's value (max-mean would spend past
    the thresholds without them)."""
    check_export(KOREA, objective, tmp_path, "--budget", "0.8x", "--thresholds", "soft")
    text = (tmp_path / f"{objective}.lp").read_text()
    assert "shortfall_cap" not in text and re.search(r"transfer_gangwon <= ", text)


def test_min_cost_is_in_the_instance_unit(tmp_path):
    """min-cost's optimum is the required budget in KRW billion: no scaling left in the file."""
    summary, _ = solve_json(KOREA, "-o", "min-cost")
    invoke("export", KOREA, "-o", "min-cost", "--lp", tmp_path / "m.lp")
    value, x, _ = highs_solve(tmp_path / "m.lp")
    assert value == pytest.approx(summary["required_budget"], rel=1e-9)
    assert value == pytest.approx(56237.2, abs=0.1)   # docs: R(0.92) = 56,237.2 KRW billion


def test_ids_that_need_changing_are_mapped(generated, tmp_path):
    regions = pd.read_csv(generated / "regions.csv", dtype=str)
    regions.loc[0, "region_id"] = "r-00"
    regions.loc[1, "region_id"] = "R.00"   # both become r_00 up to case: kept unique
    folder = tmp_path / "renamed"
    folder.mkdir()
    (folder / "instance.toml").write_text((generated / "instance.toml").read_text())
    regions.to_csv(folder / "regions.csv", index=False)
    check_export(folder, "maxmin", tmp_path)
    text = (tmp_path / "maxmin.lp").read_text()
    assert "\\ id map: 'r-00' -> r_00" in text and "\\ id map: 'R.00' -> R_00_2" in text


@pytest.mark.parametrize("args", [[], ["--lp", "a.lp", "--mps", "a.mps"], ["--lp", "a.lp", "--bogus"],
                                  ["-o", "nosuch", "--lp", "a.lp"]])
def test_bad_flags_exit_2_and_write_nothing(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["export", str(KOREA), *args])
    assert res.exit_code == 2, res.output
    assert not list(tmp_path.iterdir())
