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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.policies import PolicyTerm
from optimizer.io import validation as v
from optimizer.core.errors import InputError, Problem, SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.io.load import read_csv_rows
from optimizer.core.metrics import level_metrics
from optimizer.core.result import Result

SERVICES_FILE = "services.csv"
SERVICE_OBJECTIVES = ("maxmin", "min-shortfall", "min-cost")
NEED_RTOL = 1e-3      # service needs must sum to fiscal_need within 0.1 %
SERVICE_COLUMNS = ["region_id", "service", "need", "own_revenue", "threshold", "transfer",
                   "level_before", "level_after", "shortfall", "binding"]


@dataclass(frozen=True)
class ServiceOptions:
    earmarked: bool = False
    fairness_over: str = "regions"     # "regions" | "services"


def read_services(folder: Path, regions: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame | None:
    """Parse and validate services.csv (None when absent); append every problem found."""
    path = folder / SERVICES_FILE
    if not path.exists():
        return None
    sf = str(path)
    n0 = len(problems)
    header, rows = read_csv_rows(path, problems)
    if not header:
        return None
    for col in ("region_id", "service", "need", "threshold"):
        if col not in header:
            problems.append(Problem(sf, "required column is missing", 1, col))
    if any(c not in header for c in ("region_id", "service", "need", "threshold")):
        return None
    pos = {c: i for i, c in enumerate(header)}
    has_own = "own_revenue" in pos
    known = set(regions["region_id"])
    seen: dict[tuple[str, str], int] = {}
    recs: list[dict[str, Any]] = []
    for line, cells in rows:
        if len(cells) != len(header):
            problems.append(Problem(sf, f"has {len(cells)} fields, the header has {len(header)}", line))
            continue
        rid, svc = cells[pos["region_id"]].strip(), cells[pos["service"]].strip()
        if rid not in known:
            problems.append(Problem(sf, f"unknown region '{rid}' (not in regions.csv)", line, "region_id", rid))
        if not svc:
            problems.append(Problem(sf, "is empty; every row needs a service name", line, "service", rid))
        elif (rid, svc) in seen:
            problems.append(Problem(sf, f"duplicate service '{svc}' for region '{rid}' (first on line "
                                        f"{seen[(rid, svc)]})", line, "service", rid))
        else:
            seen[(rid, svc)] = line
        need = v.check_cell(sf, line, rid, "fiscal_need", cells[pos["need"]], problems, required=True)
        if need is None:  # same rule as fiscal_need (> 0), reported under this file's column name
            problems[-1] = dataclasses.replace(problems[-1], column="need")
        thr = v.check_cell(sf, line, rid, "threshold", cells[pos["threshold"]], problems, required=False)
        own = (v.check_cell(sf, line, rid, "own_revenue", cells[pos["own_revenue"]], problems, required=False)
               if has_own else None)
        recs.append({"line": line, "region_id": rid, "service": svc, "need": need,
                     "threshold": np.nan if thr is None else thr, "own_given": own})
    frame = pd.DataFrame(recs, columns=["line", "region_id", "service", "need", "threshold", "own_given"])
    if len(problems) > n0 or frame.empty:
        if frame.empty and len(problems) == n0:
            problems.append(Problem(sf, "has no service rows"))
        return None
    _check_sums(sf, frame, regions, problems)
    return None if len(problems) > n0 else _finish(frame, regions)


def _check_sums(sf: str, frame: pd.DataFrame, regions: pd.DataFrame, problems: list[Problem]) -> None:
    for rid, need_r, own_r in zip(regions["region_id"], regions["fiscal_need"], regions["own_revenue"]):
        part = frame[frame["region_id"] == rid]
        if part.empty:
            problems.append(Problem(sf, f"region '{rid}' has no services; every region needs at least one",
                                    column="region_id", region=rid))
            continue
        line = int(part["line"].iloc[0])
        total = float(part["need"].sum())
        if abs(total - need_r) > NEED_RTOL * need_r:
            problems.append(Problem(sf, f"service needs of '{rid}' sum to {total:,.6g}, its fiscal_need is "
                                        f"{need_r:,.6g} (must agree within 0.1%)", line, "need", rid))
        given = part["own_given"].notna()
        if given.any() and not given.all():
            problems.append(Problem(sf, f"own_revenue is given for some services of '{rid}' but not all; "
                                        "give all or none", line, "own_revenue", rid))
        elif given.all():
            own_t = float(part["own_given"].astype(float).sum())
            if abs(own_t - own_r) > NEED_RTOL * max(own_r, 1e-12) + 1e-12:
                problems.append(Problem(sf, f"service own_revenue of '{rid}' sums to {own_t:,.6g}, its "
                                            f"own_revenue is {own_r:,.6g} (must agree within 0.1%)",
                                        line, "own_revenue", rid))


def _finish(frame: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
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


def services_of(inst: Instance) -> pd.DataFrame | None:
    problems: list[Problem] = []
    s = read_services(inst.path, inst.regions, problems)
    if problems:
        raise InputError(problems)
    return s


def service_options(inst: Instance, earmarked: bool | None = None, fairness_over: str | None = None
                    ) -> ServiceOptions:
    table = inst.raw_toml.get("services", {}) if isinstance(inst.raw_toml.get("services", {}), dict) else {}
    e = earmarked if earmarked else bool(table.get("earmarked", False))
    f = fairness_over or table.get("fairness_over", "regions")
    if f not in ("regions", "services"):
        raise UsageError(f"--fairness-over must be 'regions' or 'services', got '{f}'")
    return ServiceOptions(e, f)


def check_services_table(meta: dict[str, Any], file: str, problems: list[Problem]) -> None:
    table = meta.get("services")
    if table is None:
        return
    if not isinstance(table, dict):
        problems.append(Problem(file, "[services] must be a table", column="services"))
        return
    for k, val in table.items():
        col = f"services.{k}"
        if k == "earmarked" and not isinstance(val, bool):
            problems.append(Problem(file, f"'{col}' must be true or false, got {val!r}", column=col))
        elif k == "fairness_over" and val not in ("regions", "services"):
            problems.append(Problem(file, f"'{col}' must be \"regions\" or \"services\", got {val!r}", column=col))
        elif k not in ("earmarked", "fairness_over"):
            problems.append(Problem(file, f"unknown services key '{k}'; known: earmarked, fairness_over",
                                    column=col))


# --- service thresholds and levels ------------------------------------------------------

def _thresholds(svc: pd.DataFrame, region_threshold: np.ndarray) -> np.ndarray:
    t = svc["threshold"].to_numpy(dtype=float)
    return np.where(np.isnan(t), region_threshold[svc["region_index"].to_numpy()], t)


def service_floors(svc: pd.DataFrame, n: int, theta: np.ndarray, earmarked: bool) -> np.ndarray:
    """F_r (instance unit): the least T_r with which every service of r reaches theta_s."""
    r = svc["region_index"].to_numpy()
    need, own = svc["need"].to_numpy(dtype=float), svc["own_revenue"].to_numpy(dtype=float)
    n_r = np.bincount(r, weights=need, minlength=n)
    out = np.zeros(n)
    if earmarked:
        np.add.at(out, r, np.maximum(0.0, theta * need - own))
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
    fill = np.maximum(0.0, theta * need - own)
    total = np.bincount(r, weights=fill, minlength=t.shape[0])
    rest = t - total
    short = np.where(total > 0, np.minimum(1.0, t / np.where(total > 0, total, 1.0)), 1.0)  # T_r below the floor
    return fill * short[r] + np.maximum(rest, 0.0)[r] * need / n_r[r]


def service_table(svc: pd.DataFrame, t_rs: np.ndarray, theta: np.ndarray, hard: bool,
                  floor: float | None) -> pd.DataFrame:
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
    from optimizer.engine.solve import DEFAULT_OBJECTIVE

    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    if so.fairness_over == "services":
        return _over_services(inst, opts, svc, so, name)
    return _over_regions(inst, opts, svc, so)


def _over_regions(inst: Instance, opts, svc: pd.DataFrame, so: ServiceOptions) -> Result:
    from optimizer.engine.solve import solve

    n = inst.n
    theta = _thresholds(svc, inst.thresholds(opts.threshold))
    floors = service_floors(svc, n, theta, so.earmarked)

    def terms(rd, scale):
        return (PolicyTerm("service-floor", {"floor": floors / scale}),)

    res = solve(inst, dataclasses.replace(opts, extra_terms=_chain(opts.extra_terms, terms)))
    t = res.allocation["transfer"].to_numpy(dtype=float)
    eps = 1e-7 * max(1.0, float(np.max(np.abs(floors[np.isfinite(floors)]), initial=1.0)))
    alloc = res.allocation.copy()  # service_floor rows are tagged from the LP (optimizer/policy_checks.py);
    # a region at a floor no row carries (floor <= its min_transfer) is tagged here
    alloc["binding"] = [";".join([b for b in [tag, "service_floor" if t[i] - floors[i] <= eps
                                              and "service_floor" not in tag.split(";") else ""] if b])
                        for i, tag in enumerate(alloc["binding"])]
    table = service_table(svc, split_transfers(svc, t, theta, so.earmarked), theta, True, None)
    return _annotate(Result(alloc, dict(res.summary)), table, so)


def _chain(a, b):
    if a is None:
        return b
    return lambda rd, scale: tuple(a(rd, scale)) + tuple(b(rd, scale))


def _over_services(inst: Instance, opts, svc: pd.DataFrame, so: ServiceOptions, name: str) -> Result:
    from optimizer.prepare.policy_round import instance_groups, instance_policy
    from optimizer.engine.solve import solve

    if name not in SERVICE_OBJECTIVES:
        raise UsageError(f"objective '{name}' is not supported with --fairness-over services; use one of "
                         f"{', '.join(SERVICE_OBJECTIVES)} (docs/policies.md, services)")
    cfg = instance_policy(inst)
    if cfg.active or (opts.policy is not None and opts.policy.active) or \
            any(g.constrained for g in instance_groups(inst)):
        raise UsageError("policies and group bounds are not supported with --fairness-over services "
                         "(they constrain region transfers); use --fairness-over regions")
    reg = inst.regions
    r = svc["region_index"].to_numpy()
    theta = _thresholds(svc, inst.thresholds(opts.threshold))
    need = svc["need"].to_numpy(dtype=float)
    n_r = np.bincount(r, weights=need, minlength=inst.n)
    units = pd.DataFrame({
        "region_id": svc["region_id"].to_numpy(), "name": reg["name"].to_numpy()[r],
        "population": reg["population"].to_numpy()[r], "own_revenue": svc["own_revenue"].to_numpy(dtype=float),
        "fiscal_need": need, "threshold": theta, "prior_transfer": np.full(len(svc), np.nan),
        "min_transfer": np.full(len(svc), np.nan), "max_transfer": np.full(len(svc), np.nan),
        "weight": inst.weights()[r] * need / n_r[r]})
    stacked = dataclasses.replace(inst, regions=units, extra_columns=[], raw_toml={
        k: val for k, val in inst.raw_toml.items() if k not in ("policy", "groups")})
    members = [np.flatnonzero(r == i) for i in range(inst.n)]
    lo = np.nan_to_num(reg["min_transfer"].to_numpy(dtype=float), nan=-np.inf)
    hi = np.nan_to_num(reg["max_transfer"].to_numpy(dtype=float), nan=np.inf)
    lo = np.where(lo > 0, lo, -np.inf)

    def terms(rd, scale):
        out = []
        if not so.earmarked:
            out.append(PolicyTerm("general-split", {"units": members, "shares": [need[m] / n_r[i]
                                                                                 for i, m in enumerate(members)]}))
        if np.isfinite(lo).any() or np.isfinite(hi).any():
            out.append(PolicyTerm("group-transfer", {"members": members, "lower": lo / scale, "upper": hi / scale}))
        return tuple(out)

    res = solve(stacked, dataclasses.replace(opts, threshold=None, extra_terms=_chain(opts.extra_terms, terms)))
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
    from optimizer.core.instance import unit_per_capita
    from optimizer.core.result import ALLOCATION_COLUMNS

    reg = inst.regions
    own, need = reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float)
    thr = inst.thresholds(opts.threshold)
    after = (own + t) / need
    tags = ["" for _ in range(inst.n)]
    for i, b in zip(r, table["binding"]):
        tags[i] = ";".join(sorted(set(filter(None, tags[i].split(";") + b.split(";")))))
    a = pd.DataFrame({
        "region_id": reg["region_id"], "name": reg["name"], "population": reg["population"],
        "own_revenue": own, "fiscal_need": need, "threshold": thr, "prior_transfer": reg["prior_transfer"],
        "transfer": t, "transfer_per_capita": t * unit_per_capita(inst.unit)[1] / reg["population"].to_numpy(),
        "level_before": own / need, "level_after": after, "shortfall": np.maximum(0.0, thr - after),
        "threshold_dual": np.nan, "binding": tags})
    return a[ALLOCATION_COLUMNS]


def _annotate(res: Result, table: pd.DataFrame, so: ServiceOptions) -> Result:
    s = res.summary
    s["services"] = {"transfers": "earmarked" if so.earmarked else "general",
                     "fairness_over": so.fairness_over, "by_service": service_summary(table)}
    out = Result(res.allocation, s)
    out.tables["services"] = table
    return out
