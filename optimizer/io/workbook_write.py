"""Convert an instance between a folder and a workbook, and write the empty template.

Both directions take a ``Source`` (optimizer/io/source.py) and carry its raw parts: the
settings dict and the tables' text cells. A folder becomes a workbook with the numeric
columns as numbers and every other column as text cells ("605.20" stays "605.20"); a
workbook becomes instance.toml (written by ``toml_text``) and the CSV files. Reading the
result back gives the same settings dict and the same table cells (numbers as the same
floats), so the loader validates and solves the same instance.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from optimizer.core.errors import InputError, UsageError
from optimizer.io import workbook_format as f
from optimizer.io.load import load_instance
from optimizer.io.source import INSTANCE_FILE, FolderSource, Source
from optimizer.io.validation import OPTIONAL_NUMERIC, parse_number
from optimizer.io.workbook_docs import add_readme, add_validation
from optimizer.io.workbook_read import WorkbookSource, is_workbook
from optimizer.io.writers import GENERATE_OUTPUTS, atomic_write_bytes, write_run

NUMERIC = {f.REGIONS: ("population", "own_revenue", "fiscal_need", *OPTIONAL_NUMERIC),
           f.SERVICES: ("need", "threshold", "own_revenue"), f.GROUPS: ()}
TEMPLATE_SETTINGS = [("name", ""), ("description", ""), ("unit", "KRW billion"), ("year", None), ("sources", ""),
                     ("budget.total", None), ("threshold.level", None), ("objective.name", "maxmin"),
                     ("regions.extra_columns", "")]
TEMPLATE_HEADERS = {f.REGIONS: ["region_id", "name", "population", "own_revenue", "fiscal_need", "threshold",
                                "prior_transfer", "min_transfer", "max_transfer", "weight"],
                    f.GROUPS: ["group_id", "region_id", "kind"],
                    f.SERVICES: ["region_id", "service", "need", "threshold", "own_revenue"]}


def flatten(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, value) of every leaf, in the settings' order."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in tree.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and not value and prefix == ("scenarios",):
            out.append(((*path, "description"), ""))   # a scenario without keys is still a scenario
        elif isinstance(value, dict):
            out.extend(flatten(value, path))
        else:
            out.append((path, value))
    return out


def key_cell(path: tuple[str, ...], value: Any) -> Any:
    kind = f.list_kind(path)
    return f.list_cell(value, kind) if kind else value


def settings_rows(tree: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """The key/value sheets' rows (header first) for a settings dict."""
    sheets: dict[str, list[list[Any]]] = {s: [list(cols)] for s, (cols, _) in f.KEY_SHEETS.items()}
    for path, value in flatten(tree):
        if path[0] in ("policy", "phasing") and len(path) == 2:
            sheets[path[0]].append([f.join_key(path[1:]), key_cell(path, value)])
        elif path[0] == "scenarios" and len(path) > 2:
            sheets[f.SCENARIOS].append([path[1], f.join_key(path[2:]), key_cell(path, value)])
        else:
            sheets[f.SETTINGS].append([f.join_key(path), key_cell(path, value)])
    return {s: rows for s, rows in sheets.items() if s == f.SETTINGS or len(rows) > 1}


def table_cell(text: str, numeric: bool) -> Any:
    """A number for a numeric column's number (int when written as one), else the text."""
    if not numeric or not text.strip():
        return text if text.strip() else None
    value = parse_number(text)
    if value is None or not math.isfinite(value) or float(f"{value:.16g}") != value:
        return text   # openpyxl writes 16 significant digits: a 17-digit float stays exact as text
    return int(text.strip()) if re.fullmatch(r"\s*[+-]?\d+\s*", text) and abs(value) < 2 ** 53 else value


def put_rows(ws: Any, rows: list[list[Any]]) -> None:
    """Rows into a sheet: text kept as text (a leading '=' is not a formula), header bold and
    frozen, columns wide enough to read."""
    from openpyxl.styles import Alignment, Font

    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
                if "\n" in value:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for c in range(1, max((len(r) for r in rows), default=0) + 1):
        longest = max((len(str(r[c - 1]).split("\n")[0]) for r in rows if c - 1 < len(r) and r[c - 1] is not None),
                      default=8)
        ws.column_dimensions[f.column_letter(c - 1)].width = min(max(longest + 2, 10), 80)


