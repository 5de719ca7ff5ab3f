"""Issue 14, the floor in memory: what lowers the peak of a 1e6-region solve changes no byte.

- reasons are built as dictionary arrays (each distinct text once) and decoded once: a
  template of one field, and the scatter of dictionary and plain parts, give exactly the
  texts the row-by-row ``str.format`` gives (hypothesis, literal braces included);
- the allocation frame shares the instance's columns (pandas copy on write) and computes
  the others into one block: same columns, dtypes and values as a frame built from a dict,
  and writing into it never changes the instance;
- the freed memory given back between the stages (``give_back``, forced on for a small
  instance) leaves allocation.csv and summary.json byte-identical to the CLI's before.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.core import memory
from optimizer.core.instance import unit_per_capita
from optimizer.core.text_columns import format_template
from optimizer.engine.finish import allocation_frame
from optimizer.engine.solve import SolveOptions, solve
from optimizer.explain.reasons import scatter
from optimizer.io.load import load_instance
from optimizer.io.writers import result_files

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "data" / "speed" / "expected.json").read_text())
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 0.00005, 2.5, 0.92925, 1e17, 5e-324]),
                   st.integers(-10**6, 10**6).map(lambda k: k / 2000.0))
LITERALS = st.text(st.sampled_from("ab ;:%{}()0"), max_size=8).map(lambda s: s.replace("{", "{{").replace("}", "}}"))


@settings(max_examples=300, deadline=None)
@given(LITERALS, st.sampled_from([".4f", ",.1f", ".4g", "+.4g", ""]), LITERALS,
       st.lists(FLOATS, min_size=1, max_size=40))
def test_a_one_field_template_as_a_dictionary_is_str_format(head, spec, tail, values):
    template = f"{head}{{:{spec}}}{tail}" if spec else f"{head}{{}}{tail}"
    x = np.array(values, dtype=float)
    got = format_template(template, x, dictionary=True)
    assert isinstance(got, pa.DictionaryArray)
    assert got.dictionary_decode().to_pylist() == [template.format(v) for v in x.tolist()]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["dict", "plain", "const"]), st.integers(0, 30)), min_size=1, max_size=6),
       st.randoms(use_true_random=False))
def test_scatter_puts_every_part_text_on_its_rows(parts, rnd):
    n = sum(k for _, k in parts)
    rows = list(range(n))
    rnd.shuffle(rows)
    want: list[str | None] = [None] * n
    given_parts, at = [], 0
    for p, (kind, k) in enumerate(parts):
        idx = np.array(rows[at:at + k], dtype=np.int64)
        at += k
        x = np.arange(k, dtype=float) / 3 + p
        if kind == "dict":
            values = format_template(f"part {p}: {{:.2f}}", x, dictionary=True)
        elif kind == "plain":
            values = format_template(f"part {p}: {{:.2f}} and {{:.1f}}", x, x)
        else:
            values = pa.DictionaryArray.from_arrays(pa.array(np.zeros(k, dtype=np.int32)), pa.array([f"c{p}"]))
        texts = values.dictionary_decode().to_pylist() if isinstance(values, pa.DictionaryArray) else values.to_pylist()
        for r, t in zip(idx.tolist(), texts):
            want[r] = t
        given_parts.append((idx, values))
    assert scatter(given_parts, n).to_pylist() == want
    assert scatter(given_parts, n, decode=False).dictionary_decode().to_pylist() == want


def test_the_allocation_frame_shares_the_instance_columns_and_copies_on_write():
    inst = load_instance(ROOT / "instances" / "korea-17")
    reg = inst.regions
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1000, inst.n)
    thr, dual = np.full(inst.n, 0.9), rng.uniform(0, 1, inst.n)
    alloc = allocation_frame(inst, thr, t, dual, ["floor"] * inst.n)
    own, need = reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float)
    pop = reg["population"].to_numpy(dtype=float)
    after = (own + t) / need
    reference = pd.DataFrame({   # the frame as a dict of columns gives it (the construction before)
        "region_id": reg["region_id"].array, "name": reg["name"].array, "population": reg["population"].array,
        "own_revenue": own, "fiscal_need": need, "threshold": thr, "prior_transfer": reg["prior_transfer"].array,
        "transfer": t, "transfer_per_capita": t * unit_per_capita(inst.unit)[1] / pop,
        "level_before": own / need, "level_after": after, "shortfall": np.maximum(0.0, thr - after),
        "threshold_dual": dual})
    for col in reference.columns:
        assert alloc[col].dtype == reference[col].dtype, col
        assert np.array_equal(alloc[col].to_numpy(), reference[col].to_numpy()), col
    assert np.shares_memory(alloc["own_revenue"].to_numpy(), reg["own_revenue"].to_numpy())
    before = reg["own_revenue"].to_numpy().copy()
    alloc.loc[0, "own_revenue"] = -1.0   # copy on write: the instance keeps its figures
    assert np.array_equal(reg["own_revenue"].to_numpy(), before)


@pytest.mark.parametrize("objective", ["maxmin", "leximin", "min-shortfall"])
def test_giving_memory_back_changes_no_byte(monkeypatch, objective):
    monkeypatch.setattr(memory, "GIVE_BACK_MIN_ROWS", 0)   # korea-17 is small: force every give_back
    result = solve(load_instance(ROOT / "instances" / "korea-17"), SolveOptions(objective=objective))
    data = bytes(result_files(result)["allocation.csv"])
    assert hashlib.sha256(data).hexdigest() == EXPECTED[f"korea-17-{objective}"]["allocation_sha256"]
