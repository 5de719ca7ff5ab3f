"""Read an instance folder (or a .xlsx workbook holding the same) into a validated ``Instance``.

A folder holds ``instance.toml`` (metadata, budget, threshold, default objective) and
``regions.csv`` (one row per region). See docs/instance-format.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.objectives import OBJECTIVES
from optimizer.core import limits as lim
from optimizer.core.errors import InputError, Problem, nearest
from optimizer.core.instance import SPEND_MODES, SURPLUS_RULES, Instance
from optimizer.formulas import unknown_objective
from optimizer.io import validation as v
from optimizer.io.checks import check_round
from optimizer.io.groups import read_groups
from optimizer.io.objective_options import objective_option_problems
from optimizer.io.phasing import parse_phasing
from optimizer.io.policy import check_consistent, parse_policy
from optimizer.io.ranges import need_spread, table_problems
from optimizer.io.scenarios import parse_scenarios
from optimizer.io.services import parse_service_options, read_services
from optimizer.io.source import INSTANCE_FILE, REGIONS_FILE, FolderSource, Source
from optimizer.io.workbook_read import WorkbookSource, is_workbook

# the keys and tables of instance.toml (docs/instance-format.md, docs/policies.md)
TOP_KEYS = ("name", "unit", "description", "year", "sources", "budget", "threshold", "objective",
            "regions", "policy", "groups", "scenarios", "phasing", "services")
SECTION_KEYS = {"budget": ("total", "spend", "surplus"), "threshold": ("level",)}


@dataclass
class Meta:
    """The scalar fields of instance.toml, as far as they are valid."""
    name: str | None = None
    unit: str | None = None
    budget: float | None = None
    threshold: float | None = None
    description: str = ""
    year: int | None = None
    sources: list[str] = field(default_factory=list)
    objective: str | None = None
    objective_options: dict[str, Any] = field(default_factory=dict)
    spend: str = "least"
    surplus: str = "maxmin"


def load_instance(path: str | Path) -> Instance:
    """Load and validate an instance folder or a .xlsx workbook (optimizer/io/workbook_read.py);
    raise ``InputError`` listing every problem found. The optional parts ([policy], groups,
    [scenarios], [phasing], services) are parsed here, once. A workbook's problems name its
    sheet, row and column instead of a file, line and column."""
    path = Path(path)
    if is_workbook(path):
        book = WorkbookSource(path)
        try:
            inst = load_source(book)
        except InputError as exc:
            raise InputError([book.locate(p) for p in exc.problems]) from None
        return dataclasses.replace(inst, notices=[book.locate_text(n) for n in inst.notices])
    if not path.is_dir():
        raise InputError([Problem(str(path), "instance folder does not exist")])
    return load_source(FolderSource(path))


def load_source(src: Source) -> Instance:
    """The one validation of an instance's raw parts, wherever they come from."""
    problems: list[Problem] = []
    tf, cf = src.file(INSTANCE_FILE), src.file(REGIONS_FILE)
    raw = src.settings(problems)
    readable = raw is not None   # an empty or comment-only file reads as {}: keys missing
    raw = raw or {}
    meta = read_meta(tf, raw, problems) if readable else Meta()
    declared = declared_columns(tf, raw, problems)
    frame, extra, notices = read_regions(src, declared, tf, problems)
    parts = read_parts(src, raw, frame, problems) if readable and len(frame) else {}
    if not problems:   # what only the whole table says: need spread, amounts against the median need
        problems += table_problems(cf, frame)
    if problems:
        raise InputError(problems)
    inst = Instance(
        path=src.path, name=meta.name or src.default_name(), unit=meta.unit or "", budget=float(meta.budget),
        threshold=float(meta.threshold), regions=frame, description=meta.description, year=meta.year,
        sources=meta.sources, objective=meta.objective, objective_options=meta.objective_options,
        extra_columns=extra, notices=notices, checked_regions=frame, spend=meta.spend, surplus=meta.surplus,
        sha256=src.digest(), **parts)
    check_round(inst)   # the base round as a whole: budget, group bounds, per-capita policy
    spread = need_spread(frame)
    if spread > lim.NEED_SPREAD_NOTICE:
        # one money scale serves ~7 orders of magnitude at HiGHS's 1e-7 tolerances; beyond
        # that the post-solve check may reject a solution (it never reports a wrong one)
        notices.append(f"{cf}: fiscal_need spans {spread:.0e}x (largest/smallest); the LP is "
                       "badly scaled and HiGHS may fail the post-solve check")
    return inst


