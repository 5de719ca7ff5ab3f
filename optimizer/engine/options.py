"""Objective options: CLI / [objective] values -> typed options; hard | soft | auto thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np

from models import fairness as fm
from models.data import RegionData
from models.objectives import ObjectiveSpec
from optimizer.core.errors import UsageError

THRESHOLD_MODES = ("hard", "soft", "auto")


def _float_list(value: Any, key: str) -> list[float]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    try:
        return [float(p) for p in parts]
    except (TypeError, ValueError):
        raise UsageError(f"{key}: expected a comma-separated list of numbers, got {value!r}") from None


def _alpha(value: Any) -> float:
    try:
        a = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"alpha: expected a number in (0, 1], got {value!r}") from None
    if not (0.0 < a <= 1.0):
        raise UsageError(f"alpha must be in (0, 1], got {value!r}")
    return a


def _weights(value: Any) -> list[float]:
    w = np.array(_float_list(value, "weights"))
    try:   # the formulation's own check, on a one-region stand-in
        fm.owa_weights(RegionData(np.zeros(1), np.ones(1), np.zeros(1), np.ones(1), np.zeros(1),
                                  np.ones(1), 0.0, {"weights": w}))
    except ValueError as exc:
        raise UsageError(f"weights: {exc}") from None
    return w.tolist()


def _breakpoints(value: Any) -> int:
    if isinstance(value, bool) or not float(value) == int(float(value)) or int(float(value)) < 2:
        raise UsageError(f"breakpoints must be an integer >= 2, got {value!r}")
    return int(float(value))


def _choice(key: str, allowed: tuple[str, ...], message: str):
    def check(value: Any) -> str:
        if value not in allowed:
            raise UsageError(f"{key} must be {message}, got {value!r}")
        return value
    return check


_PARSERS = {
    "alpha": _alpha,
    "weights": _weights,
    "breakpoints": _breakpoints,
    "thresholds": _choice("thresholds", THRESHOLD_MODES, f"one of {', '.join(THRESHOLD_MODES)}"),
    "gini_form": _choice("gini_form", ("auto", "pairwise", "chain"), "auto, pairwise or chain"),
}


# What a user may set (CLI flags, [objective], API keywords); docs/objectives.md. Other keys
# in the options dict are internal (the drivers' gini_order, gini_lambda, shortfall_cap ...).
OBJECTIVE_OPTION_KEYS = (*_PARSERS, "owa_form", "gini_pairwise_max", "gini_start", "gini_resort",
                         "gini_certificate", "gini_jumps", "gini_inexact")


def parse_objective_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Type-check the objective options (from [objective] in instance.toml and the CLI).
    Unknown keys travel along (other objectives or policies may read them)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        parse = _PARSERS.get(key)
        out[key] = parse(value) if parse is not None else value
    return out


def resolve_thresholds(spec: ObjectiveSpec, mode: str | None, hard_feasible: bool) -> tuple[bool, str]:
    """(hard?, mode used). min-shortfall is soft by definition; otherwise 'hard' (default),
    'soft', or 'auto' = hard when the closed-form diagnosis says the thresholds can all hold."""
    if spec.soft_thresholds:
        return False, "soft"
    mode = mode or "hard"
    if mode == "auto":
        return (True, "hard") if hard_feasible else (False, "soft")
    return mode == "hard", mode
