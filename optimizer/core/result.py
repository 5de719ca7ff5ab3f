"""What a solve returns: the allocation table and a JSON-ready summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ALLOCATION_COLUMNS = [
    "region_id", "name", "population", "own_revenue", "fiscal_need", "threshold",
    "prior_transfer", "transfer", "transfer_per_capita", "level_before", "level_after",
    "shortfall", "threshold_dual", "binding",
]


# a round that has an allocation: an optimum, or a formula's computed split (optimizer/formulas;
# nothing was optimised, so it is never called optimal)
SOLVED_STATUSES = ("optimal", "computed")


@dataclass
class Result:
    allocation: pd.DataFrame     # one row per region, input order
    summary: dict                # status, objective value, metrics, reasons, provenance
    tables: dict = field(default_factory=dict)   # further tables, written as <name>.csv (e.g. services)

    @property
    def status(self) -> str:
        return self.summary["status"]

    @property
    def solved(self) -> bool:
        """An allocation to write: optimal, or computed by a formula."""
        return self.status in SOLVED_STATUSES
