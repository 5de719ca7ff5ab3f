"""A linear program as arrays: the form handed to HiGHS.

    min/max  c'x + offset
    s.t.     row_lower <= A x <= row_upper
             col_lower <=   x <= col_upper

Columns and rows are grouped in named blocks ("transfer", "budget", "threshold", ...)
so that results can be read back by family (duals of all threshold rows, etc.).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

INF = np.inf


@dataclass
class Block:
    name: str
    start: int
    stop: int

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass
class LinearProgram:
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    A: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    maximize: bool = False
    offset: float = 0.0
    col_blocks: list[Block] = field(default_factory=list)
    row_blocks: list[Block] = field(default_factory=list)

    @property
    def num_col(self) -> int:
        return int(self.cost.shape[0])

    @property
    def num_row(self) -> int:
        return int(self.row_lower.shape[0])

    def col_block(self, name: str) -> Block:
        return _find(self.col_blocks, name)

    def row_block(self, name: str) -> Block:
        return _find(self.row_blocks, name)

    def has_row_block(self, name: str) -> bool:
        return any(b.name == name for b in self.row_blocks)

    def layout(self) -> dict[str, slice]:
        """Column blocks by name, row blocks as "rows:<name>": how results are read back."""
        return {b.name: b.slice for b in self.col_blocks} | {"rows:" + b.name: b.slice for b in self.row_blocks}


def _find(blocks: list[Block], name: str) -> Block:
    for b in blocks:
        if b.name == name:
            return b
    raise KeyError(name)


class ArrayBuilder:
    """Collects column and row blocks as numpy arrays, then assembles one CSC matrix.

    Used by the vectorised twins of the Pyomo formulations: the same LP, built in
    O(nnz) numpy work instead of one Python object per row.
    """

    def __init__(self) -> None:
        self._cols: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        self._rows: list[tuple[str, tuple[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray]] = []
        self._ncol = 0
        self._nrow = 0
        self.maximize = False
        self.offset = 0.0

    def add_cols(self, name: str, lower, upper, cost=0.0, size: int | None = None) -> Block:
        size = size if size is not None else int(np.size(lower))
        lo = np.broadcast_to(np.asarray(lower, dtype=float), (size,)).copy()
        up = np.broadcast_to(np.asarray(upper, dtype=float), (size,)).copy()
        c = np.broadcast_to(np.asarray(cost, dtype=float), (size,)).copy()
        block = Block(name, self._ncol, self._ncol + size)
        self._cols.append((name, lo, up, c))
        self._ncol += size
        return block

    def set_cost(self, block: Block, cost) -> None:
        for i, (name, lo, up, _) in enumerate(self._cols):
            if name == block.name:
                self._cols[i] = (name, lo, up, np.broadcast_to(np.asarray(cost, dtype=float), lo.shape).copy())
                return
        raise KeyError(block.name)

    def set_col_lower(self, block: Block, index: np.ndarray, lower) -> None:
        """Change the lower bounds of some columns of ``block`` (index local to the block)."""
        for name, lo, _, _ in self._cols:
            if name == block.name:
                lo[np.asarray(index, dtype=np.int64)] = lower
                return
        raise KeyError(block.name)

    def add_rows(self, name: str, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
                 lower, upper, size: int) -> Block:
        """Rows given as coordinates local to the block (row 0 = first row of the block)."""
        lo = np.broadcast_to(np.asarray(lower, dtype=float), (size,)).copy()
        up = np.broadcast_to(np.asarray(upper, dtype=float), (size,)).copy()
        block = Block(name, self._nrow, self._nrow + size)
        # kept as given (no int64 copies): build() writes them once into the final index arrays
        self._rows.append((name, (self._nrow, np.asarray(rows), np.asarray(cols),
                                  np.asarray(vals, dtype=float)), lo, up))
        self._nrow += size
        return block

    def build(self) -> LinearProgram:
        cost = np.concatenate([c for *_, c in self._cols]) if self._cols else np.zeros(0)
        col_lower = np.concatenate([lo for _, lo, _, _ in self._cols]) if self._cols else np.zeros(0)
        col_upper = np.concatenate([up for _, _, up, _ in self._cols]) if self._cols else np.zeros(0)
        # 32-bit indices when they fit (as scipy would convert them): half the memory, no copy
        index = np.int32 if max(self._nrow, self._ncol, sum(t[1][3].shape[0] for t in self._rows)) < 2**31 - 1 \
            else np.int64
        if self._rows:
            r, c = _indices(self._rows, index)
            v = np.concatenate([t[1][3] for t in self._rows])
            row_lower = np.concatenate([t[2] for t in self._rows])
            row_upper = np.concatenate([t[3] for t in self._rows])
            # the blocks' coordinates now live in r, c, v: let them go before the matrix is
            # assembled (~100 MB at 1e6 regions; a builder is built once)
            self._rows = [(name, None, lo, up) for name, _, lo, up in self._rows]
        else:
            r = c = np.zeros(0, dtype=index)
            v = row_lower = row_upper = np.zeros(0)
        A = sp.csc_array((v, (r, c)), shape=(self._nrow, self._ncol))
        A.sum_duplicates()
        A.sort_indices()
        col_blocks, start = [], 0
        for name, lo, _, _ in self._cols:
            col_blocks.append(Block(name, start, start + lo.shape[0]))
            start += lo.shape[0]
        row_blocks, start = [], 0
        for name, _, lo, _ in self._rows:
            row_blocks.append(Block(name, start, start + lo.shape[0]))
            start += lo.shape[0]
        return LinearProgram(cost, col_lower, col_upper, A, row_lower, row_upper,
                             self.maximize, self.offset, col_blocks, row_blocks)


def _indices(rows: list, index: type) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of all row blocks, written once into arrays of ``index``
    dtype (each block's rows shifted by its first row in place): no int64 intermediate."""
    nnz = sum(t[1][3].shape[0] for t in rows)
    r, c = np.empty(nnz, dtype=index), np.empty(nnz, dtype=index)
    at = 0
    for _, (offset, rr, cc, vv), _, _ in rows:
        k = vv.shape[0]
        r[at:at + k] = rr
        if offset:
            r[at:at + k] += offset
        c[at:at + k] = cc
        at += k
    return r, c
