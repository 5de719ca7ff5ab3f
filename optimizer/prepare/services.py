"""Services: optional ``services.csv`` (region_id, service, need, threshold[, own_revenue]).

Notation: N_{r,s} service need, N_r = sum_s N_{r,s} (must equal the region's fiscal_need within
0.1 %), own_{r,s} own revenue of the service (given for all services of r or none; when none,
own_{r,s} = own_r * N_{r,s} / N_r), theta_s the service threshold (blank: the region's).

Transfers are either general (default) or earmarked (``--earmarked`` / ``[services]
earmarked = true``):

- general: the region spends T_r in proportion to need, T_{r,s} = T_r N_{r,s} / N_r, so
  L_{r,s} = own_{r,s} / N_{r,s} + T_r / N_r;
- earmarked: the centre sets T_{r,s} per service, T_r = sum_s T_{r,s}.

Objective over region levels (default, ``--fairness-over regions``): the objective sees the
regions; every service threshold is a hard lower bound on the region transfer
(family ``service_floor``):  general  T_r >= max_s N_r (theta_s - own_{r,s}/N_{r,s});
earmarked  T_r >= sum_s max(0, theta_s N_{r,s} - own_{r,s}). The earmarked split reported is
then: every service lifted to its threshold, the rest in proportion to need (any split with
these floors is optimal, since the objective sees only T_r).

Objective over services (``--fairness-over services``, maxmin / min-shortfall / min-cost): the
round is stacked over units u = (r, s) with own_{r,s}, N_{r,s}, theta_s and weight
w_r N_{r,s}/N_r; the service thresholds are the (hard or soft) thresholds of the units; a
general transfer adds ``general_split`` rows; region transfer bounds become group-transfer
rows over the region's units. Policies and group bounds are refused in this mode.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from models.policies import PolicyTerm
from optimizer.core.errors import InputError, Problem, UsageError
from optimizer.core.instance import Instance
from optimizer.core.levels import gap_to_level
from optimizer.core.policy import PolicyConfig
from optimizer.core.services import FAIRNESS_OVER, SERVICE_OBJECTIVES, ServiceOptions
from optimizer.io.services import SERVICES_FILE, check_rows


def services_frame(inst: Instance) -> pd.DataFrame | None:
    """The services of the regions as prepared (after a scenario or merges the rows are
    checked again against them), own revenue filled by need share; None = no services."""
    if inst.services is None:
        return None
    problems: list[Problem] = []
    check_rows(str(inst.path / SERVICES_FILE), inst.services, inst.regions, problems)
    if problems:
        raise InputError(problems)
    return finish_rows(inst.services, inst.regions)


def finish_rows(frame: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Order rows by region order, fill own revenue by need share."""
    order = {rid: i for i, rid in enumerate(regions["region_id"])}
    f = frame.assign(_r=frame["region_id"].map(order)).sort_values(["_r", "line"], kind="stable")
    f = f.reset_index(drop=True)
    own_r = regions.set_index("region_id")["own_revenue"].astype(float)
    need_sum = f.groupby("region_id")["need"].transform("sum")
    spread = own_r.reindex(f["region_id"]).to_numpy() * f["need"].to_numpy() / need_sum.to_numpy()
    f["own_revenue"] = np.where(f["own_given"].notna(), f["own_given"].astype(float), spread)
    f["region_index"] = f["_r"].astype(int)
    return f[["region_id", "region_index", "service", "need", "own_revenue", "threshold"]]


def service_options(inst: Instance, earmarked: bool | None = None, fairness_over: str | None = None
                    ) -> ServiceOptions:
    """[services] with the CLI's --earmarked / --fairness-over taking precedence."""
    e = earmarked if earmarked else inst.service_options.earmarked
    f = fairness_over or inst.service_options.fairness_over
    if f not in FAIRNESS_OVER:
        raise UsageError(f"--fairness-over must be 'regions' or 'services', got '{f}'")
    return ServiceOptions(e, f)


# --- service thresholds and floors -----------------------------------------------------

def service_thresholds(svc: pd.DataFrame, region_threshold: np.ndarray) -> np.ndarray:
    t = svc["threshold"].to_numpy(dtype=float)
    return np.where(np.isnan(t), region_threshold[svc["region_index"].to_numpy()], t)


