"""Issue 10, input validation: every value passes the same checks wherever it comes from
(regions.csv, instance.toml, a scenario, a flag, the API), inside the accepted ranges of
optimizer/core/limits.py; bad input is exit 2 with one line per problem naming where it is,
never a traceback, never inf/nan or an overflowed integer in an output. Each test failed
before the fix (the failure it showed is in its docstring)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.core.errors import BadInputError, InputError
from optimizer.io.load import load_instance
from tests.conftest import INSTANCES, write_instance

TOY = INSTANCES / "toy-3"
EQUALIZE = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "equalize"
ROWS = [{"region_id": "a", "name": "A", "population": 100, "own_revenue": 20, "fiscal_need": 100,
         "prior_transfer": 40},
        {"region_id": "b", "name": "B", "population": 200, "own_revenue": 60, "fiscal_need": 100,
         "prior_transfer": 10},
        {"region_id": "c", "name": "C", "population": 100, "own_revenue": 90, "fiscal_need": 100,
         "prior_transfer": 0}]


def cli(*args: str):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    return res


def bad(*args: str, fragments: tuple[str, ...] = ()) -> str:
    """Exit 2, every stderr line an 'error:' line (or the count), each fragment present."""
    res = cli(*args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") or "problem(s) found" in ln for ln in lines), lines
    for f in fragments:
        assert f in res.stderr, (f, res.stderr)
    return res.stderr


def toy_with(tmp_path: Path, toml_extra: str = "", rows: list[dict] | None = None, **kw) -> Path:
    return write_instance(tmp_path / "i", rows or [dict(r) for r in ROWS], budget=kw.get("budget", 60),
                          threshold=kw.get("threshold", 0.5), extra_toml=toml_extra)


def finite_outputs(stdout: str) -> None:
    """A solved CSV on stdout has no inf, nan or negative integer overflow."""
    for word in ("inf", "nan", "-9223372036854775808"):
        assert word not in stdout.lower(), stdout


# --- class 1: overrides pass the same validation as the files -------------------------------

def test_scenario_override_to_zero_need_is_exit_2_at_validate_and_solve(tmp_path):
    """Before: `validate` said ok and `solve --scenario` failed inside HiGHS."""
    folder = toy_with(tmp_path, '\n[scenarios.zero.regions.a]\nfiscal_need = 0\n')
    for cmd in (["validate", folder], ["solve", folder, "--scenario", "zero"]):
        bad(*cmd, fragments=("scenarios.zero.regions.a.fiscal_need", "fiscal_need = 0"))


@pytest.mark.parametrize("override", ["population = { scale = 0 }", "population = { scale = 1e-30 }",
                                      "population = 1e19", "own_revenue = { add = 1e300 }",
                                      "threshold = 1e9", "weight = -1", "max_transfer = { add = -50 }"])
def test_scenario_region_overrides_obey_the_ranges_of_regions_csv(tmp_path, override):
    """Before: population scaled to 0 wrote per-capita 'inf' with exit 0."""
    folder = toy_with(tmp_path, f'\n[scenarios.s.regions.b]\n{override}\n')
    bad("validate", folder, fragments=("scenarios.s.regions.b.",))


def test_scenario_min_transfer_above_max_is_caught_after_it_applies(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[0]["max_transfer"] = 30
    for r in rows[1:]:
        r["max_transfer"] = ""
    folder = toy_with(tmp_path, '\n[scenarios.s.regions.a]\nmin_transfer = 40\n', rows=rows)
    bad("solve", folder, "--scenario", "s", fragments=("after scenario 's'", "below min_transfer"))


@pytest.mark.parametrize("flags, fragment", [
    (["--hold-harmless", "nan"], "--hold-harmless: must be a finite number"),
    (["--horizontal-level", "1.0"], "needs both 'horizontal_level' and 'horizontal_share'"),
    (["--horizontal-share", "0.5"], "needs both"),
    (["--equalization-standard", "0.9"], "'equalization_standard' needs 'equalization_rate'"),
    (["--per-capita-floor", "5", "--per-capita-cap", "1"], "is below 'per_capita_floor'"),
    (["--threshold", "nan"], "--threshold"),
    (["--threshold", "1e9"], "--threshold"),
])
def test_policy_flags_are_checked_on_the_merged_policy(flags, fragment):
    """Before: nan gave a false 'infeasible' (exit 1); a level without its share was dropped."""
    bad("solve", TOY, *flags, fragments=(fragment,))


def test_policy_needing_a_partner_may_find_it_in_another_layer(tmp_path):
    """A scenario's policy is checked merged over [policy] (a horizontal_share in the scenario
    completes [policy]'s horizontal_level); flags merged over both."""
    folder = toy_with(tmp_path, '\n[policy]\nhorizontal_level = 1.2\n'
                                '[scenarios.h]\npolicy = { horizontal_share = 0.5 }\n')
    bad("validate", folder, fragments=("policy.horizontal_level", "needs both"))   # the base round alone
    both = '[scenarios.both]\npolicy = { horizontal_share = 0.5, horizontal_level = 1.2 }\n'
    folder = toy_with(tmp_path / "ok", '\n[scenarios.h]\npolicy = { horizontal_share = 0.5 }\n' + both)
    bad("validate", folder, fragments=("scenarios.h.policy.horizontal_share",))
    folder = toy_with(tmp_path / "ok2", "\n" + both)
    assert cli("validate", folder).exit_code == 0
    assert cli("solve", folder, "--scenario", "both", "--format", "csv").exit_code == 0
    assert cli("solve", folder, "--horizontal-level", "1.2", "--horizontal-share", "0.5",
               "--format", "csv").exit_code == 0
    bad("solve", folder, "--scenario", "both", "--horizontal-level", "nan", fragments=("--horizontal-level",))


