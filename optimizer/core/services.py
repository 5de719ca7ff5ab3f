"""Services options and table layout (plain data; see optimizer/prepare/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_OBJECTIVES = ("maxmin", "min-shortfall", "min-cost")
FAIRNESS_OVER = ("regions", "services")
# the rows of services.csv as read: "line" (for messages), "own_given" (NaN where not given)
SERVICE_ROW_COLUMNS = ["line", "region_id", "service", "need", "threshold", "own_given"]
SERVICE_COLUMNS = ["region_id", "service", "need", "own_revenue", "threshold", "transfer",
                   "level_before", "level_after", "shortfall", "binding"]


@dataclass(frozen=True)
class ServiceOptions:
    earmarked: bool = False
    fairness_over: str = "regions"     # "regions" | "services"
