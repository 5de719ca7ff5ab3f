"""Issue 12, Excel in: an instance can be one .xlsx workbook. Round trips through the real
CLI keep every instance's regions and parsed settings; solving the workbook gives the folder's
allocation.csv byte for byte; every problem of a malformed workbook names the sheet, row and
column where the bad value is (checked by reading that very cell back)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.core.errors import InputError
from optimizer.io.load import load_instance
from optimizer.io.source import FolderSource
from optimizer.io.validation import OPTIONAL_NUMERIC, REQUIRED_COLUMNS
from optimizer.io.workbook_format import cell_text, join_list, split_key, split_list
from optimizer.io.workbook_write import toml_text, workbook_bytes
from tests.conftest import INSTANCES, write_instance

EQUALIZE = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "equalize"
ALL = sorted(p for p in INSTANCES.iterdir() if (p / "instance.toml").exists())
PARSED = ("name", "unit", "description", "year", "sources", "budget", "threshold", "objective",
          "objective_options", "extra_columns", "policy", "groups", "scenarios", "phasing", "service_options")
ROWS = [{"region_id": "a", "name": "A", "population": 100, "own_revenue": 20, "fiscal_need": 100,
         "prior_transfer": 40},
        {"region_id": "b", "name": "B", "population": 200, "own_revenue": 60, "fiscal_need": 100,
         "prior_transfer": 10},
        {"region_id": "c", "name": "C", "population": 100, "own_revenue": 90, "fiscal_need": 100,
         "prior_transfer": 0}]


def cli(*args) -> object:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def same_instance(a, b) -> None:
    pd.testing.assert_frame_equal(a.regions, b.regions)
    for name in PARSED:
        assert getattr(a, name) == getattr(b, name), name
    if a.services is None:
        assert b.services is None
    else:
        pd.testing.assert_frame_equal(a.services.drop(columns="line"), b.services.drop(columns="line"))


@pytest.mark.parametrize("folder", ALL, ids=[p.name for p in ALL])
def test_folder_to_workbook_to_folder_keeps_regions_and_settings(tmp_path, folder):
    book, back = tmp_path / "i.xlsx", tmp_path / "back"
    assert cli("convert", folder, book).exit_code == 0
    assert cli("convert", book, back).exit_code == 0
    original = load_instance(folder)
    same_instance(original, load_instance(book))
    same_instance(original, load_instance(back))
    # the raw settings too: what instance.toml says, key by key (blank values are absent keys)
    raw = tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))
    raw_back = tomllib.loads((back / "instance.toml").read_text(encoding="utf-8"))
    assert raw_back == {k: v for k, v in raw.items() if v not in ("", [])}
    # pass-through cells stay text, exactly as written ("605.20" is not 605.2)
    for col in original.extra_columns:
        assert list(load_instance(back).regions[col]) == list(original.regions[col])


def test_korea_pass_through_cells_are_text_and_numbers_are_numbers(tmp_path):
    book = tmp_path / "k.xlsx"
    assert cli("convert", INSTANCES / "korea-17", book).exit_code == 0
    ws = openpyxl.load_workbook(book)["regions"]
    header = [c.value for c in ws[1]]
    seoul = {h: c.value for h, c in zip(header, ws[2])}
    assert seoul["area_km2"] == "605.20" and seoul["name_ko"] == "서울"
    assert seoul["population"] == 9386034 and seoul["own_revenue"] == 30512.587
    settings = {r[0].value: r[1].value for r in openpyxl.load_workbook(book)["settings"].iter_rows(min_row=2)}
    assert settings["budget.total"] == 59843.956
    scen = openpyxl.load_workbook(book)["scenarios"]
    keys = {(r[0].value, r[1].value): r[2].value for r in scen.iter_rows(min_row=2)}
    assert keys[("busan-gyeongnam-tax-pilot", "regions.busan.own_revenue.scale")] == 1.02
    assert keys[("korean-rules", "policy.hold_harmless")] == 0.7


def solved(instance: Path, out: Path, *args: str) -> bytes:
    res = cli("solve", instance, "--output", out, *args)
    assert res.exit_code == 0, res.output
    return (out / "allocation.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name, args", [("korea-17", ()), ("korea-17", ("-S", "busan-gyeongnam-merger")),
                                        ("korea-17", ("-S", "busan-gyeongnam-tax-pilot")),
                                        ("korea-17", ("-S", "korean-rules")),
                                        ("korea-17", ("-S", "chungcheong-union")),
                                        ("toy-services", ()), ("toy-services", ("--earmarked",))])
def test_solving_the_workbook_gives_the_folders_allocation_byte_for_byte(tmp_path, name, args):
    book = tmp_path / f"{name}.xlsx"
    book.write_bytes(workbook_bytes(FolderSource(INSTANCES / name), []))
    folder_csv = solved(INSTANCES / name, tmp_path / "f", *args)
    assert solved(book, tmp_path / "w", *args) == folder_csv
    assert len(folder_csv.splitlines()) > 3


def test_convert_both_ways_through_the_installed_command(tmp_path):
    book, back = tmp_path / "t.xlsx", tmp_path / "t"
    for src, dst in ((INSTANCES / "toy-3", book), (book, back)):
        res = subprocess.run([EQUALIZE, "convert", src, dst], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and "wrote" in res.stdout, res.stderr
    assert (back / "regions.csv").read_bytes() == (INSTANCES / "toy-3" / "regions.csv").read_bytes()
    res = subprocess.run([EQUALIZE, "convert", INSTANCES / "toy-3", tmp_path / "x"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2 and "one each" in res.stderr and not (tmp_path / "x").exists()


# --- every problem names its sheet, row and column ---------------------------------------------

CELLS = [("population", "1e19"), ("population", "1e-320"), ("population", "0.5"), ("own_revenue", "1e300"),
         ("fiscal_need", "1e-300"), ("fiscal_need", "1e400"), ("prior_transfer", "1e16"), ("threshold", "11"),
         ("weight", "1e300"), ("fiscal_need", "abc"), ("fiscal_need", ""), ("own_revenue", "1_000"),
         ("fiscal_need", "-1"), ("population", "nan"), ("region_id", "a"), ("region_id", "x+y"),
         ("max_transfer", "5"), ("own_revenue", "1e15")]
TOML = ['[policy]\nhold_harmless = 1e300\n', '[policy]\nper_capita_floor = 1e300\n',
        '[phasing]\nneed_growth = 1e308\n', '[phasing]\nyears = 1000\n', '[scenarios.s]\nbudget = 1e300\n',
        '[scenarios.s]\nthreshold = 1e300\n', '[budjet]\ntotal = 5\n', '[objective]\nname = "maxmn"\n',
        '[scenarios.zero.regions.a]\nfiscal_need = 0\n', '[scenarios.s.regions.b]\npopulation = { scale = 0 }\n',
        '[scenarios.s.regions.zz]\nown_revenue = 5\n', '[policy]\nhorizontal_level = 1.2\n',
        '[regions]\nextra_columns = ["nope"]\n', '[scenarios.m]\nmerges = [["a", "q"]]\n',
        '[groups.g]\nmin_level = 0.5\n', 'year = 99999\n', '[objective]\nname = "owa"\nweights = [1, 2]\n']


def folder_and_book(tmp_path: Path, rows: list[dict], toml: str = "") -> tuple[Path, Path]:
    folder = write_instance(tmp_path / "i", rows, budget=60, threshold=0.5, extra_toml="\n" + toml)
    book = tmp_path / "i.xlsx"
    book.write_bytes(workbook_bytes(FolderSource(folder), []))   # the same bad values, unchecked
    return folder, book


def problems_of(path: Path) -> list:
    with pytest.raises(InputError) as err:
        load_instance(path)
    return err.value.problems


def check_located(folder: Path, book: Path) -> None:
    """The workbook reports what the folder reports, each problem at a sheet, row and column,
    and the cell there holds the value the folder's problem names."""
    folder_problems, book_problems = problems_of(folder), problems_of(book)
    assert len(book_problems) == len(folder_problems), (folder_problems, book_problems)
    wb = openpyxl.load_workbook(book)
    csv_lines = (folder / "regions.csv").read_text().splitlines()
    for fp, bp in zip(folder_problems, book_problems):
        text = str(bp)
        assert re.search(r"sheet '\w+', row \d+.*, column '\w+' \([A-Z]+\)", text), text
        assert fp.message.split("(")[0].replace("regions.csv", "sheet 'regions'")[:20] in bp.message, (fp, bp)
        cell = wb[bp.sheet][f"{bp.letter}{bp.row}"].value
        if bp.sheet == "regions":   # the cell at (row, column) is the folder's (line, column)
            assert bp.row == fp.line or fp.line is None
            header = csv_lines[0].split(",")
            given = csv_lines[bp.row - 1].split(",")[header.index(bp.column)]
            assert cell_text(cell) == given or float(cell_text(cell)) == float(given), (cell, given)
        elif bp.key:                # the row holds the key the folder's problem names (or its table)
            ws = wb[bp.sheet]
            head = {"settings": [], "policy": ["policy"], "phasing": ["phasing"],
                    "scenarios": ["scenarios", str(ws[f"A{bp.row}"].value)]}[bp.sheet]
            key = ".".join([*head, *split_key(bp.key)])
            assert ws[f"{'B' if bp.sheet == 'scenarios' else 'A'}{bp.row}"].value == bp.key
            assert fp.column.startswith(key) or key.startswith(fp.column), (fp, bp)
            assert cell is not None


