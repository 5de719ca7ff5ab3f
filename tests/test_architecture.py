"""The architecture is checked, not hoped for (docs/architecture.md).

import-linter (layers, models independent of optimizer, no cycles, one highspy gateway) and
ruff run in `make test` before pytest; this file adds what they cannot see: every module
imports on its own in a fresh interpreter, no private name crosses modules, none of our own
modules is imported inside a function (the way cycles used to be dodged; heavy libraries such
as matplotlib or pyarrow stay lazy on purpose), and modules and functions stay small.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("optimizer", "models")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _resolve(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@pytest.mark.slow
def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    names = [_module_name(p) for p in _sources()]

    def run(name: str) -> tuple[str, int, str]:
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        return name, proc.returncode, proc.stderr.strip().splitlines()[-1:] and proc.stderr.strip().splitlines()[-1]

    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = [(n, err) for n, code, err in pool.map(run, names) if code != 0]
    assert len(names) > 50
    assert not failed, failed


def test_no_private_name_is_imported_across_modules():
    crossings = []
    for path in _sources():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and _resolve(node, path).split(".")[0] in PACKAGES:
                crossings += [f"{path.relative_to(ROOT)}: {_resolve(node, path)}.{a.name}"
                              for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not crossings, crossings


def test_no_import_of_our_own_modules_inside_a_function():
    hidden = []
    for path in _sources():
        for fn in ast.walk(_tree(path)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom):
                    mods = [_resolve(node, path)]
                elif isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                else:
                    continue
                for mod in mods:
                    top = mod.split(".")[0]
                    if top in PACKAGES:
                        hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {mod} in {fn.name}()")
    assert not hidden, hidden


def test_modules_and_functions_stay_small():
    long_modules = [f"{p.relative_to(ROOT)}: {n} lines" for p in _sources()
                    if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    long_functions = []
    for path in _sources():
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() {n} lines")
    assert not long_modules, long_modules
    assert not long_functions, long_functions


def test_highspy_has_one_gateway():
    users = sorted(str(p.relative_to(ROOT)) for p in _sources()
                   if any(isinstance(n, (ast.Import, ast.ImportFrom))
                          and any((a.name if isinstance(n, ast.Import) else (n.module or "")).split(".")[0]
                                  == "highspy" for a in n.names)
                          for n in ast.walk(_tree(p))))
    assert users == ["optimizer/engine/highs.py"]
