"""After a solve with policy rows: which policy rows hold tight for which region (the
``binding`` column), and the re-check of every policy on the original (unscaled) data.

Tags come from the LP itself: the policy row blocks (models/policies.py ``policy_rows``,
the very rows the solved LP has) evaluated at the solver's solution, compared with their
bounds; a tight row tags every region whose transfer it involves. Nothing here prints.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from models.data import RegionData
from models.policies import PolicyTerm, get_policy, policy_rows
from optimizer.core.errors import SolverError
from optimizer.core.result import Result

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


def policy_tags(d: RegionData, terms: tuple[PolicyTerm, ...], x: np.ndarray,
                layout: dict[str, slice]) -> dict[int, list[str]]:
    """region index -> policy tags, from the solver solution ``x`` (solver units) of the LP
    whose column layout is ``layout``."""
    lp = policy_rows(d, terms)
    n = d.n
    xs = np.zeros(lp.num_col)
    xs[:n] = x[layout["transfer"]]
    if lp.num_col > n and "contribution" in layout:
        xs[n:] = x[layout["contribution"]]
    tags: dict[int, list[str]] = {}

    def add(regions, tag):
        for r in regions:
            lst = tags.setdefault(int(r), [])
            if tag not in lst:
                lst.append(tag)

    # contribution share used up: the transfer sits at its (negative) lower column bound
    lo_col = lp.col_lower[:n]
    add(np.flatnonzero((lo_col < 0) & (xs[:n] - lo_col <= TIGHT_TOL * np.maximum(1.0, -lo_col))), CONTRIBUTION_TAG)
    if lp.num_row == 0:
        return tags
    act = lp.A @ xs
    csr = sp.csr_array(lp.A)
    for blk in lp.row_blocks:
        low_tag, up_tag = TAGS.get(blk.name, (blk.name, blk.name))
        lo, up, a = lp.row_lower[blk.slice], lp.row_upper[blk.slice], act[blk.slice]
        with np.errstate(invalid="ignore"):
            at_lo = np.isfinite(lo) & (np.abs(a - lo) <= TIGHT_TOL * np.maximum(1.0, np.abs(lo)))
            at_up = np.isfinite(up) & (np.abs(a - up) <= TIGHT_TOL * np.maximum(1.0, np.abs(up)))
        for mask, tag in ((at_lo, low_tag), (at_up, up_tag)):
            if tag is None:
                continue
            for i in np.flatnonzero(mask):
                row = blk.start + int(i)
                cols = csr.indices[csr.indptr[row]:csr.indptr[row + 1]]
                vals = csr.data[csr.indptr[row]:csr.indptr[row + 1]]
                if blk.name == "phase_change":   # the row limits this year's unit (coefficient 1)
                    cols = cols[vals == 1.0]
                add(cols[cols < n], tag)
    return tags


def with_tags(binding: list[str], tags: dict[int, list[str]]) -> list[str]:
    out = list(binding)
    for r, extra in tags.items():
        have = [t for t in out[r].split(";") if t]
        out[r] = ";".join(have + [t for t in extra if t not in have])
    return out


def policy_checks(t: np.ndarray, d: RegionData, terms: tuple[PolicyTerm, ...]) -> dict[str, tuple[float, str]]:
    """``<policy>_violation`` -> (largest violation, unit 'money' or 'level') of every policy
    term, on the data given (the solve passes the unscaled allocation, data and terms)."""
    out: dict[str, tuple[float, str]] = {}
    for term in terms:
        spec = get_policy(term.name)
        if spec.check is None:
            continue
        key = spec.name.replace("-", "_") + "_violation"
        v = float(spec.check(np.asarray(t, dtype=float), d, term.params))
        out[key] = (max(v, out.get(key, (0.0, spec.unit))[0]), spec.unit)
    return out


def finish_policies(result: Result, data: RegionData, terms: tuple[PolicyTerm, ...], x: np.ndarray,
                    layout: dict[str, slice], raw_data: RegionData, raw_terms: tuple[PolicyTerm, ...],
                    money_tol: float, level_tol: float) -> Result:
    """Tag the binding policy rows and re-check every policy on the unscaled data; raise
    SolverError when a policy is violated beyond tolerance (as the core checks do)."""
    alloc = result.allocation.copy()
    alloc["binding"] = with_tags(list(alloc["binding"]), policy_tags(data, terms, x, layout))
    t = alloc["transfer"].to_numpy(dtype=float)
    found = policy_checks(t, raw_data, raw_terms)
    bad = {k: v for k, (v, unit) in found.items() if v > (level_tol if unit == "level" else money_tol)}
    if bad:
        raise SolverError(f"solution fails the policy check on the original data: {bad}")
    summary = dict(result.summary)
    summary["checks"] = dict(summary.get("checks", {})) | {k: v for k, (v, _) in found.items()}
    return dataclasses.replace(result, allocation=alloc, summary=summary)
