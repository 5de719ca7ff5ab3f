"""The file primitives of every reader: TOML and CSV with their problems reported, and the
digest of an instance folder."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from pathlib import Path
from typing import Any

from optimizer.core.errors import Problem


def file_digest(folder: Path, names: list[str]) -> str:
    h = hashlib.sha256()
    for name in sorted(names):
        p = folder / name
        if p.exists():
            h.update(name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def read_toml(path: Path, problems: list[Problem]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        problems.append(Problem(str(path), "file is missing"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), f"is not UTF-8 text ({exc.reason})"))
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f"{m.group(2)}" if m else None
        problems.append(Problem(str(path), f"TOML syntax error: {msg}"
                                + (f" (at column {col})" if col else ""), line))
    return {}


def read_csv_rows(path: Path, problems: list[Problem]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        problems.append(Problem(str(path), "file is missing"))
        return [], []
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    header: list[str] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not header:
                header = [c.strip() for c in cells]
                continue
            if not cells or all(c.strip() == "" for c in cells):
                continue  # blank lines are allowed (Excel leaves them)
            rows.append((line, cells))
    except csv.Error as exc:
        problems.append(Problem(str(path), f"CSV syntax error: {exc}", reader.line_num))
    if not header:
        problems.append(Problem(str(path), "file is empty; a header row is required"))
    return header, rows
