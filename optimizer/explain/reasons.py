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
import pyarrow as pa
import pyarrow.compute as pc

from optimizer.core.text_columns import STR_DTYPE, format_template, join, plain, repeat

ZERO_RTOL = 1e-9   # a transfer within this of 0 (relative to the largest figure) is no transfer


@dataclass(frozen=True)
class Facts:
    """The figures of the regions a phrase is written for: rows ``rows`` (all when None) of
    the round's columns transfer, level_before, level_after, threshold, prior. The phrases
    are built a column at a time, as one Python loop per region took seconds at 1e5; a
    column is taken for the rows when a phrase reads it (one or two of the five: copying
    all five for every pattern cost 40 MB at 1e6)."""
    columns: dict[str, np.ndarray]
    floor: float | None          # the common level of the round (the floor tags), if any
    rows: np.ndarray | None = None

    def _column(self, name: str) -> np.ndarray:
        return self.columns[name] if self.rows is None else self.columns[name][self.rows]

    transfer = property(lambda self: self._column("transfer"))
    level_before = property(lambda self: self._column("level_before"))
    level_after = property(lambda self: self._column("level_after"))
    threshold = property(lambda self: self._column("threshold"))
    prior = property(lambda self: self._column("prior"))

    def take(self, idx: np.ndarray) -> Facts:
        return Facts(self.columns, self.floor, idx if self.rows is None else self.rows[idx])

    def __len__(self) -> int:
        return (self.columns["transfer"] if self.rows is None else self.rows).shape[0]


def money(x: float) -> str:
    return f"{x:,.1f}"


def fmt(template: str, *columns: np.ndarray) -> pa.Array:
    """``template.format`` row by row over the float columns, as an Arrow string array
    (core/text_columns.py: one format call per distinct value, the same text); a template of
    one field as a dictionary array (``scatter`` decodes it once, with the others)."""
    return format_template(template, *(np.asarray(c, dtype=float) for c in columns), dictionary=True)


def const(text: str) -> Callable[[Facts], pa.Array]:
    return lambda f: repeat(text, len(f), dictionary=True)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole != 0, 100 * part / np.where(whole != 0, whole, 1.0), np.nan)


def _hold_harmless(f: Facts) -> pa.Array:
    return fmt("hold-harmless: {:.4g}% of last year's {:,.1f}", _share(f.transfer, f.prior), f.prior)


def _change_limit(f: Facts) -> pa.Array:
    return fmt("change limit: {:+.4g}% against last year's {:,.1f}", _share(f.transfer - f.prior, f.prior), f.prior)


Phrase = Callable[[Facts], pa.Array]
TAG_REASONS: dict[str, Phrase] = {
    "floor": lambda f: fmt("lifted to the common level {:.4f}", f.level_after),
    "threshold": lambda f: fmt("held at its threshold {:.4g}", f.threshold),
    "shortfall": lambda f: fmt("below its threshold {:.4g} by {:.4f} (the budget cannot meet every threshold)",
                               f.threshold, f.threshold - f.level_after),
    "min_transfer": lambda f: fmt("at its minimum (min_transfer {:,.1f})", f.transfer),
    "max_transfer": lambda f: fmt("at its cap (max_transfer {:,.1f})", f.transfer),
    "hold_harmless": _hold_harmless,
    "change_limit": _change_limit,
    "merger_guarantee": lambda f: fmt("merger guarantee: at least its members' prior transfers ({:,.1f})",
                                      f.transfer),
    "per_capita_floor": const("at the per-capita floor"),
    "per_capita_cap": const("at the per-capita cap"),
    "rate_cap": const("at the equalization-rate cap"),
    "no_overtaking": const("no-overtaking: its level may not pass a region that was above it"),
    "group_min_transfer": const("its group's minimum total transfer binds"),
    "group_max_transfer": const("its group's maximum total transfer binds"),
    "group_level": const("its group's level bound binds"),
    "phase_change": const("the phase-in limit on its change from the year before binds"),
    "service_floor": const("a service floor binds"),
    "surplus": lambda f: fmt("then raised to {:.4f} by its share of the surplus (--spend all)", f.level_after),
    "contribution_cap": lambda f: fmt("pays the whole allowed share of its surplus ({:,.1f})", -f.transfer),
}
THRESHOLD_TAGS = ("threshold", "shortfall")


def scatter(parts: list[tuple[np.ndarray, pa.Array]], n: int, decode: bool = True) -> pa.Array:
    """One array of ``n`` rows from disjoint (row indices, values) parts covering every row;
    ``decode=False``: as a dictionary array. A dictionary part adds only its dictionary (a few
    thousand texts), not a text per row: one decode at the end writes each row's text once."""
    codes = np.empty(n, dtype=np.int32)   # a row's text: its index in the parts' dictionaries end to end
    dictionaries: list[pa.Array] = []
    offset = 0
    for idx, values in parts:
        if isinstance(values, pa.DictionaryArray):
            codes[idx] = values.indices.to_numpy(zero_copy_only=False)
            if offset:
                codes[idx] += offset
            values = values.dictionary
        else:
            values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else \
                values if isinstance(values, pa.Array) else pa.array(values)
            codes[idx] = np.arange(offset, offset + len(values), dtype=np.int32)
        dictionaries.append(values)
        offset += len(values)
    out = pa.DictionaryArray.from_arrays(pa.array(codes), pa.concat_arrays(dictionaries) if dictionaries
                                         else pa.array([], pa.string()))
    return out.dictionary_decode() if decode else out


