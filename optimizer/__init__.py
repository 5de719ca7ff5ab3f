"""equalize: allocate an equalization budget among regions with linear programming.

The public Python API (docs/architecture.md, README "Python"):

    from optimizer import load_instance, solve, compare, sweep

Names are loaded on first use (PEP 562), so importing one stage of the package, or the CLI
for ``equalize --version``, does not pay for the engine and the studies.
"""

from __future__ import annotations

import importlib
from typing import Any

from optimizer.core.version import SCHEMA_VERSION, __version__

_API = {
    "load_instance": "optimizer.io.load",
    "solve": "optimizer.api",
    "compare": "optimizer.api",
    "sweep": "optimizer.api",
    "Instance": "optimizer.core.instance",
    "Result": "optimizer.core.result",
    "EqualizeError": "optimizer.core.errors",
    "BadInputError": "optimizer.core.errors",
    "InputError": "optimizer.core.errors",
    "UsageError": "optimizer.core.errors",
    "InfeasibleError": "optimizer.core.errors",
    "SolverError": "optimizer.core.errors",
}

__all__ = ["SCHEMA_VERSION", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