def unknown_keys(tf: str, raw: dict[str, Any], problems: list[Problem]) -> None:
    """Keys instance.toml does not know, top level and in [budget] / [threshold], each named
    with the nearest known key (a typo such as [budjet] or 'objectve')."""
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(v.unknown_key(tf, key, TOP_KEYS, ""))
    for section, known in SECTION_KEYS.items():
        node = raw.get(section)
        if isinstance(node, dict):
            problems.extend(v.unknown_key(tf, k, known, section) for k in node if k not in known)


def read_meta(tf: str, raw: dict[str, Any], problems: list[Problem]) -> Meta:
    unknown_keys(tf, raw, problems)
    m = Meta(name=v.check_toml_string(tf, raw, "name", problems, required=True),
             unit=v.check_toml_string(tf, raw, "unit", problems, required=True),
             description=v.check_toml_string(tf, raw, "description", problems, required=False) or "")
    if "year" in raw and (isinstance(raw["year"], bool) or not isinstance(raw["year"], int)
                          or not 0 <= raw["year"] <= 9999):
        problems.append(Problem(tf, f"'year' must be an integer between 0 and 9999, got {raw['year']!r}",
                                column="year"))
    else:
        m.year = raw.get("year")
    m.sources = v.check_sources(tf, raw, problems)
    m.budget = v.check_toml_number(tf, raw, "budget", "total", problems, required=True, maximum=lim.MONEY_MAX)
    m.threshold = v.check_toml_number(tf, raw, "threshold", "level", problems, required=True,
                                      maximum=lim.LEVEL_MAX)
    m.spend = read_choice(tf, raw, "spend", SPEND_MODES, problems) or m.spend
    m.surplus = read_choice(tf, raw, "surplus", SURPLUS_RULES, problems) or m.surplus
    obj = raw.get("objective", {})
    if not isinstance(obj, dict):
        problems.append(Problem(tf, "[objective] must be a table", column="objective"))
        return m
    m.objective = obj.get("name")
    unknown = None if m.objective is None else unknown_objective(m.objective, OBJECTIVES)
    if unknown:   # a formula (optimizer/formulas) is a valid name: the round is the law's baseline
        problems.append(Problem(tf, unknown, column="objective.name"))
        m.objective = None
    problems.extend(objective_option_problems(tf, obj))
    m.objective_options = {k: val for k, val in obj.items() if k != "name"}
    return m


def read_choice(tf: str, raw: dict[str, Any], key: str, choices: tuple[str, ...],
                problems: list[Problem]) -> str | None:
    """``[budget] KEY`` (spend, surplus): one of ``choices``, or None when absent or wrong
    (a Problem naming the nearest choice)."""
    node = raw.get("budget")
    value = node.get(key) if isinstance(node, dict) else None
    if value is None or value in choices:
        return value
    near = nearest(str(value), choices) if isinstance(value, str) else None
    hint = f" (did you mean '{near}'?)" if near else ""
    problems.append(Problem(tf, f"'budget.{key}' must be one of {', '.join(choices)}, got {value!r}{hint}",
                            column=f"budget.{key}"))
    return None


def declared_columns(tf: str, raw: dict[str, Any], problems: list[Problem]) -> list[str]:
    """``[regions] extra_columns``: the pass-through columns the instance expects (no notice)."""
    table = raw.get("regions", {})
    if not isinstance(table, dict):
        problems.append(Problem(tf, "[regions] must be a table", column="regions"))
        return []
    for key in table:
        if key != "extra_columns":
            problems.append(v.unknown_key(tf, key, ("extra_columns",), "regions", "regions key"))
    cols = table.get("extra_columns", [])
    if not isinstance(cols, list) or not all(isinstance(c, str) and c.strip() for c in cols):
        problems.append(Problem(tf, f"'regions.extra_columns' must be a list of column names, got {cols!r}",
                                column="regions.extra_columns"))
        return []
    return cols


