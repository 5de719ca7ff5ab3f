"""The LP of record of one run, as a file an auditor can solve with HiGHS alone.

``export_lp`` solves the round as ``equalize solve`` does (the reported objective_value,
the transfers, the soft-mode shortfall held, leximin's levels, min-gini's lambda), then
builds the same LP again on the instance's own units (money scale 1: transfers in the
instance unit, levels dimensionless) and writes it through HiGHS (``.lp`` or ``.mps``)
with names that carry the region ids, a header comment saying what the file is.

Single-LP objectives export their LP: its optimum is the solve's objective_value (the
solve's tie-break, a second LP that holds that optimum and minimises the total transfer,
is stated in the header, not exported). Sequences export their final stage:

- leximin: the max-min LP with every region below the top level held at its leximin level
  (less 1e-9 relative) in its floor row; its optimum is the top level, its transfers the
  leximin transfers (unique);
- min-gini: the Dinkelbach LP min P(L) - lambda* mu(L) at the solve's Gini lambda* (pairwise
  form, or the order-cone form in the order of the solve's levels); its optimum is 0;
- soft thresholds: the objective's LP with the phase-1 shortfall held (the cap row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.build import build_lp
from models.data import RegionData
from models.log_welfare import log_error_bound
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.core.scaling import to_region_data
from optimizer.engine.highs import highs_version, lp_text
from optimizer.engine.solve import (
    DEFAULT_OBJECTIVE,
    PreparedRound,
    SolveOptions,
    finish_round,
    objective_spec,
    prepare_round,
    solve_round,
    verify_extras,
)
from optimizer.io.writers import atomic_write_text

FORMATS = ("lp", "mps")
HOLD_SLACK = 1e-9   # leximin's final stage holds the fixed levels this much (relative) below


@dataclass
class ExportedLP:
    """The LP written, its names, what its optimum should be and the header lines."""
    lp: LinearProgram
    col_names: list[str]
    row_names: list[str]
    expected: float            # the optimum of this LP (the solve's objective_value for single LPs)
    result: Result
    header: list[str] = field(default_factory=list)
    id_map: dict[str, str] = field(default_factory=dict)   # region id -> name part, where it changed


def safe_names(ids: list[str]) -> tuple[list[str], dict[str, str]]:
    """Region ids as name parts HiGHS's LP reader accepts (letters, digits, underscore),
    unique; the map of the ids that had to change."""
    out, seen, changed = [], set(), {}
    for rid in ids:
        base = re.sub(r"[^A-Za-z0-9_]", "_", str(rid)) or "r"
        name, k = base, 2
        while name.lower() in seen:   # LP readers may fold case: keep names unique without it
            name, k = f"{base}_{k}", k + 1
        seen.add(name.lower())
        out.append(name)
        if name != rid:
            changed[str(rid)] = name
    return out, changed


def block_names(blocks, total: int, ids: list[str], kind: str) -> list[str]:
    """``<block>_<region>`` for a block with one entry per region, ``<block>`` for one
    entry, ``<block>_<k>`` else; every name prefixed by its block so it never starts
    with a digit or an 'e' read as an exponent."""
    names = [f"{kind}{i}" for i in range(total)]
    n = len(ids)
    for b in blocks:
        size = b.stop - b.start
        if size == n:
            part = [f"{b.name}_{r}" for r in ids]
        elif size == 1:
            part = [b.name]
        else:
            part = [f"{b.name}_{k}" for k in range(size)]
        names[b.start:b.stop] = part
    return names


def unscaled_data(prep: PreparedRound) -> RegionData:
    """The round's data in the instance unit (scale 1), with the options the solve used
    (soft mode, the shortfall cap: level units, so unchanged by the scale) and, under
    --scarcity objective, the threshold caps as transfer bounds."""
    d = replace(to_region_data(prep.inst, prep.rd, 1.0), options=dict(prep.data.options))
    if prep.data.options.get("threshold_caps"):
        d = replace(d, t_max=prep.data.t_max * prep.scale)
    return d


def leximin_final_stage(lp: LinearProgram, d: RegionData, level: np.ndarray) -> float:
    """Turn the max-min LP into leximin's final stage in place: every region below the top
    level leaves its floor row and is held at its level; returns the top level."""
    lay = lp.layout()
    zcol, frow = lay["floor"].start, lay["rows:floor_rows"]
    top = float(level.max())
    held = level < top - HOLD_SLACK * max(1.0, abs(top))
    rows = frow.start + np.flatnonzero(held)
    start, stop = lp.A.indptr[zcol], lp.A.indptr[zcol + 1]
    in_held = np.isin(lp.A.indices[start:stop], rows)
    lp.A.data[start:stop][in_held] = 0.0
    lp.A.eliminate_zeros()
    hold = level[held] - HOLD_SLACK * np.maximum(1.0, np.abs(level[held]))
    lp.row_lower[rows] = hold - d.own[held] / d.need[held]
    return top


def final_lp(prep: PreparedRound, spec: ObjectiveSpec, opts: SolveOptions,
             result: Result) -> tuple[LinearProgram, float, list[str]]:
    """The LP to export, its optimum, and what the header says about it."""
    d = unscaled_data(prep)
    terms = verify_extras(prep, opts).policies
    reported = float(result.summary["objective_value"])
    t = result.allocation["transfer"].to_numpy(dtype=float)
    level = (d.own + t) / d.need
    if spec.name == "leximin":
        lp = build_lp(d, "maxmin", terms)
        top = leximin_final_stage(lp, d, level)
        return lp, top, [
            "leximin is solved as a sequence of max-min LPs; this is the FINAL stage: every region",
            f"below the top level is held at its leximin level (less {HOLD_SLACK:g} relative) in its",
            f"floor row; the optimum is the top level {top:.12g}; objective_value (the lowest",
            f"level, the first stage's optimum) = {reported:.12g}; the transfers are the leximin ones"]
    if spec.driver == "dinkelbach":
        lam = float(result.summary.get("gini_lambda", reported))
        order = np.argsort(level, kind="stable")
        d = replace(d, options={**d.options, "gini_lambda": lam, "gini_order": order})
        return build_lp(d, spec.name, terms), 0.0, [
            "min-gini is solved by Dinkelbach steps (a sequence of LPs); this is the FINAL step:",
            f"min P(L) - lambda mu(L) at lambda = the solve's Gini {lam:.12g}; its optimum is 0",
            "(Dinkelbach's certificate: no level vector has a lower Gini)"]
    if spec.name == "owa":
        d = replace(d, options={**d.options, "owa_form": "slices"})
    lp = build_lp(d, spec.name, terms)
    lines = [f"the LP of {spec.name}; its optimum is the solve's objective_value {reported:.12g}"]
    lw = result.summary.get("log_welfare")
    if spec.name == "log-welfare" and not isinstance(lw, dict):   # solved exactly (fast/log_welfare.py)
        lines = ["the tangent LP of log-welfare, an outer approximation of the exact concave program that",
                 f"gave objective_value {reported:.12g}: its optimum is an upper bound on it, at most",
                 f"{log_error_bound(d):.6g} above it (the tangents' a priori error, models/log_welfare.py)"]
    elif spec.name == "log-welfare":
        reported = float(lw["lp_value"])
        lines = ["the tangent LP of log-welfare; its optimum is the LP bound "
                 f"{reported:.12g} (summary log_welfare.lp_value; objective_value is the true welfare)"]
    if spec.tie_break and opts.tie_break:
        lines.append("the solve then held this optimum and minimised the total transfer (the tie-break,"
                     " a second LP not written here)")
    return lp, reported, lines


def export_lp(inst: Instance, opts: SolveOptions, path: Path, fmt: str, command: str = "") -> ExportedLP:
    """Solve the round, build its LP of record in the instance unit, write it to ``path``
    (``fmt`` "lp" or "mps") with a header comment. Raises what ``solve`` raises."""
    if fmt not in FORMATS:
        raise UsageError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    spec = objective_spec(opts.objective or inst.objective or DEFAULT_OBJECTIVE)
    prep = prepare_round(inst, spec, opts)
    result = finish_round(prep, spec, opts, solve_round(prep, spec, opts))
    lp, expected, what = final_lp(prep, spec, opts, result)
    short, id_map = safe_names([str(r) for r in prep.inst.regions["region_id"]])
    cols = block_names(lp.col_blocks, lp.num_col, short, "x")
    rows = block_names(lp.row_blocks, lp.num_row, short, "c")
    header = header_lines(inst, spec, prep, result, what, id_map, command)
    comment = "\\ " if fmt == "lp" else "* "
    body = lp_text(lp, cols, rows, fmt)
    atomic_write_text(path, "".join(comment + line + "\n" for line in header) + body)
    return ExportedLP(lp, cols, rows, expected, result, header, id_map)


def header_lines(inst: Instance, spec: ObjectiveSpec, prep: PreparedRound, result: Result,
                 what: list[str], id_map: dict[str, str], command: str) -> list[str]:
    s = result.summary
    lines = [f"equalize export: instance {inst.name}, objective {spec.name} (HiGHS {highs_version()})"]
    if command:
        lines.append(f"command: {command}")
    lines += [f"units: transfer_* and other money columns in {inst.unit} (no internal scaling; the solve",
              f"scales money by {prep.scale:g} internally), levels dimensionless; objective_value",
              f"{s['objective_value']!r} ({s['objective_unit']}), thresholds {prep.info.get('thresholds')}"]
    if prep.data.options.get("shortfall_cap") is not None:
        lines.append("soft thresholds: the shortfall phase (min weighted shortfall, a first LP) is held by "
                     "the row shortfall_cap")
    lines += what
    lines.append("names: <block>_<region id>; blocks: transfer (T_r), level rows as in docs/objectives.md")
    for rid, name in id_map.items():
        lines.append(f"id map: {rid!r} -> {name}")
    return lines
