"""Where an instance's raw parts come from: a folder of files or one workbook.

The loader (optimizer/io/load.py) validates the same raw structures whatever holds them: the
settings as the dict ``tomllib`` gives for instance.toml, and each table (regions.csv,
groups.csv, services.csv) as its header and its rows of text cells, each row with the line
(or sheet row) it came from. A ``Source`` supplies them; ``FolderSource`` reads the files,
``optimizer.io.workbook_read.WorkbookSource`` reads the sheets of a .xlsx workbook. Problems
name ``file(name)``: for a folder the file's path; a workbook maps it to its sheet, row and
column afterwards (``WorkbookSource.locate``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from optimizer.core.errors import Problem
from optimizer.io.read import file_digest, read_csv_rows, read_toml
from optimizer.io.regions_csv import read_regions_fast

Rows = list[tuple[int, list[str]]]
INSTANCE_FILE = "instance.toml"
REGIONS_FILE = "regions.csv"


class Source(Protocol):
    path: Path

    def file(self, name: str) -> str:
        """The name problems give for part ``name`` (instance.toml, regions.csv, ...)."""

    def settings(self, problems: list[Problem]) -> dict[str, Any] | None:
        """The settings as instance.toml's dict; None (and a problem) when unreadable."""

    def table(self, name: str, problems: list[Problem], optional: bool = False) -> tuple[list[str], Rows] | None:
        """(header, rows) of a table; None when an optional table is absent. A required table
        that is absent or unreadable is a problem and ([], [])."""

    def fast_regions(self) -> tuple[list[str], pd.DataFrame] | None:
        """The regions frame read vectorised (large plain files only), else None."""

    def digest(self) -> str:
        """SHA-256 of the input, for summary.json."""

    def default_name(self) -> str:
        """The instance name when the settings give none."""


class FolderSource:
    """An instance folder: instance.toml, regions.csv, optional groups.csv and services.csv."""

    def __init__(self, folder: Path):
        self.path = Path(folder)

    def file(self, name: str) -> str:
        return str(self.path / name)

    def settings(self, problems: list[Problem]) -> dict[str, Any] | None:
        n0 = len(problems)
        raw = read_toml(self.path / INSTANCE_FILE, problems)
        return raw if len(problems) == n0 else None

    def table(self, name: str, problems: list[Problem], optional: bool = False) -> tuple[list[str], Rows] | None:
        path = self.path / name
        if optional and not os.path.lexists(path):   # a broken link or a loop is read (and reported)
            return None
        return read_csv_rows(path, problems)

    def fast_regions(self) -> tuple[list[str], pd.DataFrame] | None:
        return read_regions_fast(self.path / REGIONS_FILE)

    def digest(self) -> str:
        return file_digest(self.path, [p.name for p in self.path.iterdir() if p.is_file()
                                       and p.suffix in (".toml", ".csv")])

    def default_name(self) -> str:
        return self.path.name