@pytest.mark.parametrize("column, value", CELLS)
def test_bad_cells_are_located_by_sheet_row_and_column(tmp_path, column, value):
    rows = [dict(r) for r in ROWS]
    for r in rows:
        r.setdefault(column, "")
    rows[1][column] = value
    if column == "max_transfer":
        for r in rows:
            r["min_transfer"] = 9 if r is rows[1] else ""
    check_located(*folder_and_book(tmp_path, rows))


@pytest.mark.parametrize("toml", TOML)
def test_bad_settings_are_located_by_sheet_row_and_column(tmp_path, toml):
    check_located(*folder_and_book(tmp_path, [dict(r) for r in ROWS], toml))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 2), column=st.sampled_from(["population", "own_revenue", "fiscal_need", "threshold",
                                                     "prior_transfer", "weight", "region_id"]),
       value=st.one_of(st.sampled_from(["", "abc", "-1", "1e400", "nan", "1_0", "0", "b", "1e16"]),
                       st.floats(allow_nan=False, allow_infinity=False).map(repr)))
def test_any_bad_cell_is_reported_as_for_the_folder_at_its_cell(tmp_path_factory, row, column, value):
    rows = [dict(r) for r in ROWS]
    for r in rows:
        r.setdefault(column, "")
    rows[row][column] = value
    folder, book = folder_and_book(tmp_path_factory.mktemp("h"), rows)
    try:
        load_instance(folder)
    except InputError:
        check_located(folder, book)
    else:
        same_instance(load_instance(folder), load_instance(book))


