"""Issue 12, Excel out: ``--output NAME.xlsx`` on solve, compare and sweep writes one workbook
whose cells are the very numbers of the CSV outputs (as numbers, with a format per unit),
Korean intact, header frozen; ``--csv-bom`` puts a UTF-8 byte-order mark before every CSV."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.core.result import Result
from optimizer.io.load import load_instance
from optimizer.report.labels_ko import LABELS_KO
from optimizer.report.workbook import solve_workbook
from tests.conftest import INSTANCES

KOREA, TOY = INSTANCES / "korea-17", INSTANCES / "toy-3"
BOM = b"\xef\xbb\xbf"


def cli(*args) -> object:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def sheet_rows(path: Path, sheet: str) -> list[list]:
    return [[c.value for c in row] for row in openpyxl.load_workbook(path)[sheet].iter_rows()]


@pytest.fixture(scope="module")
def korea(tmp_path_factory) -> tuple[Path, Path]:
    """korea-17 solved once into a folder and once into a workbook."""
    tmp = tmp_path_factory.mktemp("korea")
    assert cli("solve", KOREA, "-O", tmp / "run").exit_code == 0
    assert cli("solve", KOREA, "-O", tmp / "k.xlsx").exit_code == 0
    return tmp / "run", tmp / "k.xlsx"


def test_allocation_sheet_holds_the_csv_numbers_as_numbers(korea):
    folder, book = korea
    with open(folder / "allocation.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    rows = sheet_rows(book, "allocation")
    assert rows[0] == table[0]                     # every column, whatever columns it has
    assert len(rows) == len(table) == 18
    numeric = {"population", "own_revenue", "fiscal_need", "prior_transfer", "transfer", "level_after",
               "transfer_per_capita", "threshold_dual", "pop65", "area_km2"}
    for got, want in zip(rows[1:], table[1:]):
        for col, cell, text in zip(table[0], got, want):
            if col in numeric:
                assert isinstance(cell, (int, float)) and not isinstance(cell, bool), (col, cell)
            if isinstance(cell, (int, float)):
                # the same float to openpyxl's 16 significant digits (Excel shows 15)
                assert cell == pytest.approx(float(text), rel=1e-15, abs=0), (col, cell, text)
            elif text:
                assert cell == text, (col, cell, text)
    assert rows[1][table[0].index("name_ko")] == "서울"


def test_formats_per_unit_frozen_header_and_widths(korea):
    _, book = korea
    ws = openpyxl.load_workbook(book)["allocation"]
    header = [c.value for c in ws[1]]
    fmt = {h: ws.cell(row=2, column=j + 1).number_format for j, h in enumerate(header)}
    assert fmt["transfer"] == fmt["own_revenue"] == "#,##0.000"
    assert fmt["level_after"] == fmt["level_before"] == "0.0000"
    assert fmt["population"] == "#,##0"
    assert fmt["area_km2"] == "#,##0.00"            # "605.20" shows as 605.20 and sums as a number
    assert ws.cell(row=2, column=header.index("area_km2") + 1).value == 605.2
    assert ws.freeze_panes == "B2" and ws[1][0].font.bold
    assert ws.column_dimensions["A"].width >= len("chungbuk")


def test_summary_metrics_prices_and_sources_agree_with_the_json(korea):
    folder, book = korea
    summary = json.loads((folder / "summary.json").read_text())
    fields = {r[0]: r[1] for r in sheet_rows(book, "summary")[1:]}
    assert fields["budget"] == summary["budget"] and fields["objective"] == "maxmin"
    assert fields["instance.sha256"] == summary["instance"]["sha256"]
    assert fields["objective_value"] == pytest.approx(summary["objective_value"], abs=1e-12)
    metrics = {r[0]: (r[1], r[2]) for r in sheet_rows(book, "metrics")[1:]}
    for key, before in summary["metrics_before"].items():
        assert metrics[key] == pytest.approx((before, summary["metrics_after"][key]), rel=1e-15)
    prices = sheet_rows(book, "prices")
    assert prices[1][0] == "budget_shadow_price" and prices[1][2] == summary["budget_shadow_price"]
    assert sum(1 for r in prices if r[0] == "threshold_dual") == 17
    sources = [r[1] for r in sheet_rows(book, "sources")[1:]]
    assert sources[0] == "korea-17" and any(s.startswith("ESTIMATE") for s in sources)


def test_lang_ko_gives_korean_headings_and_names(tmp_path):
    book = tmp_path / "ko.xlsx"
    assert cli("solve", KOREA, "-O", book, "--lang", "ko").exit_code == 0
    rows = sheet_rows(book, "allocation")
    assert rows[0][:3] == [LABELS_KO["region_id"], LABELS_KO["name"], LABELS_KO["population"]]
    assert rows[1][:2] == ["seoul", "서울"] and rows[2][1] == "부산"
    assert sheet_rows(book, "metrics")[0][0] == LABELS_KO["metric"]


def test_new_allocation_columns_are_written_whatever_they_are():
    inst = load_instance(TOY)
    alloc = pd.DataFrame({"region_id": ["a", "b"], "name": ["A", "B"], "transfer": [1.5, 2.0],
                          "reason": ["below threshold", "floor"], "threshold_dual": [0.25, 0.0]})
    data = solve_workbook(Result(alloc, {"status": "optimal", "unit": "KRW billion"}), inst)
    ws = openpyxl.load_workbook(io.BytesIO(data))["allocation"]
    assert [c.value for c in ws[1]] == list(alloc.columns)
    assert [c.value for c in ws[2]] == ["a", "A", 1.5, "below threshold", 0.25]
    assert ws["E2"].number_format == "0.000E+00"


def test_compare_and_sweep_workbooks(tmp_path):
    book = tmp_path / "c.xlsx"
    assert cli("compare", TOY, "--objectives", "maxmin,min-cost", "-O", book).exit_code == 0
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["compare", "allocation-maxmin", "allocation-min-cost", "sources"]
    compare = sheet_rows(book, "compare")
    assert [r[0] for r in compare[1:]] == ["(before)", "maxmin", "min-cost"]
    assert compare[2][compare[0].index("min_level")] == pytest.approx(0.7)   # toy-3 by hand: 0.7
    book = tmp_path / "s.xlsx"
    assert cli("sweep", TOY, "-b", "0.5x:1x:3", "-O", book).exit_code == 0
    frontier = sheet_rows(book, "frontier")
    assert [r[frontier[0].index("budget")] for r in frontier[1:]] == [30, 45, 60]
    assert [r[frontier[0].index("min_level")] for r in frontier[1:]] == pytest.approx([0.5, 0.625, 0.7])
    assert len(sheet_rows(book, "allocations")) == 1 + 3 * 3


def test_csv_bom_on_solve_compare_and_sweep(tmp_path):
    runs = {"solve": (["solve", TOY], "allocation.csv"), "compare": (["compare", TOY, "--objectives", "maxmin"],
            "compare.csv"), "sweep": (["sweep", TOY, "-b", "0.5x:1x:2"], "frontier.csv")}
    for name, (args, file) in runs.items():
        assert cli(*args, "-O", tmp_path / name).exit_code == 0
        assert cli(*args, "-O", tmp_path / f"{name}-bom", "--csv-bom").exit_code == 0
        plain, marked = (tmp_path / name / file).read_bytes(), (tmp_path / f"{name}-bom" / file).read_bytes()
        assert marked[:3] == BOM and plain[:3] != BOM
        same = plain if name == "solve" else plain.splitlines()[0]   # compare and sweep time their solves
        assert marked[3:3 + len(same)] == same and len(marked.splitlines()) == len(plain.splitlines())
    res = cli("solve", KOREA, "--format", "csv", "--csv-bom")
    assert res.stdout_bytes.startswith(BOM) and "서울" in res.stdout


def test_infeasible_writes_the_diagnosis_into_the_workbook(tmp_path):
    book = tmp_path / "inf.xlsx"
    res = cli("solve", TOY, "-b", "1", "-o", "min-cost", "-O", book)
    assert res.exit_code == 1
    fields = {r[0]: r[1] for r in sheet_rows(book, "summary")[1:]}
    assert fields["status"] == "infeasible" and fields["missing_budget"] > 0
    assert "allocation" not in openpyxl.load_workbook(book).sheetnames


def test_a_sheet_beyond_excels_row_limit_is_bad_usage():
    from optimizer.core.errors import UsageError
    from optimizer.report.workbook import MAX_ROWS, workbook_bytes

    with pytest.raises(UsageError, match="Excel holds 1,048,575"):
        workbook_bytes({"allocations": pd.DataFrame({"point": range(MAX_ROWS + 1)})})


def test_workbook_written_atomically_and_plot_needs_a_folder(tmp_path):
    book = tmp_path / "k.xlsx"
    book.write_bytes(b"previous")
    assert cli("solve", TOY, "-O", book).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["k.xlsx"]       # no temporary file left
    res = cli("compare", TOY, "-O", tmp_path / "c.xlsx", "--plot")
    assert res.exit_code == 2 and "--plot needs an --output folder" in res.stderr
    if os.geteuid() != 0:   # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        res = cli("solve", TOY, "-O", locked / "k.xlsx")
        assert res.exit_code == 1 and "cannot write" in res.stderr