def read_regions(src: Source, declared: list[str], tf: str, problems: list[Problem]
                 ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(regions frame, pass-through columns, notices). A large, plain, valid regions.csv is read
    vectorised (optimizer/io/regions_csv.py: the same frame); anything unusual takes the exact
    path, which reports problems."""
    fast = src.fast_regions()
    header, rows = (fast[0], []) if fast else src.table(REGIONS_FILE, problems)
    cf = src.file(REGIONS_FILE)
    if not header:
        return pd.DataFrame(), [], []
    v.check_header(cf, header, problems)
    known = set(v.REQUIRED_COLUMNS) | set(v.OPTIONAL_NUMERIC)
    # a twice-named column is a problem (check_header), not a crash: each name once
    extra = list(dict.fromkeys(c for c in header if c not in known and c))
    missing = [c for c in declared if c not in header]
    if missing:
        problems.append(Problem(tf, f"'regions.extra_columns' names columns that {REGIONS_FILE} does "
                                    f"not have: {', '.join(missing)}", column="regions.extra_columns"))
    undeclared = [c for c in extra if c not in declared]
    notices = [f"{cf}: passing through unknown columns: {', '.join(undeclared)}"] if undeclared else []
    if not rows and not fast:
        problems.append(Problem(cf, "has no region rows"))
    frame = fast[1] if fast else parse_regions(cf, header, rows, extra, problems)
    return frame, extra, notices


def read_parts(src: Source, raw: dict[str, Any], frame: pd.DataFrame, problems: list[Problem]
               ) -> dict[str, Any]:
    """The optional parts as Instance fields: [policy], groups.csv with [groups.ID],
    [scenarios.*], [phasing], services.csv with [services]."""
    tf = src.file(INSTANCE_FILE)
    ids = frame["region_id"].array   # read only when there are groups (a Python list costs ~1 s at 1e6)
    groups = read_groups(src, raw, ids, problems)
    policy = parse_policy(raw.get("policy"), tf, problems, consistent=False)
    scenarios = parse_scenarios(raw, tf, list(ids) if raw.get("scenarios") else [], groups, problems, frame)
    check_consistent(policy, tf, problems)
    for name, sc in scenarios.items():   # a scenario's policy is checked merged over [policy]
        if sc.policy.active:
            check_consistent(policy.merged(sc.policy), tf, problems, f"scenarios.{name}.policy")
    return {"policy": policy,
            "groups": groups,
            "scenarios": scenarios,
            "phasing": parse_phasing(raw.get("phasing"), tf, problems),
            "services": read_services(src, frame, problems),
            "service_options": parse_service_options(raw.get("services"), tf, problems)}


def parse_regions(cf: str, header: list[str], rows: list[tuple[int, list[str]]],
                   extra: list[str], problems: list[Problem]) -> pd.DataFrame:
    pos = {c: i for i, c in enumerate(header)}
    numeric = [c for c in ("population", "own_revenue", "fiscal_need", *v.OPTIONAL_NUMERIC)]
    data: dict[str, list[Any]] = {c: [] for c in ("region_id", "name", *numeric, *extra)}
    seen: dict[str, int] = {}
    for line, cells in rows:
        if len(cells) != len(header):
            problems.append(Problem(cf, f"has {len(cells)} fields, the header has {len(header)}", line))
            continue
        rid = cells[pos["region_id"]].strip() if "region_id" in pos else ""
        if "region_id" in pos:
            v.check_region_id(cf, line, rid, seen, problems)
        data["region_id"].append(rid)
        data["name"].append(cells[pos["name"]].strip() if "name" in pos else "")
        for col in numeric:
            if col not in pos:
                data[col].append(np.nan)
                continue
            val = v.check_cell(cf, line, rid or None, col, cells[pos[col]], problems,
                               required=col in v.REQUIRED_COLUMNS)
            data[col].append(np.nan if val is None else val)
        lo, hi = data["min_transfer"][-1], data["max_transfer"][-1]
        v.check_transfer_bounds(cf, line, rid, None if np.isnan(lo) else lo,
                                None if np.isnan(hi) else hi, problems)
        for col in extra:
            data[col].append(cells[pos[col]])
    frame = pd.DataFrame(data)
    pop = frame["population"].to_numpy(dtype=float)
    if len(frame) and np.all(np.isfinite(pop)) and np.all(pop == np.round(pop)):
        frame["population"] = pop.astype(np.int64)
    if "weight" in pos and len(frame):
        w = frame["weight"].to_numpy(dtype=float)
        w = np.where(np.isnan(w), frame["population"].to_numpy(dtype=float), w)
        v.check_weights(cf, float(np.nansum(w)), problems)
    return frame
