"""The benchmark's reference (bench/raw_highspy.py, numpy + highspy, written without
``models``) and the project's LP are the same LP: same matrix, bounds, cost and sense,
and the same optimal objective. Also: the vectorised regions.csv reader
(optimizer/fast_regions.py) builds the very frame of the exact reader, and declines
every file the exact reader would complain about."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import optimizer.engine.highs as highs_mod
from bench import raw_highspy as raw
from optimizer.core.errors import InputError
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io import load as inst_mod
from optimizer.io import validation as v
from optimizer.io.generate import generate
from optimizer.io.read import read_csv_rows
from optimizer.io.regions_csv import read_regions_fast

N = 200


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("gen200")
    g = generate(N, seed=1)
    (d / "regions.csv").write_text(g.regions.to_csv(index=False, lineterminator="\n"))
    (d / "instance.toml").write_text(g.toml)
    return d


def _project_lp(folder: Path, objective: str, monkeypatch):
    """The LinearProgram the project's own path hands to HiGHS (first LP of the solve)."""
    seen = []
    real = highs_mod.to_highs_lp

    def spy(lp):
        seen.append(lp)
        return real(lp)

    monkeypatch.setattr(highs_mod, "to_highs_lp", spy)
    fields = SolveOptions.__dataclass_fields__   # the LP itself: no extra LP, no closed form
    extra = {k: False for k in ("price_of_fairness", "fast_path") if k in fields}
    res = solve(inst_mod.load_instance(folder), SolveOptions(objective=objective, tie_break=False, **extra))
    assert seen, "the project's path did not go through optimizer.engine.highs.to_highs_lp"
    return seen[0], res


@pytest.mark.parametrize("objective", ["maxmin", "min-shortfall"])
def test_raw_highspy_builds_the_projects_lp(folder, objective, monkeypatch):
    lp, res = _project_lp(folder, objective, monkeypatch)
    d = raw.read_instance(folder)
    ref = raw.build(objective, **d)
    assert (lp.num_col, lp.num_row) == (ref.num_col, ref.num_row)
    assert lp.maximize == ref.maximize and lp.offset == 0.0
    np.testing.assert_array_equal(lp.cost, ref.cost)
    np.testing.assert_array_equal(lp.col_lower, ref.col_lower)
    np.testing.assert_array_equal(lp.col_upper, ref.col_upper)
    np.testing.assert_array_equal(lp.row_lower, ref.row_lower)
    np.testing.assert_array_equal(lp.row_upper, ref.row_upper)
    A = sp.csc_array(lp.A)
    B = sp.csc_array((ref.value, ref.index, ref.start), shape=(ref.num_row, ref.num_col))
    A.sort_indices()
    B.sort_indices()
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)
    # ... and the same optimum, through both paths
    out = raw.solve(objective, **d)
    assert out["status"] == "Optimal" and res.summary["status"] == "optimal"
    assert res.summary["objective_value"] == pytest.approx(out["objective_value"], rel=1e-9, abs=1e-9)


# --- fast regions.csv reader ------------------------------------------------------

def _exact(path: Path):
    problems: list = []
    header, rows = read_csv_rows(path, problems)
    known = set(v.REQUIRED_COLUMNS) | set(v.OPTIONAL_NUMERIC)
    extra = [c for c in header if c not in known and c]
    frame = inst_mod.parse_regions(str(path), header, rows, extra, problems)
    return header, frame, problems


GOOD = ("region_id,name,population,own_revenue,fiscal_need,threshold,min_transfer,max_transfer,weight,note\n"
        "a, Alpha ,100,1.5,2e1,,0,,,x y\n"
        "b,Beta,200.0,0,3.25,0.8,1,2,0.5, z\n"
        "\n"
        "c,Gamma,300,7,9,,,5,1,\n")


@pytest.mark.parametrize("text", [
    GOOD, GOOD.replace("\n", "\r\n"), GOOD.rstrip("\n"),
    "region_id,name,population,own_revenue,fiscal_need\nr1,One,10,1,2\nr2,Two,10.5,1,2\n",
])
def test_fast_reader_builds_the_exact_frame(tmp_path, text):
    p = tmp_path / "regions.csv"
    p.write_bytes(text.encode())
    fast = read_regions_fast(p, min_bytes=0)
    header, frame, problems = _exact(p)
    assert not problems and fast is not None
    assert fast[0] == header
    pd.testing.assert_frame_equal(fast[1], frame, check_exact=True)


@pytest.mark.parametrize("bad", [
    "a,A,1_000,1,2", "a,A,,1,2", "a,A,x,1,2", "a,A,nan,1,2", "a,A,inf,1,2", "a,A,0,1,2",
    "a,A,1,-1,2", "a,A,1,1", "a,A,1,1,2,9", 'a,"A",1,1,2', "r1,A,1,1,2", " , , , , ",
    "a,A,1,1,2 ", "   ",
])
def test_fast_reader_declines_what_the_exact_reader_reports(tmp_path, bad):
    p = tmp_path / "regions.csv"
    p.write_text("region_id,name,population,own_revenue,fiscal_need\nr1,One,10,1,2\n" + bad + "\n")
    header, frame, problems = _exact(p)
    fast = read_regions_fast(p, min_bytes=0)
    if problems:
        assert fast is None
    elif fast is not None:  # accepted: must be the exact frame
        pd.testing.assert_frame_equal(fast[1], frame, check_exact=True)


def test_large_file_goes_fast_and_errors_stay_exact(tmp_path, folder, monkeypatch):
    monkeypatch.setattr(read_regions_fast, "__defaults__", (0,))  # min_bytes=0: every file is "large"
    inst = inst_mod.load_instance(folder)
    assert inst.n == N
    d = tmp_path / "bad"
    d.mkdir()
    (d / "instance.toml").write_text((folder / "instance.toml").read_text())
    text = (folder / "regions.csv").read_text().splitlines()
    cells = text[5].split(",")      # line 6 of the file; column 3 is population
    cells[2] = "12_0"
    text[5] = ",".join(cells)
    (d / "regions.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(InputError) as exc:
        inst_mod.load_instance(d)
    msgs = [str(p) for p in exc.value.problems]
    assert any("line 6" in m and "population" in m and "'12_0' is not a number" in m for m in msgs), msgs
