"""Change against last year (issue 11, point 5): ``change`` = transfer - prior_transfer and
``change_pct`` = 100 x change / prior (NaN where the prior is 0 or missing) per region, and
the ``change_vs_prior`` summary (winners, losers, unchanged within a stated tolerance, the
largest gains and losses). Multi-year rounds: the first year against the prior, then each
year against the one before (docs/schema.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TOP = 3                 # largest gains and losses listed
UNCHANGED_REL = 1e-9    # |change| <= 1e-9 x max(1, largest |transfer| or |prior|): unchanged


def change_columns(t: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(change, change_pct); both NaN where the prior is missing, change_pct NaN where it is 0."""
    t, prior = np.asarray(t, dtype=float), np.asarray(prior, dtype=float)
    change = t - prior
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(np.isfinite(prior) & (prior != 0), 100.0 * change / np.where(prior != 0, prior, 1.0), np.nan)
    return change + 0.0, pct + 0.0


def unchanged_tolerance(t: np.ndarray, prior: np.ndarray, unit: float = 0.0) -> float:
    """Money below which a change counts as none: 1e-9 of the largest amount (at least 1e-9),
    or half the rounding unit when transfers were rounded."""
    # the largest finite |amount| of either, without joining them (two 1e6 copies at the peak of a solve)
    largest = max(float(np.max(np.abs(x), where=np.isfinite(x), initial=0.0)) for x in (t, prior))
    return max(UNCHANGED_REL * max(1.0, largest), unit / 2.0)


def _entry(rid, change: float, pct: float) -> dict:
    return {"region": str(rid), "change": float(change), "change_pct": None if not np.isfinite(pct) else float(pct)}


def top_first(values: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(values, kind="stable")[:k]`` (the k smallest, ties in position order)
    without sorting all of ``values``: the candidates up to the k-th smallest, then sorted."""
    if values.shape[0] <= k:
        return np.argsort(values, kind="stable")
    kth = np.partition(values, k - 1)[k - 1]
    cand = np.flatnonzero(values <= kth)
    return cand[np.lexsort((cand, values[cand]))][:k]


def _ids(region_id):
    """Indexable region ids without converting a whole column to Python objects."""
    return region_id.array if isinstance(region_id, pd.Series) else np.asarray(region_id, dtype=object)


def change_summary(region_id, t, prior, unit: float = 0.0, against: str = "prior_transfer",
                   columns: tuple[np.ndarray, np.ndarray] | None = None) -> dict | None:
    """The ``change_vs_prior`` block; None when no region has a prior transfer. ``columns``:
    ``change_columns(t, prior)`` when the caller has them already (elementwise: the same values)."""
    t, prior = np.asarray(t, dtype=float), np.asarray(prior, dtype=float)
    known = np.isfinite(prior)
    if not known.any():
        return None
    rows = np.flatnonzero(known)
    if columns is None:
        change, pct = change_columns(t[known], prior[known])
    else:
        change, pct = columns[0][known], columns[1][known]
    tol = unchanged_tolerance(t, prior, unit)
    ids = _ids(region_id)
    gains = [_entry(ids[rows[k]], change[k], pct[k]) for k in top_first(-change, TOP) if change[k] > tol]
    losses = [_entry(ids[rows[k]], change[k], pct[k]) for k in top_first(change, TOP) if change[k] < -tol]
    return {"against": against, "tolerance": tol,
            "winners": int((change > tol).sum()), "losers": int((change < -tol).sum()),
            "unchanged": int((np.abs(change) <= tol).sum()), "without_prior": int((~known).sum()),
            "total_prior": float(prior[known].sum()), "total_transfer": float(t[known].sum()),
            "total_change": float(change.sum()), "largest_gains": gains, "largest_losses": losses}


def add_change(alloc: pd.DataFrame, prior_col: str = "prior_transfer",
               columns: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """``alloc`` with change and change_pct right after ``transfer`` (recomputed if present);
    ``columns``: ``change_columns`` of its transfer and prior columns, when the caller has them."""
    a = alloc.drop(columns=[c for c in ("change", "change_pct") if c in alloc.columns])
    change, pct = columns if columns is not None else \
        change_columns(a["transfer"].to_numpy(dtype=float), a[prior_col].to_numpy(dtype=float))
    at = list(a.columns).index("transfer") + 1
    a.insert(at, "change", change)
    a.insert(at + 1, "change_pct", pct)
    return a


def previous_transfers(t: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Multi-year (K x n transfers): what each year is compared with (the prior, then the year before)."""
    return np.vstack([np.asarray(prior, dtype=float)[None, :], t[:-1]])
