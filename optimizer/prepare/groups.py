"""Groups as the model sees them: member rows of the prepared regions (through merges) and
the bound arrays of the constrained groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.core.groups import Group


def member_index(groups: list[Group], regions: pd.DataFrame) -> list[np.ndarray]:
    """Row indices of each group's members in ``regions``, through merges (merged_from)."""
    if not groups:   # no constrained group: skip the id map (0.2 s a call at 1e5 regions)
        return []
    ids = pd.Index(regions["region_id"])
    if "merged_from" not in regions.columns and ids.is_unique:
        # only the members are looked up (hashed in C): no dict of every id built in Python
        return [np.unique(_found(ids.get_indexer(list(g.members)))) for g in groups]
    where = {rid: i for i, rid in enumerate(ids)}
    if "merged_from" in regions.columns:
        for i, src in enumerate(regions["merged_from"]):
            for rid in str(src or "").split("+"):
                if rid:
                    where[rid] = i
    return [np.array(sorted({where[r] for r in g.members if r in where}), dtype=np.int64) for g in groups]


def _found(at: np.ndarray) -> np.ndarray:
    return at[at >= 0].astype(np.int64)


def group_arrays(groups: list[Group], regions: pd.DataFrame):
    """(members, lower, upper, min_level) arrays of the constrained groups."""
    gs = [g for g in groups if g.constrained]
    members = member_index(gs, regions)

    def arr(vals, missing):
        return np.array([missing if v is None else v for v in vals], dtype=float)

    return (members, arr([g.min_transfer for g in gs], -np.inf), arr([g.max_transfer for g in gs], np.inf),
            arr([g.min_level for g in gs], np.nan))
