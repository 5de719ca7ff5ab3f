"""Helpers of the output-folder tests: run the installed CLI, classify a folder after a kill."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

EXE = Path(sys.executable).with_name("equalize")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def equalize(*args, timeout: float = 600, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*(prefix or []), str(EXE), *[str(a) for a in args]], capture_output=True, text=True,
                          timeout=timeout)


def snapshot(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 of every regular file in ``folder`` (hidden ones included)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def visible(snap: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in snap.items() if not k.startswith(".")}


def can_drop_root() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


@contextlib.contextmanager
def world_dir() -> Iterator[Path]:
    """A fresh folder that an unprivileged user can reach (pytest's tmp_path is 0700 for root)."""
    folder = Path(tempfile.mkdtemp(prefix="equalize-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]