def test_a_problem_found_when_a_scenario_applies_is_located_in_the_workbook_too(tmp_path):
    """The scenario's min_transfer passes the regions' max_transfer only once it applies (at solve
    time): the folder names regions.csv, the workbook the cell holding that max_transfer."""
    rows = [dict(r, max_transfer=30 if r["region_id"] == "a" else "") for r in ROWS]
    folder, book = folder_and_book(tmp_path, rows, "[scenarios.s.regions.a]\nmin_transfer = 40\n")
    for path in (folder, book):
        res = cli("solve", path, "-S", "s")
        assert res.exit_code == 2 and "max_transfer 30 is below min_transfer 40" in res.stderr
    assert "regions.csv (after scenario 's') (region 'a'), column 'max_transfer'" in cli("solve", folder, "-S",
                                                                                        "s").stderr
    assert "i.xlsx, sheet 'regions', row 2 (region 'a'), column 'max_transfer' (G): max_transfer 30 is below " \
           "min_transfer 40 (after scenario 's')" in res.stderr
    assert openpyxl.load_workbook(book)["regions"]["G2"].value == 30


def test_a_key_in_two_places_names_both(tmp_path):
    _, book = folder_and_book(tmp_path, [dict(r) for r in ROWS], "[policy]\nhold_harmless = 0.5\n")
    wb = openpyxl.load_workbook(book)
    wb["settings"].append(["policy.hold_harmless", 0.7])
    wb.save(book)
    (p,) = problems_of(book)
    assert "'policy.hold_harmless' is given in two places: sheet 'settings', row 6 and sheet 'policy', row 2" in str(p)
    assert "column 'key' (A)" in str(p)


