"""The two shortcuts of the vectorised regions.csv reader (optimizer/io/regions_csv.py): the
byte test that spares the edge-whitespace regex, and the sorted-ids test that spares the
hash of every id. Each may only say "nothing to do" when the exact test agrees: on random
text (hypothesis; Python's whitespace at either edge, non-ASCII letters, empty cells, sliced
and chunked Arrow arrays) and on a real file read both ways."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.io.regions_csv import EDGE_SPACE, all_distinct, plain_edges, read_regions_fast, stripped

SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
cells = st.text(alphabet=st.sampled_from("ab가é_1" + SPACES), max_size=5)


def _chunked(values: list[str], cut: int, start: int) -> pa.ChunkedArray:
    cut = min(cut, len(values))
    parts = [pa.array(values[:cut], pa.string()), pa.array(values[cut:], pa.string())]
    return pa.chunked_array(parts, pa.string()).slice(min(start, len(values)))


@settings(max_examples=300, deadline=None)
@given(st.lists(cells, max_size=12), st.integers(0, 12), st.integers(0, 3))
def test_plain_edges_only_when_no_cell_needs_stripping(values, cut, start):
    col = _chunked(values, cut, start)
    needs = any(s != s.strip() for s in col.to_pylist())
    assert needs == pc.any(pc.match_substring_regex(col, EDGE_SPACE)).as_py() if len(col) else not needs
    if plain_edges(col):
        assert not needs
    assert stripped(col).to_pylist() == [s.strip() for s in col.to_pylist()]


def test_plain_edges_on_plain_text():
    assert plain_edges(pa.chunked_array([pa.array(["r1", "Region 1", ""])]))
    assert not plain_edges(pa.chunked_array([pa.array(["r1", "Region 1 "])]))
    assert not plain_edges(pa.chunked_array([pa.array(["\u3000r1"])]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab가", max_size=3), max_size=12), st.booleans(), st.integers(0, 12),
       st.integers(0, 3))
def test_all_distinct_is_no_id_twice(ids, ordered, cut, start):
    values = sorted(ids, key=lambda s: s.encode()) if ordered else ids
    col = _chunked(values, cut, start)
    kept = col.to_pylist()
    assert all_distinct(col) == (len(set(kept)) == len(kept))


def _regions(tmp_path: Path, ids: list[str]) -> Path:
    p = tmp_path / "regions.csv"
    p.write_text("region_id,name,population,own_revenue,fiscal_need\n"
                 + "".join(f"{r},Region {k},100,1.5,2\n" for k, r in enumerate(ids)))
    return p


def test_the_reader_declines_a_repeated_id_sorted_or_not(tmp_path):
    """Sorted ids with one repeated, unsorted with one repeated: the fast reader declines
    (the exact path then reports the line); distinct ids in any order are read."""
    ids = [f"r{i:04d}" for i in range(300)]
    assert read_regions_fast(_regions(tmp_path, ids), min_bytes=0) is not None
    assert read_regions_fast(_regions(tmp_path, ids[::-1]), min_bytes=0) is not None
    assert read_regions_fast(_regions(tmp_path, sorted(ids + ["r0150"])), min_bytes=0) is None
    assert read_regions_fast(_regions(tmp_path, ids[::-1] + ["r0150"]), min_bytes=0) is None
