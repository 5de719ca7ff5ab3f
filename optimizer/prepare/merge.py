"""Merge regions into one (``--merge busan,gyeongnam``, a scenario's ``merges``).

The merged region sums population, own revenue, fiscal need, prior transfer and the
transfer bounds of its members (a missing prior transfer counts as 0 unless all are
missing; a missing max_transfer makes the sum unbounded); its threshold, if any member
has one, is the need-weighted mean (so theta * need is conserved); weights add up.
It takes the first member's place in the table; id = members joined by '+' ("+" is
reserved in region ids, so a merged id never equals a region's), and the column
``merged_from`` records the members.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.io.scenarios import check_merges

SUMMED = ("population", "own_revenue", "fiscal_need", "min_transfer", "own_revenue_full")


def parse_merge(text: str) -> list[str]:
    ids = [t.strip() for t in text.split(",") if t.strip()]
    if len(ids) < 2:
        raise UsageError(f"--merge needs at least two region ids separated by commas, got '{text}'")
    return ids


def merged_row(rows: pd.DataFrame, columns: list[str]) -> dict:
    need = rows["fiscal_need"].to_numpy(dtype=float)
    out: dict = {}
    for col in columns:
        vals = rows[col]
        if col == "region_id":
            out[col] = "+".join(vals)
        elif col == "name":
            out[col] = "+".join(str(v) for v in vals)
        elif col in SUMMED:
            out[col] = vals.to_numpy(dtype=float).sum() if col != "population" else int(vals.sum())
        elif col == "prior_transfer" or col == "weight":
            x = vals.to_numpy(dtype=float)
            out[col] = np.nan if np.isnan(x).all() else float(np.nansum(x))
        elif col == "max_transfer":
            x = vals.to_numpy(dtype=float)
            out[col] = np.nan if np.isnan(x).any() else float(x.sum())
        elif col == "threshold":
            x = vals.to_numpy(dtype=float)
            out[col] = np.nan if np.isnan(x).any() else float(np.dot(x, need) / need.sum())
        else:  # pass-through text columns (name_ko, ...) and numeric extras
            try:
                out[col] = float(pd.to_numeric(vals).sum())
            except (ValueError, TypeError):
                out[col] = "+".join(str(v) for v in vals)
    out["merged_from"] = "+".join(rows["region_id"])
    return out


def merge_regions(inst: Instance, merges: list[list[str]]) -> Instance:
    """A new Instance with each group of ``merges`` replaced by one region."""
    if not merges:
        return inst
    ids = [str(r) for r in inst.regions["region_id"]]
    errors = check_merges(merges, ids)
    merged_ids = ["+".join(m) for m in merges]
    errors += [f"the merged region's id '{m}' is already a region id" for m in merged_ids if m in set(ids)]
    if errors:
        raise UsageError("; ".join(errors))
    reg = inst.regions
    cols = [c for c in reg.columns if c != "merged_from"]
    records = reg.to_dict("records")
    position = {rid: i for i, rid in enumerate(reg["region_id"])}
    drop: set[int] = set()
    for members in merges:
        idx = [position[rid] for rid in members]
        records[idx[0]] = merged_row(reg.iloc[idx], cols)
        drop.update(idx[1:])
    for rec in records:
        rec.setdefault("merged_from", "")
    out = pd.DataFrame([r for i, r in enumerate(records) if i not in drop], columns=[*cols, "merged_from"])
    out["merged_from"] = out["merged_from"].fillna("").astype(str)
    out["population"] = out["population"].astype(np.int64)
    for col in ("own_revenue", "fiscal_need", "threshold", "prior_transfer", "min_transfer", "max_transfer",
                "weight"):
        if col in out.columns:
            out[col] = out[col].astype(float)
    reg = out
    extra = inst.extra_columns + (["merged_from"] if "merged_from" not in inst.extra_columns else [])
    applied = dict(inst.applied)
    applied["merges"] = applied.get("merges", []) + [list(m) for m in merges]
    return dataclasses.replace(inst, regions=reg, extra_columns=extra, applied=applied)


def merge_effect(base: pd.DataFrame, merged: pd.DataFrame) -> pd.DataFrame:
    """What the merger changes, region by region of the merged solve: for a merged unit the
    'before' figures are its members' combined ones in the solve without the merger
    (transfer summed, level = (sum own + sum T) / sum need)."""
    b = base.set_index("region_id")
    position = {rid: k for k, rid in enumerate(b.index)}
    # each atom (an original region id) lies in exactly one row of the solve without this merger
    row_of_atom = {atom: rid for rid in b.index for atom in str(rid).split("+")}
    own, need, transfer = (b[c].to_numpy(dtype=float) for c in ("own_revenue", "fiscal_need", "transfer"))
    src = merged["merged_from"].fillna("").astype(str) if "merged_from" in merged.columns else None
    t_before, lvl_before, n_members = [], [], []
    for k, rid in enumerate(merged["region_id"]):
        s = src.iat[k] if src is not None else ""
        atoms = set(s.split("+")) if "+" in s else {rid}
        # the rows that make it up (one may be a region an earlier merge, e.g. a scenario's,
        # already produced: 'a+b' in 'a+b+c'), in the base order so the sums are the same floats
        rows = {row_of_atom[a] for a in atoms if a in row_of_atom}
        members = sorted(position[r] for r in rows if set(str(r).split("+")) <= atoms)
        t = float(transfer[members].sum())
        t_before.append(t)
        lvl_before.append(float((own[members].sum() + t) / need[members].sum()))
        n_members.append(len(members))
    t_before_a, lvl_before_a = np.asarray(t_before, dtype=float), np.asarray(lvl_before, dtype=float)
    t_after = merged["transfer"].to_numpy(dtype=float)
    lvl_after = merged["level_after"].to_numpy(dtype=float)
    return pd.DataFrame({"region_id": merged["region_id"].to_numpy(), "merged": np.asarray(n_members) > 1,
                         "transfer_without_merger": t_before_a, "transfer_with_merger": t_after,
                         "transfer_change": t_after - t_before_a, "level_without_merger": lvl_before_a,
                         "level_with_merger": lvl_after, "level_change": lvl_after - lvl_before_a})


def merge_effect_rounds(base: pd.DataFrame, merged: pd.DataFrame) -> pd.DataFrame:
    """``merge_effect`` for a single-year allocation, or year by year (leading ``year``
    column) for the long-form allocation of a phased round. A merged unit keeps its members
    in every year (the phased allocation blanks ``merged_from`` once the guarantee ends)."""
    if "year" not in merged.columns:
        return merge_effect(base, merged)
    m = merged.copy()
    if "merged_from" in m.columns:
        src = m["merged_from"].fillna("").astype(str)
        longest = src.groupby(m["region_id"]).agg(lambda s: max(s, key=len))
        m["merged_from"] = m["region_id"].map(longest)
    parts = []
    for y in dict.fromkeys(m["year"]):
        e = merge_effect(base[base["year"] == y], m[m["year"] == y])
        e.insert(0, "year", y)
        parts.append(e)
    return pd.concat(parts, ignore_index=True)


def guarantee_effect(merged: pd.DataFrame, free: pd.DataFrame, tol: float) -> list[dict]:
    """Whether the merger guarantee bound, and by how much, per merged unit (and year): its
    guaranteed transfer (the members' prior transfers, the row's ``prior_transfer``), its
    transfer with the guarantee (``merged``), and in the same solve without the guarantee
    (``free``). It binds when the transfer is at the guaranteed amount (within ``tol``);
    ``guarantee_adds`` = transfer - transfer without it (what the guarantee costs the others),
    ``above_guarantee`` = transfer - guaranteed (0 when it binds)."""
    keys = ["year", "region_id"] if "year" in merged.columns else ["region_id"]
    without = free.set_index(keys)["transfer"]
    out = []
    for r in merged.itertuples(index=False):
        src, prior = str(getattr(r, "merged_from", "") or ""), float(r.prior_transfer)
        if "+" not in src or not np.isfinite(prior):
            continue
        key = tuple(getattr(r, k) for k in keys)
        t_free = float(without.get(key if len(key) > 1 else key[0], np.nan))
        t = float(r.transfer)
        entry = {"region_id": str(r.region_id), "guaranteed": prior, "transfer": t,
                 "transfer_without_guarantee": t_free, "binds": bool(t <= prior + tol),
                 "above_guarantee": max(0.0, t - prior) if t > prior + tol else 0.0,
                 "guarantee_adds": max(0.0, t - t_free) if np.isfinite(t_free) and t - t_free > tol else 0.0}
        if "year" in keys:
            entry = {"year": r.year} | entry
        out.append(entry)
    return out


def guarantee_text(rows: list[dict], unit: str) -> str:
    """One line: for each merged unit, whether the guarantee bound and by how much."""
    parts = []
    for g in rows:
        who = g["region_id"] + (f" ({g['year']})" if "year" in g else "")
        if g["binds"]:
            parts.append(f"binds for {who}: it gets its members' prior {g['guaranteed']:,.1f} {unit}, "
                         f"{g['guarantee_adds']:+,.1f} over the same solve without the guarantee "
                         f"({g['transfer_without_guarantee']:,.1f})")
        else:
            parts.append(f"does not bind for {who}: its transfer {g['transfer']:,.1f} is "
                         f"{g['above_guarantee']:,.1f} {unit} above its members' prior {g['guaranteed']:,.1f}")
    return "merger guarantee: " + "; ".join(parts) if parts else "merger guarantee: no merged unit has a prior transfer"
