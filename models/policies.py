"""Policy constraints, each one small function registered by name.

A policy adds rows (and, for horizontal equalization, columns) to the core model.
Every policy has a Pyomo function (the model of record) and a vectorised twin that
adds the identical rows to an ``ArrayBuilder``; ``models.build`` applies policies
after the core and before the objective, in the order given, in both constructions.

Notation (solver units, see models/core.py): T_r transfer, own_r own revenue, N_r need,
L_r = (own_r + T_r) / N_r, P_r prior transfer. Parameters arrive in ``params``, a plain
dict built by the caller (money already divided by the money scale).

Adding a policy = one function pair, a numpy ``check`` (its largest violation by an allocation,
re-run on the unscaled data after every solve) and one ``PolicySpec`` line in ``POLICIES``.
"""

from __future__ import annotations

import numpy as np

from models import groups, phasing, services
from models.bounds import pyomo_bound, worst
from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block, LinearProgram
from models.policy_spec import Params, PolicySpec, PolicyTerm

__all__ = ["DEFINITIONAL_ROWS", "POLICIES", "ROUND_POLICIES", "Params", "PolicySpec", "PolicyTerm",
           "apply_arrays", "apply_pyomo", "contribution_cap", "get_policy", "has_twins", "policy_rows"]

def _finite(x: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isfinite(x))


def _add_bound_rows(b: ArrayBuilder, name: str, t: Block, idx: np.ndarray, lower, upper) -> None:
    """Rows lower_k <= T_{idx_k} <= upper_k (one per index)."""
    k = idx.shape[0]
    if k:
        b.add_rows(name, np.arange(k), t.start + idx, np.ones(k), lower, upper, size=k)


# --- hold-harmless ------------------------------------------------------------

