"""Levels and the transfers that reach them: one definition for every stage.

A region's service level is L_r = (own_r + T_r) / need_r. Lifting it to a level z takes
T_r = z need_r - own_r, which is negative when the region already stands above z (it could
give that much and still sit at z). Which sign is wanted differs by use, so each use has
its own name here rather than its own inline formula:

- ``transfer_to_level``: signed, the exact transfer that puts the region at z.
- ``gap_to_level``: clipped at 0, the money a region is missing to reach z (0 when it is
  already there): what thresholds "cost" in diagnostics, services and generated budgets.
- ``least_transfer``: the least transfer the core allows under a hard threshold,
  max(t_min, theta need - own). Negative where t_min is (a contributor, horizontal
  equalization): such a region may give down to its threshold, not below.
- ``required_transfer``: max(t_min, gap): what meeting the threshold requires, never
  counting a contributor's possible gift as money found: the least budget that meets every
  threshold in ``diagnose``.
"""

from __future__ import annotations

import numpy as np


def level_of(own: np.ndarray, need: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """L_r = (own_r + T_r) / need_r."""
    return (own + transfer) / need


def shortfall_of(threshold: np.ndarray, own: np.ndarray, need: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """max(0, theta_r - L_r): how far each level after ``transfer`` stays below its threshold
    (the soft core's shortfall columns at their least)."""
    return np.maximum(0.0, threshold - level_of(own, need, transfer))


def transfer_to_level(level: np.ndarray | float, own: np.ndarray, need: np.ndarray) -> np.ndarray:
    """The T_r with level_of(own, need, T) = level; negative for a region above ``level``."""
    return level * need - own


def gap_to_level(level: np.ndarray | float, own: np.ndarray, need: np.ndarray) -> np.ndarray:
    """max(0, level need_r - own_r): the money region r lacks to reach ``level``."""
    return np.maximum(0.0, transfer_to_level(level, own, need))


def least_transfer(threshold: np.ndarray, own: np.ndarray, need: np.ndarray,
                   t_min: np.ndarray) -> np.ndarray:
    """max(t_min, theta need - own): the least transfer with the threshold met and t_min
    respected; negative only where t_min is (a contributor may give down to its
    threshold)."""
    return np.maximum(t_min, transfer_to_level(threshold, own, need))


def required_transfer(threshold: np.ndarray, own: np.ndarray, need: np.ndarray,
                      t_min: np.ndarray) -> np.ndarray:
    """max(t_min, gap to the threshold), never negative: as ``least_transfer`` but a region
    above its threshold requires nothing instead of offering a gift."""
    return np.maximum(t_min, gap_to_level(threshold, own, need))


def bound_tolerance(level: np.ndarray, need: np.ndarray, money: np.ndarray | None = None) -> np.ndarray:
    """How far level L_r may lie from one of its bounds and still count as at it: 1e-9 of
    the level (at least of 1) and, given ``money`` (|own_r| + |T_r|, the money behind the
    level), 1e-9 of money_r / need_r, since L_r = (own_r + T_r) / need_r rounds by
    ulp(money_r) / need_r. Never an absolute amount of money divided by the need: beside a
    need of 4e-11 (solver units) 1e-9 of money is 24 in level, and a region at 0.985 with
    its bound at 0.8 counted as at it (price seed 5133, optimizer/fast/cut_certificate.py)."""
    tol = 1e-9 * np.maximum(1.0, np.abs(level))
    return tol if money is None else np.maximum(tol, 1e-9 * np.asarray(money) / need)
