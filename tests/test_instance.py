"""Bad input: every problem reported at once, with file, line and column; exit 2 from
the CLI with no traceback and no output files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.core.errors import InputError
from optimizer.io.load import load_instance
from tests.conftest import write_instance

GOOD = [
    {"region_id": "a", "name": "A", "population": 100, "own_revenue": 20, "fiscal_need": 100},
    {"region_id": "b", "name": "B", "population": 200, "own_revenue": 60, "fiscal_need": 100},
]


def problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_instance(folder)
    return [str(p) for p in exc.value.problems]


def with_cell(tmp_path, column, value, row=1):
    rows = [dict(r) for r in GOOD]
    rows[row][column] = value
    return write_instance(tmp_path / "i", rows)


@pytest.mark.parametrize("column,value,fragment", [
    ("fiscal_need", "abc", "'abc' is not a number"),
    ("fiscal_need", "nan", "is NaN"),
    ("own_revenue", "inf", "is infinite"),
    ("own_revenue", "-5", "must be >= 0, got -5"),
    ("fiscal_need", "0", "must be > 0, got 0"),
    ("population", "-1", "must be > 0, got -1"),
    ("population", "", "is empty"),
    ("fiscal_need", "1_000", "'1_000' is not a number"),
])
def test_bad_cell_names_file_line_column(tmp_path, column, value, fragment):
    msgs = problems(with_cell(tmp_path, column, value))
    assert len(msgs) == 1
    assert "regions.csv, line 3 (region 'b')" in msgs[0]
    assert f"column '{column}'" in msgs[0] and fragment in msgs[0]


def test_all_problems_reported_at_once(tmp_path):
    rows = [dict(r) for r in GOOD] + [{"region_id": "a", "name": "dup", "population": 0,
                                        "own_revenue": "x", "fiscal_need": -1}]
    msgs = problems(write_instance(tmp_path / "i", rows))
    assert len(msgs) == 4
    assert any("duplicate id 'a' (first on line 2)" in m for m in msgs)
    assert sum("line 4" in m for m in msgs) == 4


def test_missing_files_and_columns(tmp_path):
    assert "instance folder does not exist" in problems(tmp_path / "nowhere")[0]
    folder = write_instance(tmp_path / "i", GOOD)
    (folder / "regions.csv").unlink()
    assert any("regions.csv: file is missing" in m for m in problems(folder))
    folder = write_instance(tmp_path / "j", GOOD, header=["region_id", "name", "population", "own_revenue"])
    assert any("column 'fiscal_need': required column is missing" in m for m in problems(folder))


def test_toml_errors(tmp_path):
    folder = write_instance(tmp_path / "i", GOOD)
    (folder / "instance.toml").write_text('name = "x"\nunit = "u"\n[budget]\ntotal = = 3\n')
    msgs = problems(folder)
    assert len(msgs) == 1 and "instance.toml, line 4: TOML syntax error" in msgs[0]
    (folder / "instance.toml").write_text('name = "x"\nunit = 3\n[budget]\ntotal = "lots"\n'
                                          '[threshold]\nlevel = -1\n[objective]\nname = "nope"\n')
    msgs = problems(folder)
    assert any("'unit' must be a string" in m for m in msgs)
    assert any("'budget.total' must be a number, got str" in m for m in msgs)
    assert any("'threshold.level' must be >= 0" in m for m in msgs)
    assert any("unknown objective 'nope'" in m for m in msgs)


def test_ragged_row_and_bounds(tmp_path):
    folder = write_instance(tmp_path / "i", GOOD)
    with open(folder / "regions.csv", "a") as fh:
        fh.write("c,C,5\n")
    assert any("line 4: has 3 fields, the header has 5" in m for m in problems(folder))
    rows = [dict(r, min_transfer=10, max_transfer=5) for r in GOOD]
    assert any("max_transfer 5 is below min_transfer 10" in m for m in problems(write_instance(tmp_path / "k", rows)))


def test_bom_and_unknown_columns(tmp_path):
    rows = [dict(r, province_code=f"P{i}") for i, r in enumerate(GOOD)]
    folder = write_instance(tmp_path / "i", rows)
    raw = (folder / "regions.csv").read_bytes()
    (folder / "regions.csv").write_bytes(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"))
    inst = load_instance(folder)
    assert list(inst.regions.region_id) == ["a", "b"]
    assert inst.extra_columns == ["province_code"]
    assert any("passing through unknown columns: province_code" in n for n in inst.notices)


def test_cli_bad_input_exit_2_no_traceback_no_output(tmp_path):
    folder = with_cell(tmp_path, "fiscal_need", "abc")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["solve", str(folder), "--output", str(out)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "column 'fiscal_need'" in res.output and "line 3" in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, ["validate", str(folder)])
    assert res.exit_code == 2


def test_cli_bad_options_exit_2(toy3, tmp_path):
    for args in (["--objective", "nope"], ["--budget", "lots"], ["--budget", "-3"]):
        res = CliRunner().invoke(main, ["solve", str(toy3), *args, "--output", str(tmp_path / "o")])
        assert res.exit_code == 2, args
        assert "Traceback" not in res.output
        assert not (tmp_path / "o").exists()


def test_badly_scaled_needs_get_a_notice_and_never_a_wrong_answer(tmp_path):
    from click.testing import CliRunner as Runner

    rows = [{"region_id": "a", "name": "A", "population": 1000000, "own_revenue": 3e13, "fiscal_need": 4e13},
            {"region_id": "b", "name": "B", "population": 20, "own_revenue": 1e6, "fiscal_need": 9e12},
            {"region_id": "c", "name": "C", "population": 5, "own_revenue": 0.5, "fiscal_need": 1}]
    folder = write_instance(tmp_path / "i", rows, budget=5e13, threshold=0.9)
    inst = load_instance(folder)
    assert any("fiscal_need spans 4e+13x" in n for n in inst.notices)
    res = Runner().invoke(main, ["solve", str(folder), "-o", "min-cost"])
    # either a solution that passed the check on the original data, or an honest exit 1
    assert res.exit_code in (0, 1) and "Traceback" not in res.output
    if res.exit_code == 1:
        assert "fails the check on the original data" in res.output


SHIPPED = sorted(p.parent for p in (Path(__file__).resolve().parents[1] / "instances").glob("*/instance.toml"))


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_instances_load_without_notices(folder):
    # the Korean instances' name_ko, pop65, area_km2 are data, not a problem: declared in
    # [regions] extra_columns they pass through without a notice on every run
    inst = load_instance(folder)
    assert inst.notices == []


def _korea_copy(tmp_path, regions_table: str) -> Path:
    import shutil

    korea = Path(__file__).resolve().parents[1] / "instances" / "korea-17"
    for name in ("instance.toml", "regions.csv", "groups.csv"):
        shutil.copy(korea / name, tmp_path / name)
    text = (tmp_path / "instance.toml").read_text(encoding="utf-8")
    text = re.sub(r"\[regions\]\nextra_columns = \[[^]]*\]\n", "", text)  # drop the shipped declaration
    (tmp_path / "instance.toml").write_text(regions_table + text, encoding="utf-8")
    return tmp_path


def test_declared_extra_columns_pass_silently_undeclared_keep_the_notice(tmp_path):
    inst = load_instance(_korea_copy(tmp_path, 'regions = { extra_columns = ["name_ko"] }\n'))
    assert [n.split(": ", 1)[1] for n in inst.notices] == ["passing through unknown columns: pop65, area_km2"]
    assert inst.extra_columns == ["name_ko", "pop65", "area_km2"]   # all still pass through


@pytest.mark.parametrize("table, fragment", [
    ('regions = { extra_columns = "name_ko" }\n', "'regions.extra_columns' must be a list of column names"),
    ('regions = { extra_columns = ["name_ko", 3] }\n', "'regions.extra_columns' must be a list of column names"),
    ('regions = { extra_columns = ["name_ko", "nope"] }\n', "names columns that regions.csv does not have: nope"),
    ('regions = { columns = ["name_ko"] }\n', "unknown regions key 'columns'"),
    ('regions = 1\n', "[regions] must be a table"),
])
def test_extra_columns_declaration_is_validated(tmp_path, table, fragment):
    found = problems(_korea_copy(tmp_path, table))
    assert any(fragment in p and "instance.toml" in p for p in found), found