def service_floors(svc: pd.DataFrame, n: int, theta: np.ndarray, earmarked: bool) -> np.ndarray:
    """F_r (instance unit): the least T_r with which every service of r reaches theta_s."""
    r = svc["region_index"].to_numpy()
    need, own = svc["need"].to_numpy(dtype=float), svc["own_revenue"].to_numpy(dtype=float)
    n_r = np.bincount(r, weights=need, minlength=n)
    out = np.zeros(n)
    if earmarked:
        np.add.at(out, r, gap_to_level(theta, own, need))
        return out
    out[:] = -np.inf
    np.maximum.at(out, r, n_r[r] * (theta - own / need))
    return out


def split_transfers(svc: pd.DataFrame, t: np.ndarray, theta: np.ndarray, earmarked: bool) -> np.ndarray:
    """T_{r,s} from T_r: by need share (general), or fill to threshold then by need share."""
    r = svc["region_index"].to_numpy()
    need, own = svc["need"].to_numpy(dtype=float), svc["own_revenue"].to_numpy(dtype=float)
    n_r = np.bincount(r, weights=need, minlength=t.shape[0])
    if not earmarked:
        return t[r] * need / n_r[r]
    fill = gap_to_level(theta, own, need)
    total = np.bincount(r, weights=fill, minlength=t.shape[0])
    rest = t - total
    short = np.where(total > 0, np.minimum(1.0, t / np.where(total > 0, total, 1.0)), 1.0)  # T_r below the floor
    return fill * short[r] + np.maximum(rest, 0.0)[r] * need / n_r[r]


def check_over_services(inst: Instance, name: str, override: PolicyConfig | None) -> None:
    """Refuse what the stacked service units do not model (exit 2)."""
    if name not in SERVICE_OBJECTIVES:
        raise UsageError(f"objective '{name}' is not supported with --fairness-over services; use one of "
                         f"{', '.join(SERVICE_OBJECTIVES)} (docs/policies.md, services)")
    if inst.policy.active or (override is not None and override.active) or \
            any(g.constrained for g in inst.groups):
        raise UsageError("policies and group bounds are not supported with --fairness-over services "
                         "(they constrain region transfers); use --fairness-over regions")


def service_units(inst: Instance, svc: pd.DataFrame, theta: np.ndarray) -> Instance:
    """The round over units u = (r, s): own_{r,s}, N_{r,s}, theta_s, weight w_r N_{r,s}/N_r;
    no policy and no groups (refused in this mode)."""
    reg = inst.regions
    r = svc["region_index"].to_numpy()
    need = svc["need"].to_numpy(dtype=float)
    n_r = np.bincount(r, weights=need, minlength=inst.n)
    units = pd.DataFrame({
        "region_id": svc["region_id"].to_numpy(), "name": reg["name"].to_numpy()[r],
        "population": reg["population"].to_numpy()[r], "own_revenue": svc["own_revenue"].to_numpy(dtype=float),
        "fiscal_need": need, "threshold": theta, "prior_transfer": np.full(len(svc), np.nan),
        "min_transfer": np.full(len(svc), np.nan), "max_transfer": np.full(len(svc), np.nan),
        "weight": inst.weights()[r] * need / n_r[r]})
    return dataclasses.replace(inst, regions=units, extra_columns=[], policy=PolicyConfig(), groups=[])


def unit_terms(inst: Instance, svc: pd.DataFrame, earmarked: bool):
    """extra_terms of the stacked round: the general split of T_r over its units, and the
    region transfer bounds as group-transfer rows over the region's units."""
    reg = inst.regions
    r = svc["region_index"].to_numpy()
    need = svc["need"].to_numpy(dtype=float)
    n_r = np.bincount(r, weights=need, minlength=inst.n)
    members = [np.flatnonzero(r == i) for i in range(inst.n)]
    lo = np.nan_to_num(reg["min_transfer"].to_numpy(dtype=float), nan=-np.inf)
    hi = np.nan_to_num(reg["max_transfer"].to_numpy(dtype=float), nan=np.inf)
    lo = np.where(lo > 0, lo, -np.inf)

    def terms(rd, scale):
        out = []
        if not earmarked:
            out.append(PolicyTerm("general-split", {"units": members, "shares": [need[m] / n_r[i]
                                                                                 for i, m in enumerate(members)]}))
        if np.isfinite(lo).any() or np.isfinite(hi).any():
            out.append(PolicyTerm("group-transfer", {"members": members, "lower": lo / scale, "upper": hi / scale}))
        return tuple(out)
    return terms


def chain_terms(a, b):
    """Two extra_terms callables as one (either may be None)."""
    if a is None:
        return b
    return lambda rd, scale: tuple(a(rd, scale)) + tuple(b(rd, scale))