def hold_harmless(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """T_r >= h * P_r  for every r with a prior transfer P_r > 0   (params: share h, prior P).

    Last year's recipients keep at least a share h of what they received.
    """
    lo = p["share"] * p["prior"]
    idx = [int(r) for r in np.flatnonzero(np.nan_to_num(p["prior"]) > 0)]
    if idx:
        m.hold_harmless = pyo.Constraint(idx, rule=lambda m, r: m.transfer[r] >= float(lo[r]))


def hold_harmless_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    idx = np.flatnonzero(np.nan_to_num(p["prior"]) > 0)
    _add_bound_rows(b, "hold_harmless", blocks["transfer"], idx, (p["share"] * p["prior"])[idx], INF)


def hold_harmless_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    idx = np.flatnonzero(np.nan_to_num(p["prior"]) > 0)
    return worst((p["share"] * p["prior"])[idx] - t[idx])


# --- change limit -------------------------------------------------------------

def change_width(p: Params) -> np.ndarray:
    """w_r = min(d * P_r, D) over the forms given (relative share d, absolute amount D)."""
    prior = p["prior"]
    w = np.full(prior.shape, np.inf)
    if p.get("share") is not None:
        w = np.minimum(w, p["share"] * prior)
    if p.get("absolute") is not None:
        w = np.minimum(w, p["absolute"])
    return w


def change_limit(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """P_r - w_r <= T_r <= P_r + w_r,  w_r = min(d * P_r, D)  for every r with a known P_r.

    |T_r - P_r| <= d * P_r (relative form, share d) and/or <= D (absolute form).
    """
    w, prior = change_width(p), p["prior"]
    idx = [int(r) for r in _finite(prior)]
    if idx:
        m.change_limit = pyo.Constraint(idx, rule=lambda m, r: (
            float(prior[r] - w[r]), m.transfer[r], float(prior[r] + w[r])))


def change_limit_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    w, prior = change_width(p), p["prior"]
    idx = _finite(prior)
    _add_bound_rows(b, "change_limit", blocks["transfer"], idx, (prior - w)[idx], (prior + w)[idx])


def change_limit_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    w, prior = change_width(p), p["prior"]
    idx = _finite(prior)
    return worst(np.abs(t[idx] - prior[idx]) - w[idx])


# --- per-capita cap and floor -------------------------------------------------

def _per_capita_bounds(p: Params) -> tuple[np.ndarray, np.ndarray]:
    pop = p["population"]
    lo = pop * p["floor"] if p.get("floor") is not None else np.full(pop.shape, -INF)
    hi = pop * p["cap"] if p.get("cap") is not None else np.full(pop.shape, INF)
    return lo, hi


def per_capita(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """f * pop_r <= T_r <= c * pop_r   (floor f and cap c per head, in money per person).
    """
    lo, hi = _per_capita_bounds(p)
    m.per_capita = pyo.Constraint(range(d.n), rule=lambda m, r: (pyomo_bound(lo[r]), m.transfer[r], pyomo_bound(hi[r])))


def per_capita_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    lo, hi = _per_capita_bounds(p)
    _add_bound_rows(b, "per_capita", blocks["transfer"], np.arange(d.n), lo, hi)


def per_capita_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    lo, hi = _per_capita_bounds(p)
    return max(worst(lo - t), worst(t - hi))


# --- equalization-rate cap (tax-effort incentive) -----------------------------

def rate_cap(d: RegionData, p: Params) -> np.ndarray:
    """a * max(0, S_r * N_r - own_r): the most of its gap to the standard a region may get."""
    return p["rate"] * np.maximum(0.0, p["standard"] * d.need - d.own)


def equalization_rate(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """T_r <= a * max(0, S_r * N_r - own_r)   (rate a, standard level S_r, default theta_r).

    No region gets more than the share a of its gap to the standard closed, so a region
    that raises its own revenue by 1 loses at most a of it in transfers.
    """
    cap = rate_cap(d, p)
    m.equalization_rate = pyo.Constraint(range(d.n), rule=lambda m, r: m.transfer[r] <= float(cap[r]))


def equalization_rate_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    _add_bound_rows(b, "equalization_rate", blocks["transfer"], np.arange(d.n), -INF, rate_cap(d, p))


def equalization_rate_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    return worst(t - rate_cap(d, p))


# --- no-overtaking ------------------------------------------------------------

def overtaking_pairs(d: RegionData) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) pairs: regions sorted by level before, descending, grouped by equal level;
    each region of a group is paired with each of the next lower group. Rows L_lo <= L_hi
    on these pairs imply them for every pair by transitivity (n - 1 rows without ties).
    Built once per round: kept in ``d.memo`` with the levels before they were built from
    (a round's LPs, envelopes, checks and certificates ask for them up to 13 times), read-only."""
    before = np.round(d.own / d.need, 12)
    kept = d.memo.get("overtaking_pairs")
    if kept is not None and np.array_equal(kept[0], before):
        return kept[1], kept[2]
    his, los = _pairs(before)
    his.flags.writeable = los.flags.writeable = False
    d.memo["overtaking_pairs"] = (before, his, los)
    return his, los


def _pairs(before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = before.shape[0]
    order = np.argsort(-before, kind="stable")          # descending; ties by index
    sorted_before = before[order]
    starts = np.flatnonzero(np.r_[True, sorted_before[1:] != sorted_before[:-1]])
    if starts.shape[0] < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, n])
    upper, lower = sizes[:-1], sizes[1:]
    counts = upper * lower                               # pairs between group g and g+1
    g = np.repeat(np.arange(counts.shape[0]), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    # within a pair of groups the upper member varies slowest (as repeat/tile would give)
    his = order[starts[g] + k // lower[g]]
    los = order[starts[g + 1] + k % lower[g]]
    return his.astype(np.int64), los.astype(np.int64)


def no_overtaking(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """L_j <= L_i  whenever own_i/N_i > own_j/N_j   (levels after keep the order before).

    Germany's rule: equalization may narrow gaps but never reverse the ranking. Linear
    in the sorted order: only neighbouring levels are compared.
    """
    hi, lo = overtaking_pairs(d)
    if hi.shape[0]:
        m.no_overtaking = pyo.Constraint(range(hi.shape[0]), rule=lambda m, k: (
            m.level[int(lo[k])] - m.level[int(hi[k])] <= 0))


def no_overtaking_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    hi, lo = overtaking_pairs(d)
    k = hi.shape[0]
    if not k:
        return
    t, inv = blocks["transfer"], 1.0 / d.need
    rows = np.concatenate([np.arange(k), np.arange(k)])
    cols = np.concatenate([t.start + lo, t.start + hi])
    vals = np.concatenate([inv[lo], -inv[hi]])
    upper = d.own[hi] * inv[hi] - d.own[lo] * inv[lo]
    b.add_rows("no_overtaking", rows, cols, vals, -INF, upper, size=k)


def no_overtaking_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    hi, lo = overtaking_pairs(d)
    level = (d.own + t) / d.need
    return worst(level[lo] - level[hi])


# --- horizontal equalization --------------------------------------------------

def contribution_cap(own: np.ndarray, need: np.ndarray, level: float, share: float) -> np.ndarray:
    """s * max(0, own_r - lambda * N_r): the most region r may be asked to contribute."""
    return share * np.maximum(0.0, own - level * need)


def _contributors(d: RegionData, p: Params) -> tuple[np.ndarray, np.ndarray]:
    cap = contribution_cap(d.own, d.need, p["level"], p["share"])
    idx = np.flatnonzero((cap > 0) & (d.t_min <= 0))
    return idx, cap[idx]


def horizontal(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """Regions above level lambda contribute C_r, 0 <= C_r <= s * max(0, own_r - lambda N_r).

    T_r is the net transfer: for a contributor T_r >= -C_r (rows C_r + T_r >= 0, lower
    bound of T_r lowered to -s * surplus_r). The budget row sum_r T_r <= B then reads
    sum of payments <= B + sum of contributions: the pool is the central budget plus
    what the rich regions pay in. C_r is the contribution itself (= max(0, -T_r) at any
    solution that minimises spending, which the tie-break does with weight 2 on C).
    """
    idx, cap = _contributors(d, p)
    if not idx.shape[0]:
        return
    for r, c in zip(idx, cap):
        m.transfer[int(r)].setlb(float(-c))
    m.contribution = pyo.Var(range(idx.shape[0]), bounds=lambda m, k: (0.0, float(cap[k])))
    m.contribution_rows = pyo.Constraint(range(idx.shape[0]), rule=lambda m, k: (
        m.contribution[k] + m.transfer[int(idx[k])] >= 0))


def horizontal_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    idx, cap = _contributors(d, p)
    k = idx.shape[0]
    if not k:
        return
    t = blocks["transfer"]
    b.set_col_lower(t, idx, -cap)
    c = b.add_cols("contribution", 0.0, cap, size=k)
    blocks["contribution"] = c
    rows = np.concatenate([np.arange(k), np.arange(k)])
    cols = np.concatenate([c.start + np.arange(k), t.start + idx])
    b.add_rows("contribution_rows", rows, cols, np.ones(2 * k), 0.0, INF, size=k)


def horizontal_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    """A negative transfer (contribution) never exceeds the allowed share of the surplus."""
    cap = contribution_cap(d.own, d.need, p["level"], p["share"])
    idx = np.flatnonzero(d.t_min <= 0)
    return worst(-t[idx] - cap[idx])


# --- merged-unit guarantee ----------------------------------------------------

def merger_guarantee(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """T_r >= P_r  for every merged region r (P_r = sum of its members' prior transfers).

    Korea guarantees a merged unit its members' combined grants for the merger year and
    three more; ``params['merged']`` is the boolean mask of merged regions.
    """
    prior = np.nan_to_num(p["prior"])
    idx = [int(r) for r in np.flatnonzero(p["merged"])]
    if idx:
        m.merger_guarantee = pyo.Constraint(idx, rule=lambda m, r: m.transfer[r] >= float(prior[r]))


def merger_guarantee_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    idx = np.flatnonzero(p["merged"])
    _add_bound_rows(b, "merger_guarantee", blocks["transfer"], idx, np.nan_to_num(p["prior"])[idx], INF)


def merger_guarantee_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    idx = np.flatnonzero(p["merged"])
    return worst(np.nan_to_num(p["prior"])[idx] - t[idx])


POLICIES: dict[str, PolicySpec] = {
    spec.name: spec
    for spec in (
        PolicySpec("hold-harmless", "T_r >= h * prior_r", "hold_harmless", "money",
                   hold_harmless, hold_harmless_arrays, hold_harmless_check),
        PolicySpec("change-limit", "|T_r - prior_r| <= min(d * prior_r, D)", "change_limit", "money",
                   change_limit, change_limit_arrays, change_limit_check),
        PolicySpec("per-capita", "floor <= T_r / pop_r <= cap", "per_capita", "money",
                   per_capita, per_capita_arrays, per_capita_check),
        PolicySpec("equalization-rate", "T_r <= a * max(0, standard_r - own_r)", "equalization_rate",
                   "money", equalization_rate, equalization_rate_arrays, equalization_rate_check),
        PolicySpec("no-overtaking", "levels after keep the order of levels before", "no_overtaking",
                   "level", no_overtaking, no_overtaking_arrays, no_overtaking_check),
        PolicySpec("horizontal", "regions above a level contribute up to a share of their surplus",
                   "contribution_rows", "money", horizontal, horizontal_arrays, horizontal_check),
        PolicySpec("merger-guarantee", "a merged region gets at least its members' prior transfers",
                   "merger_guarantee", "money", merger_guarantee, merger_guarantee_arrays,
                   merger_guarantee_check),
        PolicySpec("group-transfer", "a group's total transfer between bounds", "group_transfer",
                   "money", groups.group_transfer, groups.group_transfer_arrays, groups.group_transfer_check),
        PolicySpec("group-level", "a group's level (sum own + T) / sum need >= a minimum",
                   "group_level", "level", groups.group_level, groups.group_level_arrays, groups.group_level_check),
    )
}

# Row families of multi-year rounds and services (built by optimizer/prepare/phasing.py and
# optimizer/prepare/services.py, not user-facing [policy] keys): a registry of their own.
ROUND_POLICIES: dict[str, PolicySpec] = {spec.name: spec for spec in (
    PolicySpec("year-budget", "sum of a year's transfers <= that year's budget", "year_budget", "money",
               phasing.year_budget, phasing.year_budget_arrays, phasing.year_budget_check),
    PolicySpec("phase-change", "|T_{r,y} - T_{r,y-1}| <= d * T_{r,y-1} (and/or <= D)", "phase_change",
               "money", phasing.phase_change, phasing.phase_change_arrays, phasing.phase_change_check),
    PolicySpec("service-floor", "T_r >= the least transfer meeting every service threshold of r",
               "service_floor", "money", services.service_floor, services.service_floor_arrays,
               services.service_floor_check),
    PolicySpec("general-split", "a general transfer is spent over services in proportion to need",
               "general_split", "money", services.general_split, services.general_split_arrays,
               services.general_split_check),
)}

# Row families that define variables rather than restrict the allocation: never relaxed.
DEFINITIONAL_ROWS = frozenset({"contribution_rows", "general_split"})


def get_policy(name: str) -> PolicySpec:
    try:
        return POLICIES[name] if name in POLICIES else ROUND_POLICIES[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; choose one of: {', '.join(POLICIES)}") from None


def apply_pyomo(m: pyo.ConcreteModel, d: RegionData, terms: tuple[PolicyTerm, ...]) -> None:
    for term in terms:
        get_policy(term.name).pyomo(m, d, term.params)


def apply_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData,
                 terms: tuple[PolicyTerm, ...]) -> None:
    for term in terms:
        get_policy(term.name).arrays(b, blocks, d, term.params)


def has_twins(terms: tuple[PolicyTerm, ...]) -> bool:
    return all(get_policy(t.name).arrays is not None for t in terms)


def policy_rows(d: RegionData, terms: tuple[PolicyTerm, ...]) -> LinearProgram:
    """The policy rows (and contribution columns) alone, on a transfer block at column 0:
    the same rows, bounds and column bounds the full LP gets from ``apply_arrays`` (used to
    read which policy rows an optimal allocation holds tight)."""
    b = ArrayBuilder()
    blocks = {"transfer": b.add_cols("transfer", d.t_min, d.t_max, size=d.n)}
    apply_arrays(b, blocks, d, tuple(t for t in terms if get_policy(t.name).arrays is not None))
    return b.build()
