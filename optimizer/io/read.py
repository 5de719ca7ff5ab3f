"""The file primitives of every reader: TOML and CSV with their problems reported, and the
digest of an instance folder. An operating-system error (a directory or a FIFO where a file
should be, a symlink loop, permission denied) is a ``Problem`` naming the path and the cause,
never an exception."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from optimizer.core.errors import Problem


def file_digest(folder: Path, names: list[str]) -> str:
    """SHA-256 over the named files of ``folder`` (name and bytes); a file that cannot be read
    counts by its name and the error."""
    h = hashlib.sha256()
    for name in sorted(names):
        try:
            data = read_file_bytes(folder / name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            data = f"unreadable: {exc.strerror}".encode()
        for piece in (name.encode(), b"\0", data, b"\0"):   # not concatenated: no copy of a 50 MB file
            h.update(piece)
    return h.hexdigest()


def read_file_bytes(path: Path) -> bytes:
    """The bytes of a regular file. Raises ``OSError`` (``IsADirectoryError`` for a directory,
    ELOOP for a symlink loop, ...) without blocking on a FIFO or a device: only a regular file
    is opened."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "Is a directory", str(path))
    if not stat.S_ISREG(mode):
        raise OSError(0, "is not a regular file (a FIFO, socket or device)", str(path))
    with open(path, "rb") as fh:
        return fh.read()


def read_problem(path: Path, exc: OSError) -> Problem:
    """The problem of a file that cannot be read: missing, or the operating system's cause."""
    if isinstance(exc, FileNotFoundError):
        return Problem(str(path), "file is missing")
    return Problem(str(path), f"cannot be read: {exc.strerror or exc}")


def read_toml(path: Path, problems: list[Problem]) -> dict[str, Any]:
    try:
        text = read_file_bytes(path).decode("utf-8-sig")
        return tomllib.loads(text.replace("\r\n", "\n").replace("\r", "\n"))  # as open() reads text
    except OSError as exc:
        problems.append(read_problem(path, exc))
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
        raw = read_file_bytes(path)
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        problems.append(read_problem(path, exc))
        return [], []
    except UnicodeDecodeError as exc:
        # the byte offset is where an editor cannot go: name the line and the column too
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(Problem(str(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start}: line {line}, "
                                           f"byte {column} of the line)"))
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
        return header, rows   # one problem: a file that cannot be split is not also "empty"
    if not header:
        problems.append(Problem(str(path), "file is empty; a header row is required"))
    return header, rows
