"""The instance workbook's layout, shared by its reader, its writer and the template.

One .xlsx holds what an instance folder holds (docs/instance-format.md, "Workbook"):

- ``settings`` (key, value): instance.toml's keys, dotted for tables (``budget.total``,
  ``objective.name``, ``groups.ID.min_level``); a list in one cell, items separated by ";"
  (an item holding ";" is written in double quotes);
- ``regions``, ``groups``, ``services``: the columns of regions.csv, groups.csv, services.csv;
- ``policy`` and ``phasing`` (key, value): the keys of [policy] and [phasing];
- ``scenarios`` (scenario, key, value): the keys of [scenarios.NAME], dotted below it
  (``policy.hold_harmless``, ``regions.busan.own_revenue.scale``); ``merges`` lists merger
  group ids or region ids joined by "+" (``busan+gyeongnam; daegu-gyeongbuk``);
- ``README``: the template's documentation, ignored when read.

Each key lives in one place: ``policy.hold_harmless`` in settings and ``hold_harmless`` in
the policy sheet is an error naming both.
"""

from __future__ import annotations

import math
from typing import Any

from optimizer.io.source import INSTANCE_FILE, REGIONS_FILE

SETTINGS, REGIONS, GROUPS, SERVICES = "settings", "regions", "groups", "services"
POLICY, PHASING, SCENARIOS, README = "policy", "phasing", "scenarios", "README"
# long-form sheets: sheet -> (its columns, the settings table its keys belong to)
KEY_SHEETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    SETTINGS: (("key", "value"), ()),
    POLICY: (("key", "value"), ("policy",)),
    PHASING: (("key", "value"), ("phasing",)),
    SCENARIOS: (("scenario", "key", "value"), ("scenarios",)),
}
# table sheets: sheet -> the file of an instance folder it stands for
TABLE_SHEETS = {REGIONS: REGIONS_FILE, GROUPS: "groups.csv", SERVICES: "services.csv"}
FILE_SHEETS = {INSTANCE_FILE: SETTINGS, **{f: s for s, f in TABLE_SHEETS.items()}}
KNOWN_SHEETS = (SETTINGS, REGIONS, GROUPS, SERVICES, POLICY, PHASING, SCENARIOS, README)
SUFFIXES = (".xlsx", ".xlsm")

# the keys whose value is a list (one cell, ";"-separated); "*" matches any name
LIST_KEYS: dict[tuple[str, ...], str] = {
    ("sources",): "text", ("regions", "extra_columns"): "text", ("objective", "weights"): "number",
    ("phasing", "budget"): "number", ("scenarios", "*", "merges"): "merge",
}


def list_kind(path: tuple[str, ...]) -> str | None:
    """'text', 'number' or 'merge' when the key at ``path`` holds a list, else None."""
    for pattern, kind in LIST_KEYS.items():
        if len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path)):
            return kind
    return None


def split_key(text: str) -> list[str]:
    """``a."b.c".d`` -> [a, b.c, d]: dotted as in TOML, a part holding a dot in double quotes."""
    parts, buf, quoted = [], [], False
    for ch in text.strip():
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf).strip())
    return parts


def join_key(path: tuple[str, ...] | list[str]) -> str:
    return ".".join(f'"{p}"' if "." in p or '"' in p or p != p.strip() or not p else p for p in path)


def split_list(text: str) -> list[str]:
    """Items of one cell: separated by ';', each stripped; an item in double quotes may hold ';'
    (a doubled "" inside it is one quote). Empty items are dropped."""
    items, buf, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1:i + 2] == '"':
                buf.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                buf.append(ch)
        elif ch == '"' and not "".join(buf).strip():
            quoted, buf = True, []
        elif ch == ";":
            items.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    items.append("".join(buf).strip())
    return [x for x in items if x]


def join_list(items: list[Any]) -> str:
    """The cell text of a list: items separated by ';' and a line break (one item a line in
    Excel); an item holding ';' or a quote, or with outer blanks, goes in double quotes."""
    out = []
    for item in items:
        s = cell_text(item)
        if ";" in s or '"' in s or s != s.strip():
            s = '"' + s.replace('"', '""') + '"'
        out.append(s)
    return ";\n".join(out)


def list_value(cell: Any, kind: str, path: tuple[str, ...]) -> Any:
    """A list key's cell as the TOML list it stands for."""
    if cell is None or cell == "":
        return []
    if not isinstance(cell, str):
        return [cell]
    if path == ("objective", "weights") and ";" not in cell:
        return cell                       # the comma-separated form, as --weights takes it
    items = split_list(cell)
    if kind == "number":
        return [number_or_text(x) for x in items]
    if kind == "merge":
        return [[m.strip() for m in x.split("+")] if "+" in x else x for x in items]
    return items


def list_cell(value: Any, kind: str) -> Any:
    """The cell for a list key's TOML value (the inverse of ``list_value``)."""
    if not isinstance(value, list):
        return value
    if kind == "merge":
        value = ["+".join(map(str, m)) if isinstance(m, list) else m for m in value]
    return join_list(value)


def number_or_text(text: str) -> Any:
    """'3' -> 3, '1.5' -> 1.5, anything else the text (the validation reports it)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text) if "_" not in text else text
    except ValueError:
        return text


def cell_text(value: Any) -> str:
    """A table cell as the text a CSV file would hold: numbers in shortest round-trip form
    (a whole number without '.0'), booleans as Excel writes them, a date in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2 ** 53:
            return str(int(value))
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def column_letter(index: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA'."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out
