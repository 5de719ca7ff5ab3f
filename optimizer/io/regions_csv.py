"""Vectorised reading of a large, plain, valid regions.csv (Arrow's CSV reader).

``optimizer.io.load`` parses regions.csv cell by cell so that every bad cell is
reported with its file, line and column; at 1e6 rows that costs tens of seconds and
over a gigabyte. This module is a fast path for the common case only: a file with no
quotes, no NUL, no lone CR, the same number of fields on every non-empty line, and no
cell that the exact checks would reject. It returns the very DataFrame the exact path
builds (same columns, dtypes and values), or ``None`` as soon as anything is unusual, in
which case the caller runs the exact path, which stays the specification and reports
problems.

Why it gives the same values: every cell is read as text (Arrow, no type inference); a
numeric cell goes through Arrow's cast to float64, which accepts a subset of what
Python's ``float`` accepts (no surrounding spaces, no ``1_000``, no Unicode digits) and
rounds correctly to the same double (tests/test_speed_io.py checks them against each
other); a cell it refuses (or a NaN / infinity) declines the file. Text cells keep
Python's ``str.strip`` semantics: a column with any cell that starts or ends with a
character Python counts as whitespace is stripped by Python.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from optimizer.core.text_columns import STR_DTYPE
from optimizer.io import validation as v

FAST_MIN_BYTES = 256 * 1024   # smaller files take the exact path (it is fast enough there)
_CSV_FIELD_LIMIT = 131072     # csv module default field_size_limit
# what Python's str.isspace() is true for: ASCII whitespace, \x1c-\x1f, NEL and Unicode Z*
_SPACE = r"[\t\n\x0b\f\r \x1c-\x1f\x{85}\p{Z}]"
EDGE_SPACE = f"^{_SPACE}|{_SPACE}$"


def read_regions_fast(path: Path, min_bytes: int = FAST_MIN_BYTES) -> tuple[list[str], pd.DataFrame] | None:
    """(header, frame) as ``load_instance`` would build them, or None (use the exact path)."""
    parsed = arrow_cells(path, min_bytes)
    if parsed is None:
        return None
    header, table = parsed
    problems: list = []
    v.check_header("", header, problems)
    if problems or table.num_rows == 0:
        return None
    frame = regions_frame(header, table)
    del table
    pa.default_memory_pool().release_unused()   # the text cells' pages (~100 MB at 1e6 rows) go back
    return None if frame is None else (header, frame)


def arrow_cells(path: Path, min_bytes: int) -> tuple[list[str], pa.Table] | None:
    """(stripped header, the body as an all-text Arrow table) of a large file without quotes,
    NUL or lone CR whose every non-empty line has the header's number of fields, or None."""
    try:
        if path.stat().st_size < min_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b'"' in data or b"\0" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    end = data.find(b"\n", start)
    try:
        head = data[start:end if end >= 0 else len(data)].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return None
    if head == "" or end < 0:
        return None
    cells = head.split(",")
    if any(len(c) > _CSV_FIELD_LIMIT for c in cells):   # the exact reader's CSV error (characters, unstripped)
        return None
    header = [c.strip() for c in cells]
    names = [f"c{i}" for i in range(len(header))]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(data)[end + 1:]),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                 strings_can_be_null=False, null_values=[]))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None   # a wrong field count, bad UTF-8, ...: the exact path decides
    if any(int(pc.max(pc.binary_length(col)).as_py() or 0) > _CSV_FIELD_LIMIT for col in table.columns):
        return None
    return header, table


# a byte that can begin or end a character Python counts as whitespace: the ASCII ones, and
# any non-ASCII byte (every non-ASCII space, U+0085 and up, is a multi-byte UTF-8 sequence)
_EDGE_BYTE = np.zeros(256, dtype=bool)
_EDGE_BYTE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_EDGE_BYTE[128:] = True


def plain_edges(col: pa.ChunkedArray) -> bool:
    """True when no cell of ``col`` starts or ends with a byte of ``_EDGE_BYTE``: then no cell
    has edge whitespace (a necessary condition for it, read off Arrow's offsets and bytes in
    vectors: ~100x faster than the regex at 1e6 cells). False says only: ask the regex."""
    for chunk in col.chunks:
        if len(chunk) == 0:
            continue
        if chunk.null_count or chunk.type != pa.string():
            return False
        _, offsets, data = chunk.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        full = bounds[1:] > bounds[:-1]
        if _EDGE_BYTE[text[bounds[:-1][full]]].any() or _EDGE_BYTE[text[bounds[1:][full] - 1]].any():
            return False
    return True


