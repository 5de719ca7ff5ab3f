"""Text columns built without a Python string per row: ``template.format`` over whole
float columns, as Arrow string arrays, byte for byte what ``template.format(*row)`` gives.

Why it is exact: every field of a template is a float format (``.4f``, ``,.1f``, ``.4g``,
``+.4g``); Python rounds correctly, so the text of a finite nonzero value is a monotone
step function of the value (the sign, then the decimal it rounds to). Sorted, a run of
values whose first and last give the same text all give it: each column is formatted by
bisecting the sorted values into such runs (a few thousand format calls for 1e6 values
that print to a few thousand texts; never more than about twice one call per value).
Zero (``0.0`` and ``-0.0`` print differently but sort equal) and NaN / infinities are
formatted value by value. The pieces are joined by Arrow.
"""

from __future__ import annotations

import re
import string

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)   # pandas' default "str" columns
FIXED = re.compile(r"^[+\- ]?,?\.(\d+)f$")   # a fixed-point spec: sign, grouping, d decimals


def format_floats(spec: str, x: np.ndarray) -> pa.Array:
    """``format(v, spec)`` for every v of ``x`` (a float format spec), as an Arrow string
    array: one Python format call per distinct key, not per value."""
    return format_codes(spec, x).dictionary_decode()


def format_codes(spec: str, x: np.ndarray) -> pa.DictionaryArray:
    """``format_floats`` as a dictionary array (each distinct text once, an index per value):
    a column of a few thousand distinct texts costs 8 bytes a row, not the texts'."""
    x = np.asarray(x, dtype=float)
    key, direct = x, np.zeros(x.shape[0], dtype=bool)
    fixed = FIXED.match(spec)
    if fixed:   # "f": the value rounded to d decimals by numpy, except near a tie or too large
        d = int(fixed.group(1))
        with np.errstate(invalid="ignore", over="ignore"):
            y = x * 10.0 ** d
            frac = y - np.floor(y)
            frac -= 0.5
            np.abs(frac, out=frac)
            direct = np.isfinite(x) & ((frac <= 1e-9 + np.abs(y) * 1e-15) | (np.abs(y) >= 2.0 ** 50))
            key = np.where(direct | ~np.isfinite(x), x, np.round(x, d))
    # distinct keys by their bits (0.0 and -0.0 print differently), by hashing: no sort, and
    # 32-bit indices that the dictionary array keeps as they are
    encoded = pc.dictionary_encode(pa.array(np.ascontiguousarray(key).view(np.int64)))
    indices = encoded.indices
    texts = [format(v, spec) for v in encoded.dictionary.to_numpy().view(np.float64).tolist()]
    if direct.any():   # near a rounding tie: Python's own rounding, value by value
        idx = np.flatnonzero(direct)
        codes = indices.to_numpy(zero_copy_only=False).copy()
        codes[idx] = len(texts) + np.arange(idx.size)
        indices = pa.array(codes)
        texts += [format(v, spec) for v in x[idx].tolist()]
    return pa.DictionaryArray.from_arrays(indices, pa.array(texts, pa.string()))


def format_template(template: str, *columns: np.ndarray, dictionary: bool = False) -> pa.Array:
    """``template.format(*row)`` for every row of the float ``columns`` (automatic
    numbering ``{}`` / ``{:spec}`` only), as an Arrow string array; with ``dictionary``, a
    template of one field comes as a dictionary array (its literal text joined to each
    distinct text of the field once, not to every row)."""
    parsed = list(string.Formatter().parse(template))
    fields = [k for k, (_, field, _, _) in enumerate(parsed) if field is not None]
    if dictionary and len(fields) == 1 and parsed[fields[0]][1] == "" and not parsed[fields[0]][3]:
        k = fields[0]
        head, spec = "".join(p[0] for p in parsed[:k + 1]), parsed[k][2]
        tail = "".join(p[0] for p in parsed[k + 1:])
        codes = format_codes(spec, columns[0])
        texts = [f"{head}{t}{tail}" for t in codes.dictionary.to_pylist()]
        return pa.DictionaryArray.from_arrays(codes.indices, pa.array(texts, pa.string()))
    pieces: list = []
    k = 0
    for literal, field, spec, conv in string.Formatter().parse(template):
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        if field != "" or conv:
            raise ValueError(f"format_template: only '{{:spec}}' fields, got {template!r}")
        pieces.append(format_floats(spec, columns[k]))
        k += 1
    n = np.asarray(columns[0]).shape[0] if columns else 0
    return join(pieces, n)


def join(pieces: list, n: int) -> pa.Array:
    """Concatenate string arrays and literal strings element-wise (``n`` rows)."""
    arrays = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(p, pa.string()) for p in pieces]
    if not any(isinstance(a, (pa.Array, pa.ChunkedArray)) for a in arrays):
        return repeat("".join(pieces), n)
    if len(arrays) == 1:
        return arrays[0]
    return pc.binary_join_element_wise(*arrays, "")


def repeat(text: str, n: int, dictionary: bool = False) -> pa.Array:
    """``n`` copies of ``text`` as an Arrow string array (``dictionary``: as a dictionary array)."""
    out = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string()))
    return out if dictionary else out.dictionary_decode()


def plain(values: pa.Array) -> pa.Array:
    """A dictionary array decoded to its values; any other array as it is."""
    return values.dictionary_decode() if isinstance(values, pa.DictionaryArray) else values