def test_api_options_pass_the_same_checks():
    from optimizer import solve

    with pytest.raises(BadInputError, match="needs both"):
        solve(TOY, horizontal_level=1.0)
    with pytest.raises(BadInputError, match="breakpoints"):
        solve(TOY, objective="log-welfare", breakpoints="many")
    with pytest.raises(BadInputError, match="--budget"):
        solve(TOY, budget=1e25)


# --- class 2: numbers out of range ------------------------------------------------------------

@pytest.mark.parametrize("column, value, fragment", [
    ("population", "1e19", "must be at most 1e+10"),
    ("population", "1e-320", "must be at least 1"),
    ("population", "0.5", "must be at least 1"),
    ("own_revenue", "1e300", "must be at most 1e+15"),
    ("fiscal_need", "1e-300", "must be at least 1e-09"),
    ("fiscal_need", "1e400", "is infinite"),
    ("prior_transfer", "1e16", "must be at most 1e+15"),
    ("threshold", "11", "must be at most 10"),
    ("weight", "1e300", "must be at most 1e+15"),
])
def test_cells_out_of_range_are_exit_2_naming_line_and_column(tmp_path, column, value, fragment):
    """Before: population 1e19 was written as -9223372036854775808, 1e-320 gave 'inf'."""
    rows = [dict(r) for r in ROWS]
    for r in rows:
        r.setdefault(column, "")
    rows[1][column] = value
    err = bad("validate", toy_with(tmp_path, rows=rows), fragments=(fragment,))
    assert "regions.csv, line 3 (region 'b')" in err and f"column '{column}'" in err


def test_amounts_far_above_the_median_need_and_huge_need_spreads_are_exit_2(tmp_path):
    """Before: own revenue 1e300 with need 1e-300 wrote 'inf' levels."""
    rows = [dict(r) for r in ROWS]
    rows[2]["own_revenue"] = 1e15
    bad("validate", toy_with(tmp_path, rows=rows), fragments=("x the median fiscal_need", "region 'c'"))
    rows = [dict(r) for r in ROWS]
    rows[0]["fiscal_need"], rows[1]["fiscal_need"], rows[2]["fiscal_need"] = 1e-9, 1e-9, 1e7
    bad("validate", toy_with(tmp_path / "s", rows=rows), fragments=("fiscal_need spans",))


@pytest.mark.parametrize("args, fragment", [
    (["--budget", "1e25"], "--budget: is 1e+25"),
    (["--budget", "1e13x"], "--budget"),
])
def test_budget_beyond_what_the_lp_represents_is_exit_2(args, fragment):
    """Before: a budget of 1e25 was reported as "HiGHS stopped with status 'unbounded'"."""
    bad("solve", TOY, "-o", "max-mean", *args, fragments=(fragment,))


