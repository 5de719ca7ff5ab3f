"""After a solve with policy rows: which policy rows hold tight for which region (the
``binding`` column), and the re-check of every policy on the original (unscaled) data.

Tags come from the LP itself: the policy row blocks (models/policies.py ``policy_rows``,
the very rows the solved LP has) evaluated at the solver's solution, compared with their
bounds; a tight row tags every region whose transfer it involves. Nothing here prints.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.data import RegionData
from models.policies import PolicyTerm, policy_rows
from optimizer.core.result import Result
from optimizer.explain.reasons import with_reasons

TIGHT_TOL = 1e-7          # solver units (money / scale, or level), relative to max(1, |bound|)
# row family -> tag (lower side, upper side); None = never tagged (definitional rows, and the
# year budgets, which like the budget row are reported in the summary, not per region)
TAGS: dict[str, tuple[str | None, str | None]] = {
    "hold_harmless": ("hold_harmless", "hold_harmless"),
    "change_limit": ("change_limit", "change_limit"),
    "per_capita": ("per_capita_floor", "per_capita_cap"),
    "equalization_rate": ("rate_cap", "rate_cap"),
    "no_overtaking": ("no_overtaking", "no_overtaking"),
    "merger_guarantee": ("merger_guarantee", "merger_guarantee"),
    "group_transfer": ("group_min_transfer", "group_max_transfer"),
    "group_level": ("group_level", "group_level"),
    "phase_change": ("phase_change", "phase_change"),
    "service_floor": ("service_floor", "service_floor"),
    "contribution_rows": (None, None),
    "general_split": (None, None),
    "year_budget": (None, None),
}
CONTRIBUTION_TAG = "contribution_cap"   # a contributor pays the whole allowed share of its surplus


@dataclasses.dataclass
class Tags:
    """The policy tags of every region: ``first[r, k]`` is the index of the first tight row
    family (in the LP's order) that tagged region r with ``names[k]``, -1 if none; a region's
    tags read in that order (the order the binding column has always listed them in)."""
    names: list[str]
    first: np.ndarray

    def add(self, regions: np.ndarray, tag: str, event: int) -> None:
        if tag not in self.names:
            self.names.append(tag)
            self.first = np.hstack([self.first, np.full((self.first.shape[0], 1), -1, dtype=np.int64)])
        k = self.names.index(tag)
        col = self.first[:, k]
        r = regions[col[regions] < 0]
        col[r] = event


def policy_tags(d: RegionData, terms: tuple[PolicyTerm, ...], x: np.ndarray, layout: dict[str, slice]) -> Tags:
    """Every region's policy tags, from the solver solution ``x`` (solver units) of the LP
    whose column layout is ``layout``."""
    lp = policy_rows(d, terms)
    n = d.n
    xs = np.zeros(lp.num_col)
    xs[:n] = x[layout["transfer"]]
    if lp.num_col > n and "contribution" in layout:
        xs[n:] = x[layout["contribution"]]
    tags = Tags([], np.zeros((n, 0), dtype=np.int64))
    # contribution share used up: the transfer sits at its (negative) lower column bound
    lo_col = lp.col_lower[:n]
    tags.add(np.flatnonzero((lo_col < 0) & (xs[:n] - lo_col <= TIGHT_TOL * np.maximum(1.0, -lo_col))),
             CONTRIBUTION_TAG, 0)
    if lp.num_row == 0:
        return tags
    act = lp.A @ xs
    csr = sp.csr_array(lp.A)
    event = 0
    for blk in lp.row_blocks:
        low_tag, up_tag = TAGS.get(blk.name, (blk.name, blk.name))
        lo, up, a = lp.row_lower[blk.slice], lp.row_upper[blk.slice], act[blk.slice]
        with np.errstate(invalid="ignore"):
            at_lo = np.isfinite(lo) & (np.abs(a - lo) <= TIGHT_TOL * np.maximum(1.0, np.abs(lo)))
            at_up = np.isfinite(up) & (np.abs(a - up) <= TIGHT_TOL * np.maximum(1.0, np.abs(up)))
        for mask, tag in ((at_lo, low_tag), (at_up, up_tag)):
            event += 1
            rows = blk.start + np.flatnonzero(mask)
            if tag is None or not rows.shape[0]:
                continue
            tight = csr[rows]            # every tight row of the block at once (one per row: 5 s at 1e6)
            cols = tight.indices
            if blk.name == "phase_change":   # the row limits this year's unit (coefficient 1)
                cols = cols[tight.data == 1.0]
            tags.add(cols[cols < n], tag, event)
    return tags


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` for small integers >= -1: each row
    read as one mixed-radix int64 (digits shifted by 1, so the keys sort as the rows do) and
    unique'd in 1-D (at 1e5 regions the row-wise sort took 0.1 s); row-wise when the keys
    would not fit in an int64."""
    radix = rows.max(axis=0, initial=-1).astype(np.int64) + 2 if rows.size else np.ones(rows.shape[1], np.int64)
    if rows.shape[0] == 0 or np.sum(np.log2(radix.astype(float))) >= 62:
        uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
        return uniq, inverse.reshape(-1)
    key = np.zeros(rows.shape[0], dtype=np.int64)
    for j in range(rows.shape[1]):
        key = key * radix[j] + (rows[:, j].astype(np.int64) + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


def with_tags(binding: pd.Series, tags: Tags) -> np.ndarray:
    """The binding column with each region's policy tags appended (those it lacks, in the
    order of ``tags``). Regions share few distinct (binding, tags) pairs, so each distinct
    pair's text is written once (1e6 regions: a loop per region took 20 s)."""
    out = binding.to_numpy(dtype=object).copy()
    if not tags.names:
        return out
    first = tags.first
    tagged = np.flatnonzero((first >= 0).any(axis=1))
    if not tagged.size:
        return out
    key = np.where(first[tagged] >= 0, first[tagged], np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    ranked = np.where(np.take_along_axis(key, order, axis=1) < np.iinfo(np.int64).max, order, -1)
    base_code, base_text = pd.factorize(binding.to_numpy(dtype=object)[tagged])
    uniq, inverse = unique_rows(np.column_stack([base_code, ranked]))
    text = np.empty(len(uniq), dtype=object)
    for i, row in enumerate(uniq):
        have = [t for t in str(base_text[row[0]]).split(";") if t]
        text[i] = ";".join(have + [tags.names[k] for k in row[1:] if k >= 0 and tags.names[k] not in have])
    out[tagged] = text[inverse.reshape(-1)]
    return out


def finish_policies(result: Result, data: RegionData, terms: tuple[PolicyTerm, ...], x: np.ndarray,
                    layout: dict[str, slice]) -> Result:
    """Tag the binding policy rows (every policy is re-checked on the unscaled data by the
    post-solve check, explain/verify.py, before a Result exists) and re-derive the reasons."""
    alloc = result.allocation.copy()
    alloc["binding"] = with_tags(alloc["binding"], policy_tags(data, terms, x, layout))
    alloc = with_reasons(alloc, result.summary.get("threshold_dual_note"))
    return dataclasses.replace(result, allocation=alloc)
