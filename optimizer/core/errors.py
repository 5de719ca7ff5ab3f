"""Every way an input or a solve can fail, as data the CLI turns into one-line messages."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    message: str
    line: int | None = None      # 1-based line in the file (header = line 1)
    column: str | None = None
    region: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.region:
            where += f" (region '{self.region}')"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class EqualizeError(Exception):
    """Base class: anything the CLI reports without a traceback."""


class BadInputError(EqualizeError):
    """Bad input from any source: a file (``InputError``) or an option (``UsageError``).
    The Python API's callers catch this one type; its message is the CLI's (exit code 2)."""


class InputError(BadInputError):
    """All problems found in an input, reported together (exit code 2)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(BadInputError):
    """A bad option value (exit code 2)."""


class InfeasibleError(EqualizeError):
    """Hard constraints cannot all hold (exit code 1); carries the diagnosis."""

    def __init__(self, message: str, summary: dict):
        self.summary = summary
        super().__init__(message)


class SolverError(EqualizeError):
    """HiGHS stopped without an optimal solution for another reason (exit code 1)."""


class WriteError(EqualizeError, OSError):
    """An output file or folder could not be written (exit code 1). The message names the path
    and the operating system's cause; the output folder still holds the previous complete run.
    Also an ``OSError``, so code that caught the raw error still catches it."""


def os_error_text(exc: OSError, path: object = None) -> str:
    """``PATH: cause`` for an operating-system error, one line: the path the error names (else
    ``path``) and its strerror (``Permission denied``, ``Is a directory``, ``File too large``)."""
    where = exc.filename if exc.filename is not None else path
    cause = exc.strerror or str(exc) or type(exc).__name__
    target = f" -> {exc.filename2}" if getattr(exc, "filename2", None) is not None else ""
    return f"{where}{target}: {cause}" if where is not None else cause


def nearest(word: object, known, cutoff: float = 0.6) -> str | None:
    """The known name closest to ``word`` (a typo such as 'objectivs'), or None: the one
    suggestion rule of every unknown-key message (files, batch specs, API keywords)."""
    near = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=cutoff)
    return near[0] if near else None