@pytest.mark.parametrize("toml, fragment", [
    ("[budget]\ntotal = 1e16\n", "budget.total"),
    ("[threshold]\nlevel = 1e9\n", "threshold.level"),
    ("[policy]\nhold_harmless = 1e300\n", "policy.hold_harmless"),
    ("[policy]\nper_capita_floor = 1e300\n", "policy.per_capita_floor"),
    ("[phasing]\nneed_growth = 1e308\n", "phasing.need_growth"),
    ("[phasing]\nyears = 1000\n", "phasing.years"),
    ("[scenarios.s]\nbudget = 1e300\n", "scenarios.s.budget"),
    ("[scenarios.s]\nthreshold = 1e300\n", "scenarios.s.threshold"),
    ("year = 99999999999999999\n", "year"),
])
def test_toml_values_out_of_range_are_exit_2(tmp_path, toml, fragment):
    """Before: need_growth = 1e308 overflowed in a traceback; the others solved absurdities."""
    text = (TOY / "instance.toml").read_text()
    head = toml.split("\n")[0]
    if head in ("[budget]", "[threshold]"):
        text = text.replace("[budget]\ntotal = 60\n" if head == "[budget]" else "[threshold]\nlevel = 0.5\n", "")
        text = toml + text if head != "year" else text
    elif head.startswith("year"):
        text = text.replace("year = 2024\n", toml)
    else:
        text += "\n" + toml
    folder = tmp_path / "i"
    shutil.copytree(TOY, folder)
    (folder / "instance.toml").write_text(text)
    bad("validate", folder, fragments=(fragment,))


def test_growth_at_the_edge_over_many_years_is_exit_2_not_inf(tmp_path):
    """need_growth = 1 over 100 years multiplies needs by 6e29: out of range after growth."""
    folder = tmp_path / "i"
    shutil.copytree(TOY, folder)
    (folder / "instance.toml").write_text((TOY / "instance.toml").read_text() + "\n[phasing]\nneed_growth = 1.0\n")
    bad("solve", folder, "--years", "100", fragments=("[phasing] growth",))


# --- class 3: tracebacks ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "# only a comment\n", "\ufeff", "\n\n"])
def test_empty_or_comment_only_instance_toml_is_exit_2(tmp_path, text):
    """Before: TypeError traceback (float(None))."""
    folder = tmp_path / "i"
    shutil.copytree(TOY, folder)
    (folder / "instance.toml").write_text(text)
    err = bad("validate", folder, fragments=("required key 'name' is missing", "budget.total"))
    assert str(folder / "instance.toml") in err
    bad("solve", folder)


@pytest.mark.parametrize("toml, fragment", [
    ('breakpoints = "ten"', "breakpoints must be an integer"),
    ("breakpoints = 1e400", "breakpoints"),
    ("breakpoints = 10000000", "between 2 and 1000"),
    ("alpha = [1, 2]", "alpha"),
    ('weights = {a = 1}', "weights"),
    ("weights = [1, nan]", "weights"),
    ("thresholds = 3", "thresholds must be one of"),
    ('gini_form = ["chain"]', "gini_form"),
    ("gini_pairwise_max = -1", "gini_pairwise_max"),
    ('gini_jumps = "yes"', "gini_jumps"),
])
def test_objective_options_of_the_wrong_type_are_exit_2_at_load(tmp_path, toml, fragment):
    """Before: ValueError / TypeError tracebacks at solve time."""
    folder = tmp_path / "i"
    shutil.copytree(TOY, folder)
    (folder / "instance.toml").write_text((TOY / "instance.toml").read_text().replace(
        'name = "maxmin"', 'name = "log-welfare"\n' + toml))
    bad("validate", folder, fragments=(fragment, "objective."))


@pytest.mark.parametrize("flags", [["--breakpoints", "10000000"], ["--change-limit", "inf"],
                                    ["--weights", "a,b"], ["--weights", "nan"],
                                   ["--alpha", "nan"], ["--years", "0"]])
def test_objective_flags_out_of_range_are_exit_2_quickly(flags):
    """Before: --breakpoints 10000000 ran for over 300 s on 3 regions."""
    res = cli("solve", TOY, "-o", "log-welfare", *flags)
    assert res.exit_code == 2 and "rror" in res.output


def test_a_batch_with_an_empty_instance_records_bad_input_and_goes_on(tmp_path):
    """Before: the empty instance.toml aborted the whole batch with a traceback."""
    empty = tmp_path / "empty"
    shutil.copytree(TOY, empty)
    (empty / "instance.toml").write_text("# nothing\n")
    spec = tmp_path / "study.toml"
    spec.write_text(f'instances = ["{TOY}", "{empty}"]\nobjectives = ["maxmin"]\n')
    res = cli("batch", spec, "--output", tmp_path / "out", "--jobs", "1")
    assert res.exit_code in (0, 1, 2) and "Traceback" not in res.output


