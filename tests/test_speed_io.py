"""Issue 14, the floor: what makes `equalize solve` cheap at 1e6 regions changes no byte.

- the CLI loads its commands lazily: `equalize solve` never imports batch (dask), sweep,
  the studies layer or Pyomo, checked on ``sys.modules`` of a real run in a subprocess;
- allocation.csv and summary.json (timings aside) are byte-identical to the files the CLI
  wrote before these changes (tests/data/speed/expected.json: korea-17, and a generated
  6,000-region instance, large enough for the Arrow reader of regions.csv);
- Arrow's cast of a decimal text gives Python's ``float`` of it (the reader relies on it);
- the column-wise formatting of reasons gives ``format(v, spec)`` for every value,
  at rounding ties, signed zeros, NaN and infinities included;
- the Arrow reader strips Unicode spaces as Python does and declines padded numbers.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.cli import COMMANDS, load_command
from optimizer.core.ordering import stable_argsort
from optimizer.core.text_columns import format_floats, format_template
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io import csv_out
from optimizer.io.load import load_instance
from optimizer.io.regions_csv import read_regions_fast
from optimizer.io.writers import result_files

ROOT = Path(__file__).resolve().parents[1]
EQUALIZE = str(Path(sys.executable).parent / "equalize")
EXPECTED = json.loads((ROOT / "tests" / "data" / "speed" / "expected.json").read_text())
HEAVY = ("dask", "optimizer.cli.batch", "optimizer.cli.sweep", "optimizer.studies", "pyomo", "matplotlib")

RUN_SOLVE = r"""
import sys
from optimizer.cli import main
try:
    main(["solve", sys.argv[1], "--format", "csv"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted({m.split(".")[0] if m.startswith(("dask", "pyomo", "matplotlib")) else m
                for m in sys.modules if m.startswith(tuple(sys.argv[2].split(",")))})
print("HEAVY=" + ",".join(heavy))
"""


def test_solve_never_imports_batch_sweep_dask_or_pyomo():
    out = subprocess.run([sys.executable, "-c", RUN_SOLVE, str(ROOT / "instances" / "toy-3"), ",".join(HEAVY)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert "region_id" in out.stdout   # the solve ran and printed its allocation
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_importing_the_cli_imports_no_command():
    code = "import sys, optimizer.cli; print(sorted(m for m in sys.modules if m.startswith('optimizer.cli.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_command_loads_and_the_help_lists_them_all():
    for name in COMMANDS:
        assert load_command(name).name == name
    out = subprocess.run([EQUALIZE, "--help"], capture_output=True, text=True, check=True)
    listed = [line.split()[0] for line in out.stdout.split("Commands:")[1].strip().splitlines()]
    assert listed == sorted(COMMANDS)
    bad = subprocess.run([EQUALIZE, "slove"], capture_output=True, text=True)
    assert bad.returncode == 2 and "No such command 'slove'" in bad.stderr


def _timeless(d):
    if isinstance(d, dict):
        return {k: _timeless(v) for k, v in d.items() if not k.endswith("seconds")}
    if isinstance(d, list):
        return [_timeless(v) for v in d]
    return d


def _solve_and_compare(folder: Path, objective: str, key: str, out: Path) -> None:
    subprocess.run([EQUALIZE, "solve", str(folder), "-o", objective, "--output", str(out)],
                   check=True, capture_output=True)
    expected = EXPECTED[key]
    assert hashlib.sha256((out / "allocation.csv").read_bytes()).hexdigest() == expected["allocation_sha256"]
    assert _timeless(json.loads((out / "summary.json").read_text())) == expected["summary"]


@pytest.mark.parametrize("objective", ["maxmin", "leximin", "min-shortfall"])
def test_korea_files_are_byte_identical_to_before(tmp_path, objective):
    _solve_and_compare(ROOT / "instances" / "korea-17", objective, f"korea-17-{objective}", tmp_path / "out")


@pytest.mark.slow
def test_generated_instance_files_are_byte_identical_to_before(tmp_path):
    inst = tmp_path / "inst"
    subprocess.run([EQUALIZE, "generate", "--regions", "6000", "--seed", "3", str(inst)], check=True,
                   capture_output=True)
    assert read_regions_fast(inst / "regions.csv") is not None   # large enough for the Arrow reader
    for objective in ("maxmin", "leximin"):
        _solve_and_compare(inst, objective, f"generated-6000-3-{objective}", tmp_path / objective)


DECIMALS = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{'.' + frac if frac is not None else ''}{exp}",
    st.sampled_from(["", "-", "+"]), st.integers(0, 10**25).map(str),
    st.one_of(st.none(), st.text("0123456789", min_size=0, max_size=25)),
    st.one_of(st.just(""), st.integers(-330, 310).map(lambda e: f"e{e}")))


@settings(max_examples=400, deadline=None)
@given(st.lists(DECIMALS, min_size=1, max_size=50))
def test_arrow_cast_reads_decimals_as_python_float(texts):
    got = pc.cast(pa.array(texts), pa.float64()).to_numpy(zero_copy_only=False)
    want = np.array([float(t) for t in texts])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))   # same bits, -0.0 included


SPECS = [".4f", ",.1f", ".4g", "+.4g", ".1f", ".0f"]
TRICKY = [0.0, -0.0, np.nan, np.inf, -np.inf, 0.00005, 0.00015, -0.00005, 0.5, 1.5, 2.5, 0.125, 1e-300, -1e-300,
          5e-324, 1e17, -1e17, 123456789012.34567, 0.92925982465, 9.99995, 99999.95, 1e16 + 2]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TRICKY),
                          st.integers(-10**6, 10**6).map(lambda k: k / 2000.0)), min_size=1, max_size=60),
       st.sampled_from(SPECS))
def test_format_floats_is_python_format(values, spec):
    x = np.array(values, dtype=float)
    assert format_floats(spec, x).to_pylist() == [format(v, spec) for v in x.tolist()]


def test_format_template_many_values_a_hair_apart():
    rng = np.random.default_rng(0)
    level = 0.92925982465 + rng.normal(0, 1e-12, 20000)
    level[::97] = np.round(level[::97], 4) + 0.00005   # rounding ties of .4f, as near as floats get
    other = rng.uniform(-1e4, 1e4, level.size)
    template = "lifted to {:.4f}; moved {:,.1f} ({:+.4g}%)"
    got = format_template(template, level, other, other / 7).to_pylist()
    assert got == [template.format(*r) for r in zip(level.tolist(), other.tolist(), (other / 7).tolist())]


def _regions(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "regions.csv"
    p.write_text("region_id,name,population,own_revenue,fiscal_need\n" + "".join(r + "\n" for r in rows))
    return p


def test_arrow_reader_strips_unicode_spaces_as_python(tmp_path):
    rows = [f"r{i},Region {i},100,1.5,2" for i in range(50)]
    rows[3] = "r3,\u3000서울\u00a0,100,1.5,2"      # ideographic and no-break spaces: Python strips them
    rows[4] = "\u2003r4 ,부산,100,1.5,2"
    header, frame = read_regions_fast(_regions(tmp_path, rows), min_bytes=0)
    assert frame["name"].iloc[3] == "서울" and frame["region_id"].iloc[4] == "r4"
    assert frame["name"].iloc[4] == "부산" and str(frame["name"].dtype) == "str"


def test_arrow_reader_declines_padded_numbers_and_the_exact_path_reads_them(tmp_path):
    rows = [f"r{i},Region {i},100,1.5,2" for i in range(50)]
    rows[7] = "r7,Region 7,100, 1.5 ,2"
    p = _regions(tmp_path, rows)
    assert read_regions_fast(p, min_bytes=0) is None
    (tmp_path / "instance.toml").write_text('name = "t"\nunit = "KRW"\n[budget]\ntotal = 10\n'
                                            '[threshold]\nlevel = 0.9\n')
    inst = load_instance(tmp_path)
    assert inst.regions["own_revenue"].iloc[7] == 1.5
    pd.testing.assert_series_equal(inst.regions["own_revenue"], pd.Series([1.5] * 50, name="own_revenue"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.0, -0.0, np.nan, 1.0, -1.0, 2.5]), st.floats(allow_nan=True)),
                max_size=80))
def test_stable_argsort_is_numpys_stable_argsort(values):
    x = np.array(values, dtype=float)
    assert np.array_equal(stable_argsort(x), np.argsort(x, kind="stable"))


@pytest.mark.parametrize("rows", [1, 3, 16, 10**6])
def test_allocation_csv_is_the_same_whatever_the_chunks(monkeypatch, rows):
    """allocation.csv is written in chunks of rows on threads: any chunking gives the file the
    CLI wrote before (korea-17, maxmin), the manifest's digest included."""
    monkeypatch.setattr(csv_out, "CSV_CHUNK_ROWS", rows)
    result = solve(load_instance(ROOT / "instances" / "korea-17"), SolveOptions(objective="maxmin"))
    data = bytes(result_files(result)["allocation.csv"])
    assert hashlib.sha256(data).hexdigest() == EXPECTED["korea-17-maxmin"]["allocation_sha256"]
