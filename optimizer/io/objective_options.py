"""Objective options as users write them (``[objective]`` of instance.toml, CLI flags, batch
specs, API keywords) -> typed values; one parser per option, each raising ``UsageError``.

``[objective]`` is checked at load (``objective_option_problems``: an unknown key or a bad
value is a problem naming the key); ``parse_objective_options`` checks them again, merged
with the flags, at every solve.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from models import fairness as fm
from models.data import RegionData
from optimizer.core.errors import Problem, UsageError
from optimizer.core.limits import ALPHA_MIN, BREAKPOINTS_MAX, OWA_WEIGHT_MAX
from optimizer.io.validation import unknown_key

THRESHOLD_MODES = ("hard", "soft", "auto")
# who gets the money when soft thresholds cannot all be met (docs/objectives.md, "Scarcity"):
# the chosen objective with the thresholds as caps, or the least weighted shortfall first
SCARCITY_RULES = ("objective", "shortfall-first")


def _float_list(value: Any, key: str) -> list[float]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    try:
        out = [float(p) for p in parts if not isinstance(p, bool)]
    except (TypeError, ValueError, OverflowError):
        out = []
    if len(out) != len(parts) or not out or not all(math.isfinite(x) for x in out):
        raise UsageError(f"{key} must be a comma-separated list of finite numbers, got {value!r}")
    return out


def _alpha(value: Any) -> float:
    try:
        a = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"alpha must be a number in (0, 1], got {value!r}") from None
    if not (0.0 < a <= 1.0):
        raise UsageError(f"alpha must be in (0, 1], got {value!r}")
    if a < ALPHA_MIN:
        raise UsageError(f"alpha must be at least {ALPHA_MIN:g} (the LP's costs are weight / alpha), got {value!r}")
    return a


def _weights(value: Any) -> list[float]:
    w = np.array(_float_list(value, "weights"))
    if w.size > 10_000:
        raise UsageError(f"weights must list at most 10000 slices, got {w.size}")
    if np.any(np.abs(w) > OWA_WEIGHT_MAX):
        raise UsageError(f"weights must be at most {OWA_WEIGHT_MAX:g} each, got {value!r}")
    try:   # the formulation's own check, on a one-region stand-in
        fm.owa_weights(RegionData(np.zeros(1), np.ones(1), np.zeros(1), np.ones(1), np.zeros(1),
                                  np.ones(1), 0.0, {"weights": w}))
    except ValueError as exc:
        raise UsageError(f"weights are not valid: {exc}") from None
    return w.tolist()


def _integer(key: str, lo: int, hi: int, what: str = ""):
    def parse(value: Any) -> int:
        try:
            x = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            x = math.nan
        if not (math.isfinite(x) and x == int(x) and lo <= x <= hi):
            raise UsageError(f"{key} must be an integer between {lo} and {hi}{what}, got {value!r}")
        return int(x)
    return parse


def _choice(key: str, allowed: tuple[Any, ...], message: str):
    def check(value: Any) -> Any:
        if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
            raise UsageError(f"{key} must be {message}, got {value!r}")
        return value
    return check


PARSERS = {
    "alpha": _alpha,
    "weights": _weights,
    "breakpoints": _integer("breakpoints", 2, BREAKPOINTS_MAX,
                            " (log-welfare tangents per region: the LP has regions x breakpoints rows)"),
    "thresholds": _choice("thresholds", THRESHOLD_MODES, f"one of {', '.join(THRESHOLD_MODES)}"),
    "scarcity": _choice("scarcity", SCARCITY_RULES, f"one of {', '.join(SCARCITY_RULES)}"),
    "gini_form": _choice("gini_form", ("auto", "pairwise", "chain"), "auto, pairwise or chain"),
    "owa_form": _choice("owa_form", ("slices", "chain"), "slices or chain"),
    "gini_pairwise_max": _integer("gini_pairwise_max", 0, 1_000_000),
    "gini_start": _choice("gini_start", ("decomposition", "leximin", "levels"), "decomposition, leximin or levels"),
    "gini_resort": _choice("gini_resort", ("split", "block"), "split or block"),
    "gini_certificate": _choice("gini_certificate", ("auto", "duals"), "auto or duals"),
    "gini_jumps": _choice("gini_jumps", (True, False), "true or false"),
    "gini_inexact": _choice("gini_inexact", (True, False), "true or false"),
}

# What a user may set (CLI flags, [objective], API keywords); docs/objectives.md. Other keys
# in the options dict are internal (the drivers' gini_order, gini_lambda, shortfall_cap ...).
OBJECTIVE_OPTION_KEYS = tuple(PARSERS)


def parse_objective_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Type-check the objective options (from [objective] in instance.toml, checked at load,
    merged with the flags, batch specs or API keywords: a bad value names its flag).
    Unknown keys travel along (internal options of the drivers)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        parse = PARSERS.get(key)
        try:
            out[key] = parse(value) if parse is not None else value
        except UsageError as exc:
            raise UsageError(f"--{key.replace('_', '-')}: {exc}") from None
    return out


def objective_option_problems(file: str, table: dict[str, Any], where: str = "objective") -> list[Problem]:
    """The options of ``[objective]`` (every key but ``name``): unknown keys and bad values."""
    out = []
    for key, value in table.items():
        if key == "name":
            continue
        if key not in PARSERS:
            out.append(unknown_key(file, key, ("name", *OBJECTIVE_OPTION_KEYS), where, "objective option"))
            continue
        try:
            PARSERS[key](value)
        except UsageError as exc:
            out.append(Problem(file, str(exc), column=f"{where}.{key}"))
    return out

