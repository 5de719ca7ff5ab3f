"""A formula is an objective name wherever a name is taken: instance.toml's [objective] name,
a scenario's objective, a batch spec, a flag, the Python API and the workbook template's
drop-down; a wrong name anywhere is the same one message, listing objectives and formulas."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import optimizer
from optimizer.cli import main
from optimizer.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
KOREA = ROOT / "instances" / "korea-17"


def invoke(*args) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [str(a) for a in args], prog_name="equalize")
    return res.exit_code, res.stdout, res.stderr


def korea_with(tmp_path: Path, objective: str, scenario_objective: str | None = None) -> Path:
    folder = tmp_path / "k"
    shutil.copytree(KOREA, folder)
    toml = folder / "instance.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('[objective]\nname = "maxmin"', f'[objective]\nname = "{objective}"')
    if scenario_objective is not None:
        text += f'\n[scenarios.baseline]\ndescription = "the law"\nobjective = "{scenario_objective}"\n'
    toml.write_text(text, encoding="utf-8")
    return folder


def allocation(*args) -> pd.DataFrame:
    code, out, err = invoke("solve", *args, "--format", "csv")
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


def test_a_formula_as_the_instances_objective_is_the_formulas_round(tmp_path):
    folder = korea_with(tmp_path, "korea-lst")
    got = allocation(folder)
    want = allocation(KOREA, "-o", "korea-lst")
    np.testing.assert_array_equal(got["transfer"].to_numpy(), want["transfer"].to_numpy())
    code, out, err = invoke("solve", folder, "--format", "json")
    assert code == 0 and '"status": "computed"' in out and '"objective": "korea-lst"' in out, err
    # a flag still overrides the file's name
    assert allocation(folder, "-o", "maxmin")["transfer"].sum() == pytest.approx(want["transfer"].sum(), rel=1e-6)


def test_a_scenario_can_name_a_formula(tmp_path):
    folder = korea_with(tmp_path, "maxmin", scenario_objective="per-capita")
    got = allocation(folder, "-S", "baseline")
    pop = got["population"].to_numpy(dtype=float)
    np.testing.assert_allclose(got["transfer"], got["transfer"].sum() * pop / pop.sum(), rtol=1e-12)
    code, out, err = invoke("compare", folder, "--scenarios", "baseline")
    assert code == 0, err
    assert [line.split()[2:4] for line in out.splitlines() if line.startswith("baseline ")] == \
        [["per-capita", "computed"]]


@pytest.mark.parametrize("where, make", [
    ("instance.toml, column 'objective.name'", lambda tmp: ["solve", korea_with(tmp, "korea-lts")]),
    ("scenarios.baseline.objective", lambda tmp: ["solve", korea_with(tmp, "maxmin", "korea-lts")]),
    ("--objective", lambda tmp: ["verify", KOREA, tmp / "a.csv", "--objective", "korea-lts"]),
])
def test_a_misspelt_formula_is_one_message_naming_where_and_the_formula(where, make, tmp_path):
    code, out, err = invoke(*make(tmp_path))
    first = err.strip().splitlines()[0]
    assert code == 2 and out == "" and where in first, err
    assert "did you mean 'korea-lst'?" in first and "formulas: canada, germany" in first


def test_the_python_api_and_a_batch_spec_take_the_same_names(tmp_path):
    with pytest.raises(UsageError, match=r"unknown objective 'korea-lts' \(did you mean 'korea-lst'\?\).*formulas"):
        optimizer.solve(KOREA, objective="korea-lts")
    assert optimizer.solve(KOREA, objective="japan-lat").status == "computed"
    spec = tmp_path / "s.toml"
    spec.write_text(f'instances = ["{KOREA}"]\nobjectives = ["korea-lts"]\n', encoding="utf-8")
    code, out, err = invoke("batch", spec, "--output", tmp_path / "b")
    assert code == 2 and "did you mean 'korea-lst'?" in err and not (tmp_path / "b").exists()


def test_the_template_workbooks_objective_drop_down_lists_the_formulas(tmp_path):
    code, _, err = invoke("template", tmp_path / "new.xlsx")
    assert code == 0, err
    ws = openpyxl.load_workbook(tmp_path / "new.xlsx")["settings"]
    row = next(c.row for c in ws["A"] if c.value == "objective.name")
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation if f"B{row}" in str(dv.sqref)]
    assert len(lists) == 1
    names = lists[0].strip('"').split(",")
    assert names[:2] == ["min-cost", "maxmin"] and "korea-lst" in names and "per-capita" in names
    assert len(lists[0]) <= 255   # Excel's limit on an explicit list
