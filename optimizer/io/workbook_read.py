"""Read an instance workbook (.xlsx) into the raw structures an instance folder gives.

``WorkbookSource`` is a ``Source`` (optimizer/io/source.py): ``settings`` builds the dict
``tomllib`` would give for instance.toml from the key/value sheets, ``table`` gives each
table sheet as a header and rows of text cells (a number as the shortest text that reads
back to it, so the loader parses exactly what a CSV file would give). The loader then runs
the one validation; ``locate`` turns each problem's file and line (or dotted key) into the
sheet, row and column it came from. The layout is in optimizer/io/workbook_format.py.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.core.errors import Problem, nearest
from optimizer.io import workbook_format as f
from optimizer.io.read import file_digest
from optimizer.io.source import REGIONS_FILE, Rows

Cells = list[tuple[int, tuple[Any, ...]]]   # (sheet row, the row's cell values)


def is_workbook(path: Path) -> bool:
    return Path(path).suffix.lower() in f.SUFFIXES and not Path(path).is_dir()


@dataclass(frozen=True)
class WorkbookProblem(Problem):
    """A problem located in a workbook: sheet, row and column (with its letter)."""

    sheet: str = ""
    row: int | None = None
    letter: str | None = None
    key: str | None = None     # the settings key of the row, when the row holds one

    def __str__(self) -> str:
        where = f"{self.file}, sheet '{self.sheet}'"
        if self.row is not None:
            where += f", row {self.row}"
        if self.region:
            where += f" (region '{self.region}')"
        elif self.key:
            where += f" (key '{self.key}')"
        if self.column:
            where += f", column '{self.column}'" + (f" ({self.letter})" if self.letter else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Loc:
    sheet: str
    row: int
    letter: str
    key: str

    def __str__(self) -> str:
        return f"sheet '{self.sheet}', row {self.row}"


def read_sheets(path: Path) -> dict[str, Cells]:
    """Every sheet's rows (cached values of formulas); ``OSError`` or ``ValueError`` when the
    file is not a workbook openpyxl can read."""
    import openpyxl  # ~0.3 s to import: only when a workbook is read

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, TypeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    try:
        return {ws.title: list(enumerate(ws.iter_rows(values_only=True), start=1)) for ws in book.worksheets}
    finally:
        book.close()


def header_of(rows: Cells) -> list[str]:
    cells = [f.cell_text(c).strip() for c in rows[0][1]] if rows else []
    while cells and not cells[-1]:
        cells.pop()
    return cells


def body_of(rows: Cells, width: int) -> Rows:
    """The rows after the header as text cells, blank rows skipped, empty cells past the header
    dropped (a filled one stays: the loader reports the row's field count)."""
    out = []
    for row, values in rows[1:]:
        cells = [f.cell_text(c) for c in values]
        while len(cells) > width and not cells[-1].strip():
            cells.pop()
        if any(c.strip() for c in cells):
            out.append((row, cells + [""] * (width - len(cells))))
    return out


class WorkbookSource:
    """An instance held in one .xlsx workbook."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.sheets: dict[str, Cells] | None = None
        self.keys: dict[str, Loc] = {}                 # dotted key (and each table above it) -> where
        self.rows: dict[str, dict[str, int]] = {}      # sheet -> region id -> row
        self.headers: dict[str, list[str]] = {}

    def file(self, name: str) -> str:
        return str(self.path / name)

    def default_name(self) -> str:
        return self.path.stem

    def digest(self) -> str:
        return file_digest(self.path.parent, [self.path.name])

    def fast_regions(self) -> tuple[list[str], pd.DataFrame] | None:
        return None

    def open(self, problems: list[Problem]) -> bool:
        if self.sheets is None:
            try:
                self.sheets = read_sheets(self.path)
            except FileNotFoundError:
                problems.append(Problem(str(self.path), "file is missing"))
            except OSError as exc:
                problems.append(Problem(str(self.path), f"cannot be read: {exc.strerror or exc}"))
            except Exception as exc:   # openpyxl raises many kinds on a damaged file
                problems.append(Problem(str(self.path), f"cannot be read as an Excel workbook "
                                                        f"({type(exc).__name__}: {exc})"))
            if self.sheets is None:
                self.sheets = {}
                return False
            for name in self.sheets:
                if name not in f.KNOWN_SHEETS:
                    near = nearest(name, f.KNOWN_SHEETS)
                    problems.append(WorkbookProblem(str(self.path), "unknown sheet" + (
                        f"; did you mean '{near}'?" if near else "") + f" (known: {', '.join(f.KNOWN_SHEETS)})",
                        sheet=name))
        return bool(self.sheets)

    def table(self, name: str, problems: list[Problem], optional: bool = False) -> tuple[list[str], Rows] | None:
        sheet = f.FILE_SHEETS[name]
        if not self.open(problems):
            return None if optional else ([], [])
        if sheet not in self.sheets:
            if optional:
                return None
            problems.append(WorkbookProblem(str(self.path), "the workbook has no such sheet", sheet=sheet))
            return [], []
        header = header_of(self.sheets[sheet])
        self.headers[sheet] = header
        if not header:
            problems.append(WorkbookProblem(str(self.path), "is empty; a header row is required", sheet=sheet,
                                            row=1))
            return [], []
        rows = body_of(self.sheets[sheet], len(header))
        if optional and not rows:   # an optional sheet left as the template has it: absent
            return None
        if "region_id" in header:
            pos = header.index("region_id")
            self.rows[sheet] = {}
            for row, cells in rows:
                self.rows[sheet].setdefault(cells[pos].strip(), row)
        return header, rows

    def settings(self, problems: list[Problem]) -> dict[str, Any] | None:
        if not self.open(problems):
            return None
        if f.SETTINGS not in self.sheets:
            problems.append(WorkbookProblem(str(self.path), "the workbook has no such sheet", sheet=f.SETTINGS))
            return None
        n0 = len(problems)
        tree: dict[str, Any] = {}
        for sheet, (columns, prefix) in f.KEY_SHEETS.items():
            if sheet in self.sheets:
                self.key_rows(sheet, columns, prefix, tree, problems)
        return tree if len(problems) == n0 else None

    def key_rows(self, sheet: str, columns: tuple[str, ...], prefix: tuple[str, ...], tree: dict[str, Any],
                 problems: list[Problem]) -> None:
        """Put every (key, value) row of a long-form sheet into ``tree`` at its dotted path."""
        rows = self.sheets[sheet]
        header = header_of(rows)
        self.headers[sheet] = header
        missing = [c for c in columns if c not in header]
        for c in missing:
            problems.append(WorkbookProblem(str(self.path), "required column is missing", column=c, sheet=sheet,
                                            row=1))
        if missing:
            return
        pos = {c: header.index(c) for c in columns}
        letter = f.column_letter(pos["value"])
        for row, cells in body_of(rows, len(header)):
            key = cells[pos["key"]].strip()
            scenario = cells[pos["scenario"]].strip() if "scenario" in pos else None
            if not key or scenario == "":
                gone = "key" if not key else "scenario"
                problems.append(WorkbookProblem(str(self.path), f"is empty; every row needs a {gone}", column=gone,
                                                row=row, sheet=sheet, letter=f.column_letter(pos[gone])))
                continue
            path = (*prefix, *([scenario] if scenario is not None else []), *f.split_key(key))
            value = self.sheets[sheet][row - 1][1][pos["value"]] if pos["value"] < len(
                self.sheets[sheet][row - 1][1]) else None
            loc = Loc(sheet, row, letter, key)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.keys.setdefault(".".join(path), loc)   # a blank value: the key is not given
                continue
            kind = f.list_kind(path)
            self.put(tree, path, f.list_value(value, kind, path) if kind else value, loc, problems)

    def put(self, tree: dict[str, Any], path: tuple[str, ...], value: Any, loc: Loc,
            problems: list[Problem]) -> None:
        """``tree[path] = value``; a key given twice, or as a value and as a table, is a problem
        naming both places."""
        node = tree
        for i, part in enumerate(path[:-1]):
            above = ".".join(path[:i + 1])
            sub = node.setdefault(part, {})
            if not isinstance(sub, dict):
                self.conflict(f"'{above}' is given as a value at {self.keys[above]} and as a table here", loc,
                              problems)
                return
            self.keys.setdefault(above, loc)
            node = sub
        dotted = ".".join(path)
        if path[-1] in node:
            self.conflict(f"'{dotted}' is given in two places: {self.keys[dotted]} and {loc}", loc, problems)
            return
        node[path[-1]] = value
        self.keys[dotted] = loc

    def conflict(self, message: str, loc: Loc, problems: list[Problem]) -> None:
        problems.append(WorkbookProblem(str(self.path), message, column="key", sheet=loc.sheet, row=loc.row,
                                        letter="A" if loc.sheet != f.SCENARIOS else "B", key=loc.key))

    def locate(self, p: Problem) -> Problem:
        """``p`` at the sheet, row and column its file and line (or dotted key) stand for."""
        if isinstance(p, WorkbookProblem) or not p.file.startswith(str(self.path) + "/"):
            return p
        sheet = f.FILE_SHEETS.get(p.file[len(str(self.path)) + 1:])
        if sheet is None:
            return p
        message = self.locate_text(p.message)
        if sheet == f.SETTINGS:
            return self.locate_key(p, message)
        header = self.headers.get(sheet, [])
        row = p.line if p.line is not None else self.rows.get(sheet, {}).get(p.region or "")
        if row is None and message.startswith("has no "):
            row = 2   # the first row below the header, where the rows should be
        column, letter = p.column, None
        if column in header:
            letter = f.column_letter(header.index(column))
        elif column is None and p.line is not None and message.startswith("has "):
            column = letter = f.column_letter(len(header))   # a cell past the header
        return WorkbookProblem(str(self.path), message, column=column, region=p.region, sheet=sheet, row=row,
                               letter=letter)

    def locate_key(self, p: Problem, message: str) -> Problem:
        """A settings problem at the row of its key (or the nearest table above it)."""
        key = p.column or ""
        while key and key not in self.keys:
            key = key.rsplit(".", 1)[0] if "." in key else ""
        if not key:   # a key no sheet gives (a required key left out): the row to add it in
            free = len(self.sheets.get(f.SETTINGS, [])) + 1
            return WorkbookProblem(str(self.path), message + (f" (no row has key '{p.column}')" if p.column else ""),
                                   column="key", sheet=f.SETTINGS, row=free, letter="A")
        loc = self.keys[key]
        return WorkbookProblem(str(self.path), message, column="value", sheet=loc.sheet, row=loc.row,
                               letter=loc.letter, key=loc.key)

    def locate_text(self, text: str) -> str:
        """A message or notice with the workbook's sheets in place of the folder's files."""
        text = text.replace(f"{self.path / REGIONS_FILE}:", f"{self.path}, sheet '{f.REGIONS}':")
        for name, sheet in f.FILE_SHEETS.items():
            text = text.replace(name, f"sheet '{sheet}'")
        return text


STAND_IN = re.compile(r"(.+?\.xls[xm])/(instance\.toml|regions\.csv|groups\.csv|services\.csv)(.*)$", re.I)


def relocate(problems: list[Problem]) -> list[Problem]:
    """Problems found after loading (a scenario applied, a flag merged: io/checks.py) name a
    workbook's stand-in files (``book.xlsx/regions.csv (after scenario 's')``); these are put
    at the sheet, row and column instead, with what the file name added kept as a note."""
    books: dict[str, WorkbookSource] = {}
    out = []
    for p in problems:
        m = STAND_IN.match(p.file)
        if m is None or isinstance(p, WorkbookProblem):
            out.append(p)
            continue
        if m.group(1) not in books:
            book = books[m.group(1)] = WorkbookSource(Path(m.group(1)))
            scratch: list[Problem] = []
            book.settings(scratch)
            for name in f.TABLE_SHEETS.values():
                book.table(name, scratch, optional=True)
        q = books[m.group(1)].locate(dataclasses.replace(p, file=str(Path(m.group(1)) / m.group(2))))
        note = m.group(3).strip(" ,")
        if note:
            q = dataclasses.replace(q, message=f"{q.message} {note if note.startswith('(') else f'({note})'}")
        out.append(q)
    return out
