"""Why each region gets what it gets: the ``reason`` column of allocation.csv and the table.

A reason is derived, never written per objective: from the region's ``binding`` tags (the
core tags of engine/finish.py ``binding_tags`` and the policy-row tags of
explain/policy_checks.py), its threshold dual and its own figures. One phrase per tag,
registered in ``TAG_REASONS`` (a new policy tag adds one entry; an unknown tag still reads
"<tag> binds"); a region with no tag gets the phrase of its transfer (none, a contribution,
or an interior choice of the objective). Numbers in a phrase are the binding values
themselves: a hold-harmless region's "50% of last year's 1,882.9" is transfer / prior, which
equals the policy's ratio exactly because the row binds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

ZERO_RTOL = 1e-9   # a transfer within this of 0 (relative to the largest figure) is no transfer


@dataclass(frozen=True)
class Facts:
    """One region's figures, as a phrase reads them."""
    transfer: float
    level_before: float
    level_after: float
    threshold: float
    prior: float
    floor: float | None          # the common level of the round (the floor tags), if any


def money(x: float) -> str:
    return f"{x:,.1f}"


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.4g}%" if whole else "n/a"


def _hold_harmless(f: Facts) -> str:
    return f"hold-harmless: {_share(f.transfer, f.prior)} of last year's {money(f.prior)}"


def _change_limit(f: Facts) -> str:
    sign = "+" if f.transfer >= f.prior else "-"
    return f"change limit: {sign}{_share(abs(f.transfer - f.prior), f.prior)} against last year's {money(f.prior)}"


Phrase = Callable[[Facts], str]
TAG_REASONS: dict[str, Phrase] = {
    "floor": lambda f: f"lifted to the common level {f.level_after:.4f}",
    "threshold": lambda f: f"held at its threshold {f.threshold:.4g}",
    "shortfall": lambda f: (f"below its threshold {f.threshold:.4g} by {f.threshold - f.level_after:.4f} "
                            "(the budget cannot meet every threshold)"),
    "min_transfer": lambda f: f"at its minimum (min_transfer {money(f.transfer)})",
    "max_transfer": lambda f: f"at its cap (max_transfer {money(f.transfer)})",
    "hold_harmless": _hold_harmless,
    "change_limit": _change_limit,
    "merger_guarantee": lambda f: f"merger guarantee: at least its members' prior transfers ({money(f.transfer)})",
    "per_capita_floor": lambda f: "at the per-capita floor",
    "per_capita_cap": lambda f: "at the per-capita cap",
    "rate_cap": lambda f: "at the equalization-rate cap",
    "no_overtaking": lambda f: "no-overtaking: its level may not pass a region that was above it",
    "group_min_transfer": lambda f: "its group's minimum total transfer binds",
    "group_max_transfer": lambda f: "its group's maximum total transfer binds",
    "group_level": lambda f: "its group's level bound binds",
    "phase_change": lambda f: "the phase-in limit on its change from the year before binds",
    "service_floor": lambda f: "a service floor binds",
    "contribution_cap": lambda f: f"pays the whole allowed share of its surplus ({money(-f.transfer)})",
}
THRESHOLD_TAGS = ("threshold", "shortfall")


def untagged_reason(f: Facts, zero: float) -> str:
    """No constraint binds: what the transfer alone says."""
    if abs(f.transfer) <= zero:
        if f.floor is not None and f.level_before >= f.floor:
            return f"no transfer: its own level {f.level_before:.4f} is above the floor {f.floor:.4f}"
        if f.level_before >= f.threshold:
            return f"no transfer: its own level {f.level_before:.4f} already meets its threshold {f.threshold:.4g}"
        return f"no transfer: its own level {f.level_before:.4f} stays below its threshold {f.threshold:.4g}"
    if f.transfer < 0:
        return f"contributes {money(-f.transfer)}: its level falls from {f.level_before:.4f} to {f.level_after:.4f}"
    return (f"{money(f.transfer)} lifts its level from {f.level_before:.4f} to {f.level_after:.4f}; "
            "no bound binds (the objective's own choice)")


def tag_phrase(tag: str, f: Facts) -> str:
    rule = TAG_REASONS.get(tag)
    return rule(f) if rule is not None else f"{tag.replace('_', ' ')} binds"


def region_reasons(frame: pd.DataFrame, dual_note: str | None = None) -> list[str]:
    """One reason per row of an allocation frame (columns transfer, level_before,
    level_after, threshold, prior_transfer, threshold_dual, binding). ``dual_note`` says why
    an empty threshold dual is empty (a path that does not compute it, or a dual that is
    not unique); it is added to the reason of every region whose threshold binds."""
    t = frame["transfer"].to_numpy(dtype=float)
    before = frame["level_before"].to_numpy(dtype=float)
    after = frame["level_after"].to_numpy(dtype=float)
    theta = frame["threshold"].to_numpy(dtype=float)
    prior = np.nan_to_num(frame["prior_transfer"].to_numpy(dtype=float))
    dual = frame["threshold_dual"].to_numpy(dtype=float)
    tags = [str(b).split(";") if isinstance(b, str) and b else [] for b in frame["binding"]]
    floored = [i for i, tg in enumerate(tags) if "floor" in tg]
    floor = float(after[floored].min()) if floored else None
    zero = ZERO_RTOL * max(1.0, float(np.max(np.abs(t), initial=0.0)))
    out = []
    for i, tg in enumerate(tags):
        f = Facts(float(t[i]), float(before[i]), float(after[i]), float(theta[i]), float(prior[i]), floor)
        phrases = [tag_phrase(tag, f) for tag in tg] if tg else [untagged_reason(f, zero)]
        if dual_note and np.isnan(dual[i]) and any(tag in THRESHOLD_TAGS for tag in tg):
            phrases.append(f"threshold dual left empty: {dual_note}")
        out.append("; ".join(phrases))
    return out


def with_reasons(frame: pd.DataFrame, dual_note: str | None = None) -> pd.DataFrame:
    """``frame`` with its ``reason`` column (re)computed, right after ``binding``."""
    a = frame.drop(columns=["reason"]) if "reason" in frame.columns else frame.copy()
    a.insert(list(a.columns).index("binding") + 1, "reason", region_reasons(a, dual_note))
    return a