# --- class 4: unknown keys --------------------------------------------------------------------

@pytest.mark.parametrize("toml, fragment", [
    ("[budjet]\ntotal = 1\n", "unknown key 'budjet'; did you mean 'budget'?"),
    ("objectve = 1\n", "did you mean 'objective'?"),
    ("[objectiv]\nname = 'maxmin'\n", "did you mean 'objective'?"),
    ("[budget]\ntotla = 1\n", "did you mean 'total'?"),
    ("[threshold]\nlevle = 1\n", "did you mean 'level'?"),
    ("[objective]\nbreakpionts = 10\n", "did you mean 'breakpoints'?"),
    ("[policy]\nhold_harmles = 0.5\n", "did you mean 'hold_harmless'?"),
    ("[phasing]\nyaers = 2\n", "did you mean 'years'?"),
    ("[services]\nearmaked = true\n", "did you mean 'earmarked'?"),
    ("[regions]\nextra_column = []\n", "did you mean 'extra_columns'?"),
    ("[scenarios.s]\nbugdet = 1\n", "did you mean 'budget'?"),
    ("[scenarios.s.regions.a]\nfiscal_ned = 1\n", "did you mean 'fiscal_need'?"),
])
def test_unknown_keys_are_exit_2_with_the_nearest_known_key(tmp_path, toml, fragment):
    """Before: [budjet] and 'objectve' were ignored silently."""
    folder = tmp_path / "i"
    shutil.copytree(TOY, folder)
    text = (TOY / "instance.toml").read_text()
    if toml.startswith(("[budget]", "[threshold]", "[objective]")):
        section = toml.split("\n")[0]
        text = text.replace(section + "\n", toml)
    elif not toml.startswith("["):
        text = toml + text
    else:
        text += "\n" + toml
    (folder / "instance.toml").write_text(text)
    bad("validate", folder, fragments=(fragment,))


def test_unknown_group_bound_key_names_the_nearest(tmp_path):
    folder = tmp_path / "i"
    shutil.copytree(INSTANCES / "korea-17", folder)
    text = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(text + "\n[groups.chungcheong]\nmin_levle = 0.9\n")
    bad("validate", folder, fragments=("did you mean 'min_level'?",))


# --- class 5: merges never duplicate ids ------------------------------------------------------

def test_plus_is_reserved_in_region_ids(tmp_path):
    """Before: ids a, b, 'a+b' with --merge a,b wrote two rows with id 'a+b'; an id with '+'
    made --merge crash."""
    rows = [dict(r) for r in ROWS]
    rows[2]["region_id"] = "a+b"
    err = bad("validate", toy_with(tmp_path, rows=rows), fragments=("'+'", "reserved"))
    assert "line 4 (region 'a+b')" in err
    bad("solve", tmp_path / "i", "--merge", "a,b")


def test_merging_a_scenario_merged_region_again_works_and_ids_stay_unique(tmp_path):
    folder = toy_with(tmp_path, '\n[scenarios.ab]\nmerges = [["a", "b"]]\n')
    res = cli("solve", folder, "--scenario", "ab", "--merge", "a+b,c", "--format", "csv")
    assert res.exit_code == 0, res.output
    ids = [ln.split(",")[0].strip('"') for ln in res.stdout.splitlines()[1:] if ln]
    assert ids == ["a+b+c"]
    bad("solve", folder, "--scenario", "ab", "--merge", "a,c", fragments=("unknown region 'a'",))


def test_merge_groups_and_scenarios_reject_overlaps():
    korea = INSTANCES / "korea-17"
    bad("solve", korea, "--scenario", "busan-gyeongnam-merger", "--merge-group", "busan-gyeongnam")
    bad("solve", korea, "--merge", "busan,gyeongnam", "--merge", "gyeongnam,ulsan",
        fragments=("already in merge 1",))


def test_merged_id_that_already_exists_is_refused():
    from optimizer.core.errors import UsageError
    from optimizer.prepare.merge import merge_regions

    inst = load_instance(TOY)
    frame = inst.regions.copy()
    frame.loc[2, "region_id"] = "a+b"   # built in Python: the loader would refuse the id
    import dataclasses
    with pytest.raises(UsageError, match="'a\\+b' is already a region id"):
        merge_regions(dataclasses.replace(inst, regions=frame), [["a", "b"]])


