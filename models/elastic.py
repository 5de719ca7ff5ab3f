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

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.lp import INF, Block, LinearProgram


@dataclass
class ElasticLP:
    lp: LinearProgram
    slack: dict[str, int]              # family -> column index of its slack
    n_original: int                    # columns 0..n_original-1 are the original ones


def elastic(lp: LinearProgram, weights: dict[str, float], transfer: str = "transfer") -> ElasticLP:
    """The elastic LP of ``lp``; ``weights`` maps relaxed families to their weight."""
    n = lp.num_col
    A = sp.csr_array(lp.A)
    blocks_rows, lo_parts, up_parts, new_blocks = [], [], [], []
    slack: dict[str, int] = {}
    slack_cols: list[tuple[np.ndarray, np.ndarray, str]] = []   # (local rows, signs, family)
    row_count = 0
    for blk in lp.row_blocks:
        rows = np.arange(blk.start, blk.stop)
        lo, up = lp.row_lower[rows], lp.row_upper[rows]
        if blk.name not in weights:
            blocks_rows.append(A[rows]); lo_parts.append(lo); up_parts.append(up)
            new_blocks.append(Block(blk.name, row_count, row_count + rows.shape[0]))
            row_count += rows.shape[0]
            continue
        has_lo, has_up = np.isfinite(lo), np.isfinite(up)
        # one copy of each row per finite side: lower sides first, then upper sides
        lower_rows = rows[has_lo]
        upper_rows = rows[has_up]
        part_lo = A[lower_rows]
        part_up = A[upper_rows]
        blocks_rows += [part_lo, part_up]
        lo_parts += [lp.row_lower[lower_rows], np.full(upper_rows.shape[0], -INF)]
        up_parts += [np.full(lower_rows.shape[0], INF), lp.row_upper[upper_rows]]
        k_lo, k_up = lower_rows.shape[0], upper_rows.shape[0]
        signs = np.concatenate([np.ones(k_lo), -np.ones(k_up)])
        slack_cols.append((row_count + np.arange(k_lo + k_up), signs, blk.name))
        new_blocks.append(Block(blk.name, row_count, row_count + k_lo + k_up))
        row_count += k_lo + k_up
    col_lower, col_upper = lp.col_lower.copy(), lp.col_upper.copy()
    t = lp.col_block(transfer)
    for fam, bound, sign in (("min_transfer", col_lower, 1.0), ("max_transfer", col_upper, -1.0)):
        if fam not in weights:
            continue
        idx = np.arange(t.start, t.stop)
        idx = idx[(bound[idx] > 0) if sign > 0 else np.isfinite(bound[idx])]
        if not idx.shape[0]:
            continue
        k = idx.shape[0]
        blocks_rows.append(sp.csr_array((np.ones(k), (np.arange(k), idx)), shape=(k, n)))
        if sign > 0:
            lo_parts.append(bound[idx].copy()); up_parts.append(np.full(k, INF))
            col_lower[idx] = 0.0
        else:
            lo_parts.append(np.full(k, -INF)); up_parts.append(bound[idx].copy())
            col_upper[idx] = INF
        slack_cols.append((row_count + np.arange(k), np.full(k, sign), fam))
        new_blocks.append(Block(fam, row_count, row_count + k))
        row_count += k
    A2 = sp.vstack(blocks_rows, format="csc") if blocks_rows else sp.csc_array((0, n))
    fams = [f for _, _, f in slack_cols]
    uniq = list(dict.fromkeys(fams))
    for j, f in enumerate(uniq):
        slack[f] = n + j
    r = np.concatenate([rows for rows, _, _ in slack_cols]) if slack_cols else np.zeros(0, dtype=np.int64)
    c = np.concatenate([np.full(rows.shape[0], slack[f]) for rows, _, f in slack_cols]) \
        if slack_cols else np.zeros(0, dtype=np.int64)
    v = np.concatenate([s for _, s, _ in slack_cols]) if slack_cols else np.zeros(0)
    S = sp.csc_array((v, (r, c - n)), shape=(row_count, len(uniq)))
    A3 = sp.csc_array(sp.hstack([A2, S], format="csc"))
    A3.sort_indices()
    cost = np.concatenate([np.zeros(n), np.array([weights[f] for f in uniq])])
    out = LinearProgram(
        cost=cost, col_lower=np.concatenate([col_lower, np.zeros(len(uniq))]),
        col_upper=np.concatenate([col_upper, np.full(len(uniq), INF)]), A=A3,
        row_lower=np.concatenate(lo_parts) if lo_parts else np.zeros(0),
        row_upper=np.concatenate(up_parts) if up_parts else np.zeros(0),
        maximize=False, offset=0.0,
        col_blocks=lp.col_blocks + [Block("slack", n, n + len(uniq))], row_blocks=new_blocks)
    return ElasticLP(out, slack, n)


def violations(lp: LinearProgram, x: np.ndarray) -> np.ndarray:
    """Per row of ``lp``: how far a_i x lies outside [lower_i, upper_i] (0 inside)."""
    act = lp.A @ x
    with np.errstate(invalid="ignore"):
        v = np.maximum(np.nan_to_num(lp.row_lower - act, nan=0.0, neginf=0.0),
                       np.nan_to_num(act - lp.row_upper, nan=0.0, neginf=0.0))
    return np.maximum(v, 0.0)
