"""A batch spec (TOML) expanded into runs: instances x scenarios x objectives x budgets x
thresholds, in spec order, each with a ``run_id`` = hash of (instance sha256, parameters)."""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.objectives import OBJECTIVES
from optimizer.core.errors import InputError, Problem, UsageError
from optimizer.core.instance import SPEND_MODES, SURPLUS_RULES
from optimizer.engine.options import OBJECTIVE_OPTION_KEYS, parse_objective_options
from optimizer.formulas import unknown_objective
from optimizer.io.load import load_instance
from optimizer.studies.ranges import KINDS, RangeError, expand, unknown_key


@dataclass(frozen=True)
class RunSpec:
    index: int                       # position in the spec's order
    instance: str                    # folder path
    instance_sha256: str
    scenario: str | None
    objective: str
    objective_options: dict[str, Any]
    budget: str | None               # as written in the spec: "1.2x" or a number as text
    threshold: float | None
    run_id: str = ""

    def parameters(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "objective": self.objective,
                "objective_options": self.objective_options, "budget": self.budget,
                "threshold": self.threshold}


@dataclass(frozen=True)
class BatchSpec:
    path: Path
    runs: list[RunSpec] = field(default_factory=list)


def run_id(instance_sha: str, params: dict[str, Any]) -> str:
    blob = json.dumps({"instance": instance_sha, **params}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


TOP_KEYS = ("instances", "objectives", "scenarios", "sweep")
SWEEP_KEYS = KINDS
MAX_RUNS = 100_000   # runs in one batch (docs/batch.md "Ranges and limits")


def _bad(file: str, key: str, message: str) -> InputError:
    return InputError([Problem(file, message, column=key)])


def _check_keys(file: str, table: dict[str, Any], valid: tuple[str, ...], prefix: str = "") -> None:
    for key in table:
        if key not in valid:
            raise _bad(file, prefix + key, unknown_key(key, valid))


# spend = "least" | "all", surplus = RULE travel with the objective options (engine/surplus.py)
SPEND_KEYS = {"spend": SPEND_MODES, "surplus": SURPLUS_RULES}


def _objective_options(file: str, name: str, options: dict[str, Any]) -> None:
    """Unknown option keys and values of the wrong type are errors of the spec, not of each run."""
    for key, value in options.items():
        if key in SPEND_KEYS:
            if value not in SPEND_KEYS[key]:
                raise _bad(file, f"objectives.{name}.{key}", f"{value!r} is not valid: choose one of "
                                                             f"{', '.join(SPEND_KEYS[key])}")
            continue
        if key not in OBJECTIVE_OPTION_KEYS:
            raise _bad(file, f"objectives.{name}.{key}",
                       unknown_key(key, ("name", *OBJECTIVE_OPTION_KEYS, *SPEND_KEYS)))
        try:
            parse_objective_options({key: value})
        except (UsageError, ValueError, TypeError) as exc:
            raise _bad(file, f"objectives.{name}.{key}", f"{value!r} is not valid: {exc}") from None


def _objective_name(file: str, name: str) -> str:
    unknown = unknown_objective(name, OBJECTIVES)   # a formula runs with the law's parameters
    if unknown:
        raise _bad(file, "objectives", unknown)
    return name


def _objectives(raw: Any, file: str) -> list[tuple[str, dict[str, Any]]]:
    """A name, a table {name = ..., <objective options>}, or a non-empty list of those."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _bad(file, "objectives", "the list is empty")
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((_objective_name(file, item), {}))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            name = _objective_name(file, item["name"])
            options = {k: v for k, v in item.items() if k != "name"}
            _objective_options(file, name, options)
            out.append((name, options))
        else:
            raise _bad(file, "objectives", f"objective entry {item!r} must be a name or a table with a name")
    return out


def _scenarios(raw: Any, file: str) -> list[str | None]:
    """A name or a non-empty list of names; "base" (or no key) is the base round."""
    if raw is None:
        return [None]
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(s, str) and s.strip() for s in items):
        raise _bad(file, "scenarios", f"must be a scenario name or a non-empty list of names, got {raw!r}")
    return [None if s == "base" else s for s in items]


def _read_toml(path: Path) -> dict[str, Any]:
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file, "file is missing")]) from None
    except IsADirectoryError:
        raise InputError([Problem(file, "is a folder, not a TOML spec")]) from None
    except OSError as exc:
        raise InputError([Problem(file, f"cannot be read: {exc.strerror or exc}")]) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError([Problem(file, f"is not UTF-8 text (byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(file, f"TOML syntax error: {exc}")]) from None
    if not raw:
        raise InputError([Problem(file, "the spec is empty: it needs at least instances = [\"...\"]")])
    return raw


def _instance_folders(path: Path, patterns: Any) -> list[str]:
    """The instance folders, globs expanded relative to the spec; every problem at once."""
    file = str(path)
    items = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(items, list) or not items or not all(isinstance(p, str) and p for p in items):
        raise _bad(file, "instances", "must be a non-empty list of paths or globs")
    problems: list[Problem] = []
    folders: list[str] = []
    for pat in items:
        full = str(path.parent / pat) if not Path(pat).is_absolute() else pat
        hits = sorted(glob.glob(full)) if any(c in pat for c in "*?[") else [full]
        if not hits:
            problems.append(Problem(file, f"pattern '{pat}' matches no instance folder", column="instances"))
        folders.extend(h for h in hits if h not in folders)
    if problems:
        raise InputError(problems)
    return folders


def _sweep(raw: Any, file: str) -> tuple[list[str | None], list[float | None]]:
    if not isinstance(raw, dict):
        raise _bad(file, "sweep", f"must be a table ([sweep] with budget and/or threshold), got {raw!r}")
    _check_keys(file, raw, SWEEP_KEYS, "sweep.")
    values = []
    for key in SWEEP_KEYS:
        try:
            values.append(expand(raw.get(key), key))
        except RangeError as exc:
            raise _bad(file, f"sweep.{key}", str(exc)) from None
    return values[0], values[1]


def _instance_sha(folder: str) -> str:
    try:
        return load_instance(folder).sha256
    except InputError:
        return "unreadable:" + folder  # the run itself records the input problems


def load_spec(path: str | Path) -> BatchSpec:
    """The spec's runs; any problem of the spec itself is an InputError naming the file and key,
    raised before an instance is read or a run planned."""
    path = Path(path)
    file = str(path)
    raw = _read_toml(path)
    _check_keys(file, raw, TOP_KEYS)
    folders = _instance_folders(path, raw.get("instances"))
    objectives = _objectives(raw.get("objectives", ["maxmin"]), file)
    scenarios = _scenarios(raw.get("scenarios"), file)
    budgets, thresholds = _sweep(raw.get("sweep", {}), file)
    total = len(folders) * len(scenarios) * len(objectives) * len(budgets) * len(thresholds)
    if total > MAX_RUNS:
        raise InputError([Problem(file, f"the spec asks for {total:,} runs; a batch holds at most {MAX_RUNS:,} "
                                        "(split it into several specs)")])
    runs: list[RunSpec] = []
    seen: set[str] = set()
    for folder in folders:
        sha = _instance_sha(folder)
        for scen, (name, options), budget, threshold in itertools.product(scenarios, objectives, budgets,
                                                                          thresholds):
            spec = RunSpec(len(runs), folder, sha, scen, name, options, budget, threshold)
            rid = run_id(sha, spec.parameters())
            if rid not in seen:
                seen.add(rid)
                runs.append(dataclasses.replace(spec, run_id=rid))
    return BatchSpec(path, runs)
