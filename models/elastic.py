"""Elastic relaxation of a ``LinearProgram`` by constraint family.

Given an LP whose hard constraints conflict, add one slack s_f >= 0 per family f (a row
block, or the bounds of the transfer columns) and solve

    min  sum_f w_f s_f
    s.t. a_i x + s_f >= lower_i,  a_i x - s_f <= upper_i    for every row i of family f
         (ranged rows are split into their two sides), other rows and bounds unchanged.

s_f is the amount by which every constraint of family f must give way (in the row's own
unit) for the rest to hold; the families with s_f > 0 are the ones in conflict. The
transfer bounds are the families "min_transfer" (T_r + s >= t_min_r, where t_min_r > 0)
and "max_transfer" (T_r - s <= t_max_r, where finite).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from models.lp import INF, Block, LinearProgram


@dataclass
class ElasticLP:
    lp: LinearProgram
    slack: dict[str, int]              # family -> column index of its slack
    n_original: int                    # columns 0..n_original-1 are the original ones


@dataclass
class _Rows:
    """The elastic LP's rows as they are collected, block by block."""

    n: int                                                   # original columns
    parts: list = field(default_factory=list)                # sparse row blocks
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    slack_cols: list[tuple[np.ndarray, np.ndarray, str]] = field(default_factory=list)  # (rows, signs, family)
    count: int = 0

    def add(self, name: str, part, lower: np.ndarray, upper: np.ndarray, signs: np.ndarray | None) -> None:
        """One block of rows; ``signs``: the slack's coefficient per row (None: kept hard)."""
        k = lower.shape[0]
        self.parts.append(part)
        self.lower.append(lower)
        self.upper.append(upper)
        if signs is not None:
            self.slack_cols.append((self.count + np.arange(k), signs, name))
        self.blocks.append(Block(name, self.count, self.count + k))
        self.count += k


def _row_families(lp: LinearProgram, weights: dict[str, float], rows_out: _Rows) -> None:
    A = sp.csr_array(lp.A)
    for blk in lp.row_blocks:
        rows = np.arange(blk.start, blk.stop)
        lo, up = lp.row_lower[rows], lp.row_upper[rows]
        if blk.name not in weights:
            rows_out.add(blk.name, A[rows], lo, up, None)
            continue
        # one copy of each row per finite side: lower sides first, then upper sides
        lower_rows, upper_rows = rows[np.isfinite(lo)], rows[np.isfinite(up)]
        k_lo, k_up = lower_rows.shape[0], upper_rows.shape[0]
        rows_out.add(blk.name, sp.vstack([A[lower_rows], A[upper_rows]], format="csr"),
                     np.concatenate([lp.row_lower[lower_rows], np.full(k_up, -INF)]),
                     np.concatenate([np.full(k_lo, INF), lp.row_upper[upper_rows]]),
                     np.concatenate([np.ones(k_lo), -np.ones(k_up)]))


def _bound_families(lp: LinearProgram, weights: dict[str, float], transfer: str, rows_out: _Rows
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The relaxed transfer bounds as rows; returns the column bounds left."""
    col_lower, col_upper = lp.col_lower.copy(), lp.col_upper.copy()
    t = lp.col_block(transfer)
    for fam, bound, sign in (("min_transfer", col_lower, 1.0), ("max_transfer", col_upper, -1.0)):
        if fam not in weights:
            continue
        idx = np.arange(t.start, t.stop)
        idx = idx[(bound[idx] > 0) if sign > 0 else np.isfinite(bound[idx])]
        k = idx.shape[0]
        if not k:
            continue
        part = sp.csr_array((np.ones(k), (np.arange(k), idx)), shape=(k, rows_out.n))
        if sign > 0:
            rows_out.add(fam, part, bound[idx].copy(), np.full(k, INF), np.full(k, sign))
            col_lower[idx] = 0.0
        else:
            rows_out.add(fam, part, np.full(k, -INF), bound[idx].copy(), np.full(k, sign))
            col_upper[idx] = INF
    return col_lower, col_upper


def elastic(lp: LinearProgram, weights: dict[str, float], transfer: str = "transfer") -> ElasticLP:
    """The elastic LP of ``lp``; ``weights`` maps relaxed families to their weight."""
    n = lp.num_col
    rows_out = _Rows(n)
    _row_families(lp, weights, rows_out)
    col_lower, col_upper = _bound_families(lp, weights, transfer, rows_out)
    slack_cols = rows_out.slack_cols
    A2 = sp.vstack(rows_out.parts, format="csc") if rows_out.parts else sp.csc_array((0, n))
    uniq = list(dict.fromkeys(f for _, _, f in slack_cols))
    slack = {f: n + j for j, f in enumerate(uniq)}
    r = np.concatenate([rows for rows, _, _ in slack_cols]) if slack_cols else np.zeros(0, dtype=np.int64)
    c = np.concatenate([np.full(rows.shape[0], slack[f]) for rows, _, f in slack_cols]) \
        if slack_cols else np.zeros(0, dtype=np.int64)
    v = np.concatenate([s for _, s, _ in slack_cols]) if slack_cols else np.zeros(0)
    S = sp.csc_array((v, (r, c - n)), shape=(rows_out.count, len(uniq)))
    A3 = sp.csc_array(sp.hstack([A2, S], format="csc"))
    A3.sort_indices()
    out = LinearProgram(
        cost=np.concatenate([np.zeros(n), np.array([weights[f] for f in uniq])]),
        col_lower=np.concatenate([col_lower, np.zeros(len(uniq))]),
        col_upper=np.concatenate([col_upper, np.full(len(uniq), INF)]), A=A3,
        row_lower=np.concatenate(rows_out.lower) if rows_out.lower else np.zeros(0),
        row_upper=np.concatenate(rows_out.upper) if rows_out.upper else np.zeros(0),
        maximize=False, offset=0.0,
        col_blocks=lp.col_blocks + [Block("slack", n, n + len(uniq))], row_blocks=rows_out.blocks)
    return ElasticLP(out, slack, n)


def violations(lp: LinearProgram, x: np.ndarray) -> np.ndarray:
    """Per row of ``lp``: how far a_i x lies outside [lower_i, upper_i] (0 inside)."""
    act = lp.A @ x
    with np.errstate(invalid="ignore"):
        v = np.maximum(np.nan_to_num(lp.row_lower - act, nan=0.0, neginf=0.0),
                       np.nan_to_num(act - lp.row_upper, nan=0.0, neginf=0.0))
    return np.maximum(v, 0.0)
