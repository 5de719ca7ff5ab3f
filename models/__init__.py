"""LP formulations of equalize: plain data in, Pyomo components (or the identical
matrix form) out. No file I/O, no printing, no imports from ``optimizer``."""

from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import OBJECTIVES, ObjectiveSpec, get_objective

__all__ = ["RegionData", "LinearProgram", "OBJECTIVES", "ObjectiveSpec", "get_objective"]
