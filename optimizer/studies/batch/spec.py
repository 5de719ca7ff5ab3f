"""A batch spec (TOML) expanded into runs: instances x scenarios x objectives x budgets x
thresholds, in spec order, each with a ``run_id`` = hash of (instance sha256, parameters)."""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.core.budget import budget_label
from optimizer.core.errors import InputError, Problem
from optimizer.io.load import load_instance
from optimizer.studies.ranges import sweep_values


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


def _objectives(raw: Any, file: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            out.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
        else:
            raise InputError([Problem(file, f"objective entry {item!r} must be a name or a table "
                                            "with a name", column="objectives")])
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file is missing")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(str(path), f"TOML syntax error: {exc}")]) from None


def _instance_folders(path: Path, patterns: Any) -> list[str]:
    """The instance folders, globs expanded relative to the spec; every problem at once."""
    file = str(path)
    problems: list[Problem] = []
    if not isinstance(patterns, list) or not patterns:
        problems.append(Problem(file, "'instances' must be a non-empty list of paths or globs",
                                column="instances"))
        patterns = []
    folders: list[str] = []
    for pat in patterns:
        full = str(path.parent / pat) if not Path(pat).is_absolute() else pat
        hits = sorted(glob.glob(full)) if any(c in pat for c in "*?[") else [full]
        if not hits:
            problems.append(Problem(file, f"pattern '{pat}' matches no instance folder", column="instances"))
        folders.extend(h for h in hits if h not in folders)
    if problems:
        raise InputError(problems)
    return folders


def _budget_text(value: Any) -> str | None:
    """A budget as the run records it: the spec's own text, or a number without float noise."""
    if value is None or isinstance(value, (str, bool)):
        return value
    return budget_label(float(value), False) if isinstance(value, (int, float)) else str(value)


def _instance_sha(folder: str) -> str:
    try:
        return load_instance(folder).sha256
    except InputError:
        return "unreadable:" + folder  # the run itself records the input problems


def load_spec(path: str | Path) -> BatchSpec:
    path = Path(path)
    file = str(path)
    raw = _read_toml(path)
    folders = _instance_folders(path, raw.get("instances"))
    objectives = _objectives(raw.get("objectives", ["maxmin"]), file)
    scenarios = [None if s in (None, "base") else s for s in raw.get("scenarios", [None]) or [None]]
    sweep = raw.get("sweep", {})
    budgets = [_budget_text(b) for b in sweep_values(sweep.get("budget"), "budget", file)]
    thresholds = [None if t is None else float(t) for t in sweep_values(sweep.get("threshold"), "threshold", file)]
    runs: list[RunSpec] = []
    seen: set[str] = set()
    for folder in folders:
        sha = _instance_sha(folder)
        for scen in scenarios:
            for name, options in objectives:
                for budget in budgets:
                    for threshold in thresholds:
                        spec = RunSpec(len(runs), folder, sha, scen, name, options, budget, threshold)
                        rid = run_id(sha, spec.parameters())
                        if rid not in seen:
                            seen.add(rid)
                            runs.append(dataclasses.replace(spec, run_id=rid))
    return BatchSpec(path, runs)