def stripped(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column stripped as Python's ``str.strip`` does."""
    if not plain_edges(col) and pc.any(pc.match_substring_regex(col, EDGE_SPACE)).as_py():
        return pa.chunked_array([pa.array([s.strip() for s in col.to_pylist()], pa.string())])  # rare
    return col


def all_distinct(ids: pa.ChunkedArray) -> bool:
    """No id twice: strictly increasing ids (byte order; a generated or sorted file) are
    distinct without hashing them; otherwise Arrow's hash (``unique``; count_distinct is 3x slower)."""
    m = len(ids)
    if m < 2 or pc.all(pc.greater(ids.slice(1), ids.slice(0, m - 1))).as_py():
        return True
    return len(pc.unique(ids)) == m


def as_str(col: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """pandas' ``str`` array over the Arrow column (no Python strings)."""
    return pd.array(col, dtype=STR_DTYPE)


def regions_frame(header: list[str], table: pa.Table) -> pd.DataFrame | None:
    """The exact path's frame from the text cells, or None if any cell would be reported."""
    m = table.num_rows
    pos = {c: i for i, c in enumerate(header)}
    ids = stripped(table.column(pos["region_id"]))
    if pc.any(pc.equal(pc.binary_length(ids), 0)).as_py() or pc.any(pc.match_substring(ids, "+")).as_py():
        return None
    if not all_distinct(ids):
        return None
    numeric = ("population", "own_revenue", "fiscal_need", *v.OPTIONAL_NUMERIC)
    block = np.full((len(numeric), m), np.nan)   # the float columns, one block as pandas keeps them
    for k, col in enumerate(numeric):
        if col in pos:
            values = _numbers(table.column(pos[col]), col, required=col in v.REQUIRED_COLUMNS)
            if values is None:
                return None
            block[k] = values
    data = dict(zip(numeric, block))
    lo, hi = data["min_transfer"], data["max_transfer"]
    if np.any(hi < lo):  # NaN compares False: a blank bound never conflicts
        return None
    pop = data["population"]
    if "weight" in pos and not float(np.nansum(np.where(np.isnan(data["weight"]), pop, data["weight"]))) > 0:
        return None
    # built around the float block without copying it (pandas would stack 8 columns: 64 MB at 1e6)
    frame = pd.DataFrame(block[1:].T, columns=list(numeric[1:]), copy=False)
    frame.insert(0, "region_id", as_str(ids))
    frame.insert(1, "name", as_str(stripped(table.column(pos["name"]))))
    frame.insert(2, "population", pop.astype(np.int64) if np.all(pop == np.round(pop)) else pop.copy())
    known = set(v.REQUIRED_COLUMNS) | set(v.OPTIONAL_NUMERIC)
    for col in (c for c in header if c not in known and c):
        frame[col] = as_str(table.column(pos[col]))
    return frame


def _numbers(texts: pa.ChunkedArray, col: str, required: bool) -> np.ndarray | None:
    """float64 values of one column with the exact path's rules, or None if any cell would be
    reported (blank required, not a number, out of its range) or that Arrow does not read
    (padded with spaces, ``1_000``: the exact path decides)."""
    blank = pc.equal(pc.binary_length(texts), 0)
    any_blank = pc.any(blank).as_py()
    if any_blank and required:
        return None
    try:   # Arrow's cast: a subset of float()'s syntax (no spaces, "_", Unicode digits), same doubles
        values = pc.cast(pc.if_else(blank, "nan", texts) if any_blank else texts, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = values.to_numpy()
    isblank = blank.to_numpy(zero_copy_only=False) if any_blank else np.zeros(values.shape[0], dtype=bool)
    if not np.all(np.isfinite(values[~isblank])):
        return None
    lower, strict, upper, least = v.NUMERIC_RULES[col]
    ok = (values > lower if strict else values >= lower) & (values <= upper) & ((values >= least) | (values <= 0))
    if not np.all(ok | isblank):
        return None
    return values
