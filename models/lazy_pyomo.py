"""Pyomo, imported on first use.

The default solve path builds the array twin and never touches Pyomo; importing
``pyomo.environ`` costs about a second (it also pulls in scipy.stats), which is most of the
start-up time of a small `equalize solve`. Formulations write ``pyo.X`` exactly as with
``import pyomo.environ as pyo``.
"""

from __future__ import annotations

import importlib
from typing import Any


class _LazyPyomo:
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("pyomo.environ"), name)


pyo: Any = _LazyPyomo()
