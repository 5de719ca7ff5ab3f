"""Issue 10, property tests: malformed instance files, scenario overrides and option values,
generated at and beyond the edges of the accepted ranges (optimizer/core/limits.py), through
the real CLI (click's runner, in process). Whatever the input: no traceback, exit 0, 1 or 2
only; exit 2 prints one 'error:' line per problem naming the file or the flag; a solved round
writes no inf, nan or overflowed integer."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main

HEADER = ["region_id", "name", "population", "own_revenue", "fiscal_need", "threshold", "prior_transfer",
          "min_transfer", "max_transfer", "weight"]
BASE = [["a", "Alpha", "100", "20", "100", "", "40", "", "", ""],
        ["b", "Beta", "200", "60", "100", "", "10", "", "", ""],
        ["c", "Gamma", "100", "90", "100", "0.4", "0", "0", "80", ""]]
TOML = {"name": "fz", "unit": "KRW billion", "year": 2024, "budget": {"total": 60.0},
        "threshold": {"level": 0.5}, "objective": {"name": "maxmin"}}

EDGE_TEXT = ["", " ", "abc", "nan", "NaN", "inf", "-inf", "-0", "0", "1e400", "-1e400", "1e-400", "1e308",
             "1e-320", "1e19", "1e16", "1e15", "1e10", "1e-9", "1e-10", "9223372036854775808", "1_000",
             "0x10", "+3", " 7 ", "1,5", '"5"', "a+b", "\u00a0", "1e15x"]
EDGE_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 1e-320, 1e-300, 1e-9, 1e9, 1e10, 1e12, 1e15, 1e15 + 1, 1e16, 1e19,
                     1e25, 1e300, -1.0, 10.0, 10.000001, 0.5, 100.0]))
CELL = st.one_of(st.sampled_from(EDGE_TEXT), EDGE_FLOATS.map(repr), st.integers(-2**70, 2**70).map(str))
KEYS = ["name", "unit", "year", "sources", "budget", "threshold", "objective", "policy", "phasing",
        "scenarios", "regions", "services", "groups", "budjet", "objectve", "treshold", "total", "level",
        "alpha", "breakpoints", "weights", "hold_harmless", "horizontal_level", "need_growth", "years"]
TOML_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), EDGE_FLOATS,
              st.sampled_from(["", "x", "maxmin", "log-welfare", "1.2x", "nan", "hard", "chain"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6)


# --- a TOML writer for the generated documents (the subset they use) --------------------------

def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if abs(v) < 2**63 else f'"{v}"'
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {toml_value(x)}' for k, x in v.items() if x is not None) + " }"
    raise TypeError(v)


def toml_text(doc: dict, prefix: str = "") -> str:
    scalars = [f'"{k}" = {toml_value(v)}' for k, v in doc.items() if v is not None and not isinstance(v, dict)]
    out = ("\n".join(scalars) + "\n") if scalars else ""
    for k, v in doc.items():
        if isinstance(v, dict):
            name = f'{prefix}"{k}"'
            out += f"\n[{name}]\n" + toml_text(v, name + ".")
    return out


# --- running the CLI ---------------------------------------------------------------------------

def run(args: list[str]):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), (args, repr(res.exception))
    assert "Traceback" not in res.output, res.output
    assert res.exit_code in (0, 1, 2), (args, res.exit_code, res.output)
    if res.exit_code == 2:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("notice: ")]
        assert lines, res.output
        click_usage = lines[0].startswith("Usage:")   # click's own option parsing (a flag's type)
        if not click_usage:
            for ln in lines:
                assert ln.startswith("error: ") or ln.endswith("problem(s) found; nothing was solved or written."), ln
                if ln.startswith("error: "):
                    assert ".toml" in ln or ".csv" in ln or "--" in ln or "merge" in ln or "scenario" in ln, ln
    if res.exit_code == 1:   # infeasible, or a badly scaled LP that was announced by a notice
        assert "infeasible: " in res.stderr or ("solver error: " in res.stderr and "fiscal_need spans" in res.stderr), \
            res.output
    if res.exit_code == 0 and "--format" in args:
        low = res.stdout.lower()
        body = low.split("\n", 1)[1] if "\n" in low else low
        for word in (",inf", ",-inf", ",nan", "-9223372036854775808"):
            assert word not in body, res.stdout
    return res


def write(folder: Path, toml: str, rows: list[list[str]], header=HEADER, bom=False, crlf=False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.toml").write_text(toml, encoding="utf-8")
    nl = "\r\n" if crlf else "\n"
    text = nl.join(",".join(r) for r in [header, *rows]) + nl
    (folder / "regions.csv").write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass"))
    return folder


def check_both(folder: Path, *flags: str) -> None:
    res = run(["validate", folder])
    solved = run(["solve", folder, "--format", "csv", *flags])
    if res.exit_code == 2 and not flags:
        assert solved.exit_code == 2   # what validate refuses, solve refuses too


# EQUALIZE_FUZZ_EXAMPLES=1000 for a longer hunt
FUZZ = settings(max_examples=int(os.environ.get("EQUALIZE_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(HEADER) - 1), CELL), min_size=1, max_size=4),
       shape=st.sampled_from(["plain", "bom", "crlf", "extra", "missing", "dup", "blank", "header"]))
def test_csv_cell_mutations_never_crash(edits, shape):
    rows = [list(r) for r in BASE]
    for i, j, text in edits:
        rows[i][j] = text.replace(",", ";").replace("\n", " ")
    header = list(HEADER)
    if shape == "extra":
        rows[1].append("9")
    elif shape == "missing":
        rows[2].pop()
    elif shape == "dup":
        rows.append(list(rows[0]))
    elif shape == "blank":
        rows.insert(1, [""] * len(header))
    elif shape == "header":
        header[4] = "fiscal_ned"
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "i", toml_text(TOML), rows, header, bom=shape == "bom", crlf=shape == "crlf")
        check_both(folder)


@FUZZ
@given(path=st.lists(st.sampled_from(["budget", "threshold", "objective", "policy", "phasing", "regions",
                                      "services", "scenarios"]), max_size=1),
       key=st.sampled_from(KEYS), value=TOML_VALUE, drop=st.sampled_from([None, "name", "unit", "budget"]))
def test_toml_mutations_never_crash(path, key, value, drop):
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TOML.items()}
    if drop:
        doc.pop(drop)
    node = doc
    for p in path:
        node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else node
    node[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "i", toml_text(doc), BASE)
        check_both(folder)


REGION_FIELD = st.sampled_from(["population", "own_revenue", "fiscal_need", "threshold", "prior_transfer",
                                "min_transfer", "max_transfer", "weight", "fiscal_ned"])
OVERRIDE = st.one_of(EDGE_FLOATS, st.builds(lambda op, x: {op: x}, st.sampled_from(["scale", "add", "mul"]),
                                            EDGE_FLOATS))
POLICY = st.dictionaries(st.sampled_from(["hold_harmless", "change_limit", "change_limit_abs", "per_capita_floor",
                                          "per_capita_cap", "equalization_rate", "equalization_standard",
                                          "horizontal_level", "horizontal_share", "no_overtaking",
                                          "revenue_share", "merger_guarantee"]),
                         st.one_of(EDGE_FLOATS, st.booleans()), max_size=2)


@FUZZ
@given(region=st.sampled_from(["a", "b", "c", "zz"]), overrides=st.dictionaries(REGION_FIELD, OVERRIDE, max_size=2),
       budget=st.one_of(st.none(), EDGE_FLOATS, st.sampled_from(["1e13x", "2x", "0x", "nanx"])),
       threshold=st.one_of(st.none(), EDGE_FLOATS), policy=POLICY,
       merges=st.sampled_from([None, [["a", "b"]], [["a", "a"]], [["a", "b"], ["b", "c"]], [["a"]]]),
       objective=st.sampled_from([None, "maxmin", "min-shortfall", "max-mean", "min-cost", "leximin", "nope"]))
def test_scenario_overrides_never_crash(region, overrides, budget, threshold, policy, merges, objective):
    sc = {"regions": {region: overrides}, "budget": budget, "threshold": threshold, "policy": policy or None,
          "merges": merges, "objective": objective}
    doc = dict(TOML) | {"scenarios": {"s": {k: v for k, v in sc.items() if v is not None}}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "i", toml_text(doc), BASE)
        run(["validate", folder])
        run(["solve", folder, "--scenario", "s", "--format", "csv"])


FLAG_VALUE = st.one_of(st.sampled_from(EDGE_TEXT), EDGE_FLOATS.map(repr))


@FUZZ
@given(flags=st.lists(st.tuples(st.sampled_from(["--hold-harmless", "--change-limit", "--change-limit-abs",
                                                 "--per-capita-floor", "--per-capita-cap", "--equalization-rate",
                                                 "--equalization-standard", "--horizontal-level",
                                                 "--horizontal-share", "--revenue-share", "--budget",
                                                 "--threshold", "--alpha", "--breakpoints", "--weights",
                                                 "--years", "--merge"]), FLAG_VALUE), min_size=1, max_size=3),
       objective=st.sampled_from(["maxmin", "min-shortfall", "max-mean", "cvar", "owa", "log-welfare"]))
def test_flag_values_never_crash(flags, objective):
    args = [x for pair in flags for x in pair]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "i", toml_text(TOML), BASE)
        run(["solve", folder, "-o", objective, "--format", "csv", *args])


NUMBER = st.one_of(
    st.sampled_from([0.0, 1e-9, 1e-6, 1.0, 1e3, 1e9, 1e10, 1e12, 1e14, 1e15, 1e15 * (1 + 1e-15), 1e16, 1e-10,
                     10.0, 10.5, 0.5]),
    st.floats(min_value=0, max_value=2e15, allow_nan=False),
    st.floats(min_value=1e-12, max_value=1e-3))


@FUZZ
@given(cells=st.lists(st.tuples(NUMBER, NUMBER, NUMBER, st.one_of(st.just(""), NUMBER.map(repr))),
                      min_size=1, max_size=5),
       budget=NUMBER, level=st.sampled_from([0.0, 0.5, 1.0, 10.0]),
       objective=st.sampled_from(["maxmin", "min-shortfall", "max-mean", "min-cost", "leximin", "min-gini",
                                  "min-range"]))
def test_numbers_at_and_beyond_the_edges_solve_cleanly_or_exit_2(cells, budget, level, objective):
    rows = [[f"r{i}", f"R{i}", repr(max(1.0, round(p))), repr(o), repr(n), "", t, "", "", ""]
            for i, (p, o, n, t) in enumerate(cells)]
    doc = dict(TOML) | {"budget": {"total": budget}, "threshold": {"level": level}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "i", toml_text(doc), rows)
        res = run(["solve", folder, "-o", objective, "--format", "csv"])
        if res.exit_code == 0:
            assert "inf" not in res.stdout.lower() and "nan" not in res.stdout.lower()


SERVICES = Path(__file__).resolve().parents[1] / "instances" / "toy-services"
KOREA = Path(__file__).resolve().parents[1] / "instances" / "korea-17"


@FUZZ
@given(which=st.sampled_from(["services.csv", "groups.csv"]),
       edits=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5), CELL), min_size=1, max_size=3),
       extra=st.sampled_from([None, "earmarked", "over-services", "merge-group"]))
def test_services_and_groups_csv_mutations_never_crash(which, edits, extra):
    src = SERVICES if which == "services.csv" else KOREA
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "i"
        folder.mkdir()
        for f in src.iterdir():
            if f.is_file():
                (folder / f.name).write_bytes(f.read_bytes())
        lines = (folder / which).read_text(encoding="utf-8").splitlines()
        for i, j, text in edits:
            row = i % len(lines)
            cells = lines[row].split(",")
            cells[j % len(cells)] = text.replace(",", ";").replace("\n", " ")
            lines[row] = ",".join(cells)
        (folder / which).write_text("\n".join(lines) + "\n", encoding="utf-8")
        flags = {"earmarked": ["--earmarked"], "over-services": ["--fairness-over", "services"],
                 "merge-group": ["--merge-group", "busan-gyeongnam"], None: []}[extra]
        run(["validate", folder])
        run(["solve", folder, "--format", "csv", *flags])
