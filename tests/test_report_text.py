"""The one text-table layout, and the CLI modules importing on their own (no cycles)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from optimizer.report.text import text_table

CLI_MODULES = ["common", "solve", "validate", "objectives", "generate", "scenarios", "compare", "sweep", "batch"]


def test_text_table_layout():
    lines = text_table(["name", "value"], [["a", "1.0"], ["long name", "22.5"]], right={1},
                       totals=[["TOTAL", "23.5"]])
    assert lines == ["name       value",
                     "---------  -----",
                     "a            1.0",
                     "long name   22.5",
                     "---------  -----",
                     "TOTAL       23.5"]


def test_unmeasured_rows_do_not_widen_columns():
    lines = text_table(["a", "b"], [["x", "1"], ["... a long note", ""]], right={1},
                       measured=lambda row: not row[0].startswith("..."))
    assert lines[0] == "a  b" and lines[3] == "... a long note   "


@pytest.mark.parametrize("module", CLI_MODULES)
def test_each_cli_module_imports_in_a_fresh_interpreter(module):
    proc = subprocess.run([sys.executable, "-c", f"import optimizer.cli.{module}"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