def instance_book(settings: dict[str, list[list[Any]]], tables: dict[str, list[list[Any]]]) -> bytes:
    """A workbook from sheet rows (README first, then settings, tables, the long-form sheets)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    add_readme(book)
    order = [f.SETTINGS, f.REGIONS, f.GROUPS, f.SERVICES, f.POLICY, f.PHASING, f.SCENARIOS]
    for name in order:
        rows = settings.get(name) or tables.get(name)
        if rows:
            put_rows(book.create_sheet(name), rows)
    add_validation(book)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def workbook_bytes(src: Source, problems: list) -> bytes:
    """The instance of ``src`` (validated by the caller) as one workbook."""
    tree = src.settings(problems) or {}
    tables = {}
    for sheet, name in f.TABLE_SHEETS.items():
        read = src.table(name, problems, optional=sheet != f.REGIONS)
        if read is not None:
            header, rows = read
            numeric = [c in NUMERIC[sheet] for c in header]
            tables[sheet] = [header] + [[table_cell(t, n) for t, n in zip(cells, numeric)] for _, cells in rows]
    return instance_book(settings_rows(tree), tables)


def template_bytes() -> bytes:
    """The empty, documented instance workbook of ``equalize template``."""
    settings = {f.SETTINGS: [["key", "value"], *[[k, v] for k, v in TEMPLATE_SETTINGS]],
                f.POLICY: [["key", "value"]], f.PHASING: [["key", "value"]],
                f.SCENARIOS: [["scenario", "key", "value"]]}
    return instance_book(settings, {s: [h] for s, h in TEMPLATE_HEADERS.items()})


def folder_files(src: Source, problems: list) -> dict[str, bytes]:
    """The instance of ``src`` (validated by the caller) as the files of an instance folder."""
    files = {INSTANCE_FILE: toml_text(src.settings(problems) or {}).encode()}
    for sheet, name in f.TABLE_SHEETS.items():
        read = src.table(name, problems, optional=sheet != f.REGIONS)
        if read is not None:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(read[0])
            w.writerows(cells for _, cells in read[1])
            files[name] = buf.getvalue().encode()
    return files


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def toml_value(value: Any) -> str:
    """A TOML value: strings as basic strings, floats in shortest round-trip form, lists inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_text(tree: dict[str, Any]) -> str:
    """instance.toml for a settings dict: the top-level keys, then one [table] per table."""
    lines: list[str] = []

    def emit(node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        leaves = [(k, v) for k, v in node.items() if not isinstance(v, dict)]
        tables = [(k, v) for k, v in node.items() if isinstance(v, dict)]
        if prefix and (leaves or not tables):
            lines.extend(["", "[" + ".".join(toml_key(p) for p in prefix) + "]"])
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in leaves)
        for k, v in tables:
            emit(v, (*prefix, k))

    emit(tree, ())
    return "\n".join(lines).lstrip("\n") + "\n"


def convert_instance(src: Path, dst: Path) -> str:
    """Convert an instance folder to a workbook (``dst`` ends in .xlsx) or a workbook to a
    folder; the source is validated first (``InputError``, nothing written). The kind written."""
    if is_workbook(src) == (Path(dst).suffix.lower() in f.SUFFIXES):
        raise UsageError(f"convert {src} -> {dst}: give an instance folder and a .xlsx workbook, one each "
                         "(the workbook's name ends in .xlsx)")
    load_instance(src)
    problems: list = []
    if is_workbook(src):
        write_run(dst, folder_files(WorkbookSource(src), problems), GENERATE_OUTPUTS)
        kind = "instance folder"
    else:
        atomic_write_bytes(dst, workbook_bytes(FolderSource(src), problems))
        kind = "workbook"
    if problems:   # the source changed since it was validated
        raise InputError(problems)
    return kind
