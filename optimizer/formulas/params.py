"""A formula's parameters as data: one TOML file per system in ``parameters/`` (package data).

Each file names the system, its law and its fiscal-year start; each ``[parameters.NAME]``
table holds a description, the legal reference (URL) and the values by the date they take
effect (``values = { "2005-01-01" = 0.8 }``), in the manner of OpenFisca's parameter files.
A round takes the values in force on the first day of its fiscal year: the instance's
``year`` with the system's ``fiscal_year_start`` (Canada 04-01, Australia 07-01), or the
``date`` formula option. Any value can be overridden by an option of the same name
(``--formula-option revenue_share=0.7``): a reform is a changed value.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from optimizer.core.errors import UsageError, nearest

PACKAGE = "optimizer.formulas"
DATE_OPTION = "date"


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    reference: str
    unit: str
    values: tuple[tuple[dt.date, float], ...]     # (effective date, value), ascending

    def at(self, day: dt.date) -> float | None:
        """The value in force on ``day`` (None before the first date)."""
        current = None
        for start, value in self.values:
            if start <= day:
                current = value
        return current


@dataclass(frozen=True)
class System:
    name: str
    title: str
    law: str
    reference: str
    fiscal_year_start: str                           # "MM-DD"
    parameters: dict[str, Parameter] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundParameters:
    """The values one round uses, and where they came from (for summary.json)."""
    system: str
    date: dt.date | None
    values: dict[str, float]
    overridden: tuple[str, ...]

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def as_summary(self, system: System) -> dict[str, Any]:
        return {"system": system.name, "law": system.law, "reference": system.reference,
                "date": None if self.date is None else self.date.isoformat(),
                "values": dict(self.values), "overridden": list(self.overridden),
                "references": {k: p.reference for k, p in system.parameters.items()}}


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise UsageError(f"{where}: '{text}' is not a date YYYY-MM-DD") from None


def _parameter(system: str, name: str, table: dict[str, Any]) -> Parameter:
    values = table.get("values", {})
    pairs = sorted((_date(d, f"{system}.toml [parameters.{name}]"), float(v)) for d, v in values.items())
    return Parameter(name, str(table.get("description", "")), str(table.get("reference", "")),
                     str(table.get("unit", "")), tuple(pairs))


@cache
def load_system(name: str) -> System:
    """The parameter file of one system (cached: package data do not change in a run)."""
    raw = tomllib.loads(resources.files(PACKAGE).joinpath("parameters", f"{name}.toml").read_text("utf-8"))
    params = {k: _parameter(name, k, t) for k, t in raw.get("parameters", {}).items()}
    return System(raw["system"], raw.get("title", name), raw.get("law", ""), raw.get("reference", ""),
                  raw.get("fiscal_year_start", "01-01"), params)


def round_date(system: System, year: int | None, override: Any = None) -> dt.date | None:
    """The first day of the round's fiscal year (None: no year given, the latest values)."""
    if override is not None:
        return _date(override, f"--formula-option {DATE_OPTION}")
    if year is None:
        return None
    return dt.date.fromisoformat(f"{int(year):04d}-{system.fiscal_year_start}")


def _number(name: str, raw: Any) -> float:
    if isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on"):
        return 1.0
    if text in ("false", "no", "off"):
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isinf(value) or (math.isnan(value) and text != "nan"):   # nan: "not given" where a rule says so
        raise UsageError(f"--formula-option {name}: expected a number (or true/false), got {raw!r}")
    return value


def resolve(system: System, year: int | None, options: dict[str, Any] | None) -> RoundParameters:
    """The values in force for the round, each overridable by an option of its name."""
    options = dict(options or {})
    day = round_date(system, year, options.pop(DATE_OPTION, None))
    known = list(system.parameters)
    for key in options:
        if key not in system.parameters:
            near = nearest(key, [*known, DATE_OPTION])
            hint = f" (did you mean '{near}'?)" if near else ""
            raise UsageError(f"--formula-option: '{key}' is not a parameter of {system.name}{hint}; it has: "
                             f"{', '.join([*known, DATE_OPTION])}")
    values = {}
    for key, p in system.parameters.items():
        if key in options:
            values[key] = _number(key, options[key])
            continue
        value = p.at(day) if day is not None else (p.values[-1][1] if p.values else None)
        if value is None:
            raise UsageError(f"{system.name}: parameter '{key}' has no value in force on {day} "
                             f"(first: {p.values[0][0] if p.values else 'none'}); give --formula-option {key}=...")
        values[key] = value
    return RoundParameters(system.name, day, values, tuple(k for k in options if k in system.parameters))


def parse_formula_options(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings (the CLI's repeated --formula-option) -> a dict."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--formula-option must be NAME=VALUE (e.g. revenue_share=0.7), got '{item}'")
        out[key.strip()] = value.strip()
    return out