def untagged_reasons(f: Facts, zero: float) -> pa.Array:
    """No constraint binds: what the transfer alone says."""
    give = f.transfer < -zero
    none = np.abs(f.transfer) <= zero
    above = none & (f.level_before >= (f.floor if f.floor is not None else np.inf))
    meets = none & ~above & (f.level_before >= f.threshold)
    short = none & ~above & ~meets
    lift = ~give & ~none
    parts = [
        (lift, lambda i: fmt("{:,.1f} lifts its level from {:.4f} to {:.4f}; no bound binds (the objective's "
                             "own choice)", f.transfer[i], f.level_before[i], f.level_after[i])),
        (give, lambda i: fmt("contributes {:,.1f}: its level falls from {:.4f} to {:.4f}", -f.transfer[i],
                             f.level_before[i], f.level_after[i])),
        (above, lambda i: fmt("no transfer: its own level {:.4f} is above the floor " + f"{f.floor or 0.0:.4f}",
                              f.level_before[i])),
        (meets, lambda i: fmt("no transfer: its own level {:.4f} already meets its threshold {:.4g}",
                              f.level_before[i], f.threshold[i])),
        (short, lambda i: fmt("no transfer: its own level {:.4f} stays below its threshold {:.4g}",
                              f.level_before[i], f.threshold[i])),
    ]
    chosen = [(np.flatnonzero(mask), phrase) for mask, phrase in parts if mask.any()]
    return scatter([(i, phrase(i)) for i, phrase in chosen], len(f), decode=False)


def tag_phrases(tag: str, f: Facts) -> pa.Array:
    rule = TAG_REASONS.get(tag)
    return rule(f) if rule is not None else repeat(f"{tag.replace('_', ' ')} binds", len(f), dictionary=True)


def _pattern_reasons(pattern: str, f: Facts, zero: float, dual_empty: np.ndarray, note: str | None) -> pa.Array:
    """The reasons of the regions that share one binding pattern (``a;b``)."""
    tags = [t for t in pattern.split(";") if t]
    if not tags:
        return untagged_reasons(f, zero)
    parts = [tag_phrases(t, f) for t in tags]
    out = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*map(plain, parts), "; ")
    if note and any(t in THRESHOLD_TAGS for t in tags) and dual_empty.any():
        out = plain(out)
        noted = join([out, f"; threshold dual left empty: {note}"], len(f))
        out = pc.if_else(pa.array(dual_empty), noted, out)
    return out


def reason_array(frame: pd.DataFrame, dual_note: str | None = None) -> pa.Array:
    """One reason per row of an allocation frame (columns transfer, level_before,
    level_after, threshold, prior_transfer, threshold_dual, binding), as an Arrow string
    array. ``dual_note`` says why an empty threshold dual is empty (a path that does not
    compute it, or a dual that is not unique); it is added to the reason of every region
    whose threshold binds."""
    binding = pc.fill_null(pa.array(frame["binding"].array, pa.string(), from_pandas=True), "")
    encoded = pc.dictionary_encode(binding).combine_chunks() if isinstance(binding, pa.ChunkedArray) \
        else pc.dictionary_encode(binding)
    codes, patterns = encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()
    after = frame["level_after"].to_numpy(dtype=float)
    floored = np.isin(codes, [k for k, p in enumerate(patterns) if "floor" in str(p).split(";")])
    f = Facts({"transfer": frame["transfer"].to_numpy(dtype=float),
               "level_before": frame["level_before"].to_numpy(dtype=float), "level_after": after,
               "threshold": frame["threshold"].to_numpy(dtype=float),
               "prior": np.nan_to_num(frame["prior_transfer"].to_numpy(dtype=float))},
              float(after[floored].min()) if floored.any() else None)
    dual_empty = np.isnan(frame["threshold_dual"].to_numpy(dtype=float))
    zero = ZERO_RTOL * max(1.0, float(np.max(np.abs(f.transfer), initial=0.0)))
    parts = []
    for k, pattern in enumerate(patterns):   # a handful of patterns: one pass each
        idx = np.flatnonzero(codes == k)
        parts.append((idx, _pattern_reasons(str(pattern), f.take(idx), zero, dual_empty[idx], dual_note)))
    return scatter(parts, len(codes))


def region_reasons(frame: pd.DataFrame, dual_note: str | None = None) -> list[str]:
    """``reason_array`` as a list of strings."""
    return reason_array(frame, dual_note).to_pylist()


def with_reasons(frame: pd.DataFrame, dual_note: str | None = None) -> pd.DataFrame:
    """``frame`` with its ``reason`` column (re)computed, right after ``binding`` (no copy
    of the other columns: pandas copies on write)."""
    a = frame.drop(columns=["reason"]) if "reason" in frame.columns else frame.copy(deep=False)
    a.insert(list(a.columns).index("binding") + 1, "reason", pd.array(reason_array(a, dual_note), dtype=STR_DTYPE))
    return a
