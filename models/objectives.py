"""Fairness objectives, each registered by name.

An objective is one ``ObjectiveSpec`` (models/spec.py): a Pyomo function that adds its
variables, rows and objective to the core model (the model of record), and optionally a
vectorised twin that adds the identical columns and rows to an ``ArrayBuilder``. Adding an
objective means adding one spec to a ``SPECS`` tuple (models/core_objectives.py,
models/fairness_specs.py).
"""

from __future__ import annotations

from models import core_objectives, fairness_specs
from models.spec import ObjectiveSpec

__all__ = ["OBJECTIVES", "ObjectiveSpec", "get_objective"]

OBJECTIVES: dict[str, ObjectiveSpec] = {
    spec.name: spec for spec in (*core_objectives.SPECS, *fairness_specs.SPECS)
}


def get_objective(name: str) -> ObjectiveSpec:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise KeyError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}") from None
