"""Plain data the formulations consume (already scaled by the caller)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RegionData:
    """One allocation round in solver units.

    All money arrays share one unit (the caller scales them so HiGHS sees numbers
    of order one); levels and thresholds are dimensionless ratios.

    own:        own revenue, >= 0
    need:       fiscal need (cost of the standard basket), > 0
    threshold:  service-level threshold per region, >= 0
    weight:     objective weight per region, >= 0 (normalised to sum 1 by the caller)
    t_min:      lower bound on the transfer, >= 0
    t_max:      upper bound on the transfer (np.inf where none)
    budget:     the pool to split, >= 0
    memo:       what is derived from these arrays and asked for many times in one round (the
                no-overtaking pairs): each entry keeps the inputs it was computed from and is
                used only when they are equal again (``dataclasses.replace`` shares it)
    """

    own: np.ndarray
    need: np.ndarray
    threshold: np.ndarray
    weight: np.ndarray
    t_min: np.ndarray
    t_max: np.ndarray
    budget: float
    options: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return int(self.own.shape[0])

    @property
    def level_before(self) -> np.ndarray:
        return self.own / self.need
