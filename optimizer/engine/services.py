"""Solve a round with services (optimizer/prepare/services.py): the objective over regions with
service floors, or over the stacked service units; the per-service table re-checked."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from models.policies import PolicyTerm
from optimizer.core.errors import SolverError
from optimizer.core.instance import Instance
from optimizer.core.metrics import level_metrics
from optimizer.core.result import Result
from optimizer.core.services import SERVICE_COLUMNS, ServiceOptions
from optimizer.engine.finish import allocation_frame
from optimizer.engine.solve import DEFAULT_OBJECTIVE, solve
from optimizer.prepare.services import (
    chain_terms,
    check_over_services,
    service_floors,
    service_thresholds,
    service_units,
    split_transfers,
    unit_terms,
)


def service_table(svc: pd.DataFrame, t_rs: np.ndarray, theta: np.ndarray, hard: bool,
                  floor: float | None) -> pd.DataFrame:
    """One row per (region, service) of the solved round; with ``hard`` thresholds re-checked
    on the original data."""
    need, own = svc["need"].to_numpy(dtype=float), svc["own_revenue"].to_numpy(dtype=float)
    after = (own + t_rs) / need
    tags = []
    for lv, th in zip(after, theta):
        tag = []
        if abs(lv - th) <= 1e-7:
            tag.append("service_threshold")
        if floor is not None and abs(lv - floor) <= 1e-7:
            tag.append("floor")
        tags.append(";".join(tag))
    out = pd.DataFrame({"region_id": svc["region_id"].to_numpy(), "service": svc["service"].to_numpy(),
                        "need": need, "own_revenue": own, "threshold": theta, "transfer": t_rs + 0.0,
                        "level_before": own / need, "level_after": after,
                        "shortfall": np.maximum(0.0, theta - after), "binding": tags})
    if hard:
        worst = float(np.max(theta - after, initial=0.0))
        if worst > 1e-6:
            raise SolverError(f"solution fails the service-threshold check on the original data: {worst:g}")
    return out[SERVICE_COLUMNS]


def service_summary(table: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for name, part in table.groupby("service", sort=False):
        lv = part["level_after"].to_numpy(dtype=float)
        out.append({"service": name, "need": float(part["need"].sum()), "transfer": float(part["transfer"].sum()),
                    "min_level": float(lv.min()), "max_level": float(lv.max()),
                    "level": float((part["own_revenue"].sum() + part["transfer"].sum()) / part["need"].sum()),
                    "below_threshold": int((part["shortfall"] > 1e-9).sum())})
    return out


# --- the two solve modes ---------------------------------------------------------------

def solve_with_services(inst: Instance, opts, svc: pd.DataFrame, so: ServiceOptions) -> Result:
    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    if so.fairness_over == "services":
        return _over_services(inst, opts, svc, so, name)
    return _over_regions(inst, opts, svc, so)


def _over_regions(inst: Instance, opts, svc: pd.DataFrame, so: ServiceOptions) -> Result:
    n = inst.n
    theta = service_thresholds(svc, inst.thresholds(opts.threshold))
    floors = service_floors(svc, n, theta, so.earmarked)

    def terms(rd, scale):
        return (PolicyTerm("service-floor", {"floor": floors / scale}),)

    res = solve(inst, dataclasses.replace(opts, extra_terms=chain_terms(opts.extra_terms, terms)))
    t = res.allocation["transfer"].to_numpy(dtype=float)
    eps = 1e-7 * max(1.0, float(np.max(np.abs(floors[np.isfinite(floors)]), initial=1.0)))
    alloc = res.allocation.copy()  # service_floor rows are tagged from the LP (optimizer/policy_checks.py);
    # a region at a floor no row carries (floor <= its min_transfer) is tagged here
    alloc["binding"] = [";".join([b for b in [tag, "service_floor" if t[i] - floors[i] <= eps
                                              and "service_floor" not in tag.split(";") else ""] if b])
                        for i, tag in enumerate(alloc["binding"])]
    table = service_table(svc, split_transfers(svc, t, theta, so.earmarked), theta, True, None)
    return _annotate(Result(alloc, dict(res.summary)), table, so)


def _over_services(inst: Instance, opts, svc: pd.DataFrame, so: ServiceOptions, name: str) -> Result:
    check_over_services(inst, name, opts.policy)
    reg = inst.regions
    r = svc["region_index"].to_numpy()
    theta = service_thresholds(svc, inst.thresholds(opts.threshold))
    stacked = service_units(inst, svc, theta)
    terms = unit_terms(inst, svc, so.earmarked)

    res = solve(stacked, dataclasses.replace(opts, threshold=None, extra_terms=chain_terms(opts.extra_terms, terms)))
    t_rs = res.allocation["transfer"].to_numpy(dtype=float)
    hard = name != "min-shortfall"
    floor = res.summary["objective_value"] if name == "maxmin" else None
    table = service_table(svc, t_rs, theta, hard, floor)
    t = np.bincount(r, weights=t_rs, minlength=inst.n)
    alloc = _region_rows(inst, opts, t, table, r)
    s = dict(res.summary)
    own, nd = reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float)
    pop = reg["population"].to_numpy(dtype=float)
    thr = inst.thresholds(opts.threshold)
    s["metrics_before"] = level_metrics(own / nd, pop, thr)
    s["metrics_after"] = level_metrics((own + t) / nd, pop, thr)
    s["min_level"], s["max_level"] = s["metrics_after"]["min_level"], s["metrics_after"]["max_level"]
    s["instance"] = dict(s["instance"]) | {"regions": inst.n, "region_services": len(svc)}
    s["budget_used"] = float(t.sum())
    return _annotate(Result(alloc, s), table, so)


def _region_rows(inst: Instance, opts, t: np.ndarray, table: pd.DataFrame, r: np.ndarray) -> pd.DataFrame:
    """allocation.csv of a services round: a region's binding tags are those of its services."""
    tags = ["" for _ in range(inst.n)]
    for i, b in zip(r, table["binding"]):
        tags[i] = ";".join(sorted(set(filter(None, tags[i].split(";") + b.split(";")))))
    return allocation_frame(inst, inst.thresholds(opts.threshold), t, np.full(inst.n, np.nan), tags)


def _annotate(res: Result, table: pd.DataFrame, so: ServiceOptions) -> Result:
    s = res.summary
    s["services"] = {"transfers": "earmarked" if so.earmarked else "general",
                     "fairness_over": so.fairness_over, "by_service": service_summary(table)}
    out = Result(res.allocation, s)
    out.tables["services"] = table
    return out