# --- the real entry point ---------------------------------------------------------------------

@pytest.mark.skipif(not EQUALIZE.exists(), reason="needs the installed entry point")
def test_entry_point_exit_2_nothing_written(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[0]["population"] = "1e19"
    folder = toy_with(tmp_path, rows=rows)
    out = tmp_path / "out"
    proc = subprocess.run([str(EQUALIZE), "solve", str(folder), "--output", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not out.exists()
    assert "regions.csv, line 2 (region 'a'), column 'population'" in proc.stderr


def test_values_at_the_edges_solve_with_finite_outputs(tmp_path):
    """The largest and smallest accepted values solve (or are infeasible) with finite figures."""
    rows = [{"region_id": "a", "name": "A", "population": 1, "own_revenue": 0, "fiscal_need": 1e15 / 1e6},
            {"region_id": "b", "name": "B", "population": int(1e10), "own_revenue": 1e9, "fiscal_need": 1e9},
            {"region_id": "c", "name": "C", "population": 1, "own_revenue": 0, "fiscal_need": 1e-9 * 1e9}]
    folder = write_instance(tmp_path / "i", rows, budget=1e15, threshold=10.0)
    for obj in ("maxmin", "min-shortfall", "max-mean", "min-cost"):
        res = cli("solve", folder, "-o", obj, "--format", "json")
        assert res.exit_code in (0, 1), res.output
        if res.exit_code == 0:
            payload = json.loads(res.stdout)
            for row in payload["allocation"]:   # (a max/min ratio over a zero level is inf by definition)
                for v in row.values():
                    assert not (isinstance(v, float) and not math.isfinite(v)) and v not in ("inf", "nan"), row
            finite_outputs(json.dumps(payload["allocation"]))


def test_load_errors_are_input_errors_for_the_api(tmp_path):
    folder = tmp_path / "i"
    shutil.copytree(TOY, folder)
    (folder / "instance.toml").write_text("")
    with pytest.raises(InputError):
        load_instance(folder)


def test_validate_checks_the_base_round_as_a_whole(tmp_path):
    """A per-capita floor whose implied transfer is beyond the money range is refused by
    `validate` (the loader runs the round check on the base round), and by `solve` as a flag."""
    rows = [dict(r) for r in ROWS]
    rows[1]["population"] = int(1e10)
    folder = toy_with(tmp_path, "\n[policy]\nper_capita_floor = 1e15\n", rows=rows)
    bad("validate", folder, fragments=("[policy] per_capita_floor", "per person means transfers"))
    plain = toy_with(tmp_path / "p", rows=rows)
    assert cli("validate", plain).exit_code == 0
    bad("solve", plain, "--per-capita-floor", "1e15", fragments=("--per-capita-floor",))


def test_batch_spec_values_pass_the_round_check(tmp_path):
    """A batch run's budget and threshold meet the same checks as the CLI's: values out of range
    for an instance are rows with status bad_input and a message naming the value, the batch
    goes on. An objective option is the same for every instance, so a bad one is refused when
    the spec is read (exit 2, naming the key), before any run."""
    import pandas as pd

    spec = tmp_path / "study.toml"
    spec.write_text(f'instances = ["{TOY}"]\nobjectives = ["maxmin"]\n'
                    '[sweep]\nbudget = [60, 1e25]\nthreshold = [0.5, 1e9]\n')
    res = cli("batch", spec, "--output", tmp_path / "out", "--jobs", "1")
    assert res.exit_code in (0, 1), res.output
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    ok = runs[(runs["budget"] == 60) & (runs["threshold"] == 0.5)]
    assert len(ok) == 1 and (ok["status"] == "optimal").all()
    bad_runs = runs[runs["status"] != "optimal"]
    assert len(bad_runs) == len(runs) - 1 and set(bad_runs["status"]) == {"bad_input"}
    msgs = " ".join(bad_runs["message"].astype(str))
    assert "--budget" in msgs and "--threshold" in msgs
    spec.write_text(f'instances = ["{TOY}"]\nobjectives = [{{ name = "log-welfare", breakpoints = 1e7 }}]\n')
    res = cli("batch", spec, "--output", tmp_path / "out2", "--jobs", "1")
    assert res.exit_code == 2 and "breakpoints" in res.output and not (tmp_path / "out2").exists()