def test_a_required_key_left_out_names_the_row_to_add_it_in(tmp_path):
    _, book = folder_and_book(tmp_path, [dict(r) for r in ROWS])
    wb = openpyxl.load_workbook(book)
    ws = wb["settings"]
    (unit_row,) = [r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == "unit"]
    ws.delete_rows(unit_row)
    wb.save(book)
    (p,) = problems_of(book)
    assert str(p).endswith(f"sheet 'settings', row {ws.max_row + 1}, column 'key' (A): required key 'unit' is "
                           "missing (no row has key 'unit')"), str(p)


def test_unknown_sheet_missing_sheet_and_a_damaged_file_are_one_line_each(tmp_path):
    _, book = folder_and_book(tmp_path, [dict(r) for r in ROWS])
    wb = openpyxl.load_workbook(book)
    wb["regions"].title = "Regionz"
    wb.save(book)
    text = "\n".join(map(str, problems_of(book)))
    assert "sheet 'Regionz': unknown sheet; did you mean 'regions'?" in text
    assert "sheet 'regions': the workbook has no such sheet" in text
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    res = cli("validate", tmp_path / "bad.xlsx")
    assert res.exit_code == 2 and "cannot be read as an Excel workbook" in res.stderr
    res = cli("validate", tmp_path / "missing.xlsx")
    assert res.exit_code == 2 and "missing.xlsx: file is missing" in res.stderr


def test_template_documents_every_column_and_fills_in_to_a_solvable_instance(tmp_path):
    t = tmp_path / "t.xlsx"
    res = cli("template", t)
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(t)
    assert wb.sheetnames[0] == "README"
    documented = {(r[0].value, r[1].value) for r in wb["README"].iter_rows(min_row=2)}
    for col in (*REQUIRED_COLUMNS, *OPTIONAL_NUMERIC):
        assert ("regions", col) in documented, col
    assert [c.value for c in wb["regions"][1]][:5] == list(REQUIRED_COLUMNS)
    assert wb["regions"].data_validations.dataValidation, "no data validation on the regions sheet"
    res = cli("validate", t)   # empty: the required keys are missing, each at its row
    assert res.exit_code == 2 and "sheet 'settings', row 2 (key 'name'), column 'value' (B)" in res.stderr
    s = wb["settings"]
    for row in s.iter_rows(min_row=2):
        row[1].value = {"name": "filled", "budget.total": 60, "threshold.level": 0.5,
                        "sources": "made up; for a test"}.get(row[0].value, row[1].value)
    for r in ROWS:
        wb["regions"].append([r.get(c.value) for c in wb["regions"][1]])
    wb.save(t)
    inst = load_instance(t)
    assert inst.name == "filled" and inst.sources == ["made up", "for a test"] and inst.n == 3
    res = cli("solve", t, "--format", "csv")
    assert res.exit_code == 0 and res.stdout.startswith("region_id,")


def test_list_cells_and_dotted_keys_round_trip():
    items = ["plain", "with ; semicolon", 'a "quote"', "한국어"]
    assert split_list(join_list(items)) == items
    assert split_key('scenarios."a.b".budget') == ["scenarios", "a.b", "budget"]
    tree = {"name": "x", "sources": ["a"], "budget": {"total": 1.5}, "scenarios": {"s": {"policy": {"h": 1}}},
            "q.r": {"k": "v\x7f"}}
    assert tomllib.loads(toml_text(tree)) == tree
