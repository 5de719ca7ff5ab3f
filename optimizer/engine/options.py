"""Objective options: CLI / [objective] values -> typed options (the parsers are in
optimizer/io/objective_options.py, shared with the loader); hard | soft | auto thresholds."""

from __future__ import annotations

from models.objectives import ObjectiveSpec
from optimizer.io.objective_options import (
    OBJECTIVE_OPTION_KEYS,
    SCARCITY_RULES,
    THRESHOLD_MODES,
    parse_objective_options,
)

__all__ = ["OBJECTIVE_OPTION_KEYS", "SCARCITY_RULES", "THRESHOLD_MODES", "parse_objective_options",
           "resolve_thresholds"]


def resolve_thresholds(spec: ObjectiveSpec, mode: str | None, hard_feasible: bool) -> tuple[bool, str]:
    """(hard?, mode used). min-shortfall is soft by definition; otherwise 'hard' (default),
    'soft', or 'auto' = hard when the closed-form diagnosis says the thresholds can all hold."""
    if spec.soft_thresholds:
        return False, "soft"
    mode = mode or "hard"
    if mode == "auto":
        return (True, "hard") if hard_feasible else (False, "soft")
    return mode == "hard", mode
