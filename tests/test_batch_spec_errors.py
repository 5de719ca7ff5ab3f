"""Issue 10, classes 1-3 for batch specs: every malformed spec is a one-line error naming the
file and the key, exit 2, nothing written; ranges parse each end on its own; the number of
runs and points is bounded. A hypothesis strategy throws malformed specs at the real CLI: it
must exit 2 or run, never end in a traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.studies.batch import load_spec
from tests.conftest import INSTANCES

TOY = INSTANCES / "toy-3"
HEAD = f'instances = ["{TOY}"]\n'


def batch(tmp_path: Path, text: str | bytes):
    spec = tmp_path / "spec.toml"
    if isinstance(text, bytes):
        spec.write_bytes(text)
    else:
        spec.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["batch", str(spec), "--output", str(out), "--jobs", "1", "-q"])
    return res, spec, out


def assert_spec_error(res, spec: Path, out: Path, *words: str) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 2, res.output
    first = res.stderr.splitlines()[0]
    assert first.startswith(f"error: {spec}"), first
    for w in words:
        assert w in first, (w, first)
    assert "Traceback" not in res.output
    assert not out.exists(), "nothing may be written for a bad spec"


BAD_SPECS = [
    # (spec text after the instances line, words the error line must hold)
    ("sweep = 5\n", ["'sweep'", "table"]),
    ('[sweep]\nbudget = { from = "0.5x", to = 60, points = 3 }\n', ["sweep.budget", "mixes"]),
    ('[sweep]\nbudget = { from = 30, to = "2x", points = 3 }\n', ["sweep.budget", "mixes"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", points = "abc" }\n', ["sweep.budget", "points"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", points = 0 }\n', ["sweep.budget", "points"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", points = -3 }\n', ["sweep.budget", "points"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", points = 2.5 }\n', ["sweep.budget", "points"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", points = true }\n', ["sweep.budget", "points"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", points = 1 }\n', ["sweep.budget", "points >= 2"]),
    ('[sweep]\nbudget = { from = "abc", to = "2x", points = 3 }\n', ["sweep.budget", "'abc'"]),
    ('[sweep]\nbudget = { from = "-1x", to = "2x", points = 3 }\n', ["sweep.budget", "'-1x'"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x" }\n', ["sweep.budget", "'points' is missing"]),
    ('[sweep]\nbudget = { from = "0.5x", to = "2x", pionts = 3 }\n', ["sweep.budget", "did you mean 'points'"]),
    ('[sweep]\nbudget = []\n', ["sweep.budget", "empty"]),
    ('[sweep]\nbudget = ["1x", "lots"]\n', ["sweep.budget", "'lots'"]),
    ('[sweep]\nbudget = [true]\n', ["sweep.budget"]),
    ("[sweep]\nthreshold = [\"high\"]\n", ["sweep.threshold", "'high'"]),
    ('[sweep]\nthreshold = { from = "0.5x", to = "0.9x", points = 3 }\n', ["sweep.threshold"]),
    ("[sweep]\nthreshold = [-0.5]\n", ["sweep.threshold"]),
    ("[sweep]\nthreshold = [nan]\n", ["sweep.threshold"]),
    ("[sweep]\nbudgte = [1]\n", ["sweep.budgte", "did you mean 'budget'"]),
    ('objectivs = ["maxmin", "min-cost"]\n', ["'objectivs'", "did you mean 'objectives'"]),
    ('objectives = ["maxmn"]\n', ["objectives", "did you mean 'maxmin'"]),
    ("objectives = []\n", ["objectives", "empty"]),
    ("objectives = [3]\n", ["objectives"]),
    ('objectives = [{ name = "cvar", alpha = "abc" }]\n', ["objectives.cvar.alpha"]),
    ('objectives = [{ name = "cvar", alpha = 7 }]\n', ["objectives.cvar.alpha"]),
    ('objectives = [{ name = "log-welfare", breakpoints = "abc" }]\n', ["objectives.log-welfare.breakpoints"]),
    ('objectives = [{ name = "owa", weights = ["a"] }]\n', ["objectives.owa.weights"]),
    ('objectives = [{ name = "owa", wieghts = "3,2,1" }]\n', ["objectives.owa.wieghts", "did you mean 'weights'"]),
    ('objectives = [{ name = "maxmin", thresholds = "sometimes" }]\n', ["objectives.maxmin.thresholds"]),
    ("scenarios = [1]\n", ["scenarios"]),
    ("scenarios = []\n", ["scenarios"]),
]


@pytest.mark.parametrize("text,words", BAD_SPECS, ids=[t for t, _ in BAD_SPECS])
def test_bad_spec_is_one_line_naming_file_and_key(tmp_path, text, words):
    res, spec, out = batch(tmp_path, HEAD + text)
    assert_spec_error(res, spec, out, *words)


@pytest.mark.parametrize("raw,words", [
    (b"\xff\xfe instances = []", ["UTF-8"]),
    (b"", ["empty"]),
    (b"# a comment only\n\n", ["empty"]),
    (b"instances = 5\n", ["instances"]),
    (b"instances = [5]\n", ["instances"]),
    (b"instances = [\n", ["TOML"]),
])
def test_unreadable_specs(tmp_path, raw, words):
    res, spec, out = batch(tmp_path, raw)
    assert_spec_error(res, spec, out, *words)


def test_spec_is_a_folder(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["batch", str(tmp_path), "--output", str(out), "-q"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert not out.exists()


def test_range_ends_parsed_on_their_own(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(HEAD + '[sweep]\nbudget = { from = 30, to = 60, points = 3 }\n'
                    'threshold = { from = 0.4, to = 0.5, points = 2 }\n')
    assert [r.budget for r in load_spec(spec).runs][::2] == ["30", "45", "60"]
    spec.write_text(HEAD + '[sweep]\nbudget = { from = "0.5x", to = "1x", points = 3 }\n')
    assert [r.budget for r in load_spec(spec).runs] == ["0.5x", "0.75x", "1x"]
    spec.write_text(HEAD + '[sweep]\nbudget = { from = "1x", to = "1x", points = 1 }\n')
    assert [r.budget for r in load_spec(spec).runs] == ["1x"]


def test_one_value_means_a_one_element_list(tmp_path):
    """scenarios = "base" is one scenario (it used to be four runs named b, a, s, e)."""
    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = "{TOY}"\nscenarios = "base"\nobjectives = "maxmin"\n'
                    '[sweep]\nbudget = "1.2x"\nthreshold = 0.4\n')
    runs = load_spec(spec).runs
    assert [(r.scenario, r.objective, r.budget, r.threshold) for r in runs] == [(None, "maxmin", "1.2x", 0.4)]


@pytest.mark.parametrize("text", [
    '[sweep]\nbudget = { from = "0.5x", to = "2x", points = 1e9 }\n',
    '[sweep]\nbudget = { from = "0.5x", to = "2x", points = 1000000000 }\n',
    '[sweep]\nbudget = { from = "0.5x", to = "2x", points = 10001 }\n',
])
def test_points_are_bounded(tmp_path, text):
    res, spec, out = batch(tmp_path, HEAD + text)
    assert_spec_error(res, spec, out, "sweep.budget", "10,000")


def test_runs_are_bounded_before_anything_is_expanded(tmp_path):
    text = (HEAD + 'objectives = ["maxmin", "min-cost"]\n[sweep]\n'
            'budget = { from = "0.5x", to = "2x", points = 10000 }\nthreshold = { from = 0.1, to = 0.9, points = 6 }\n')
    res, spec, out = batch(tmp_path, text)
    assert_spec_error(res, spec, out, "120,000 runs", "100,000")


def test_jobs_are_bounded(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(HEAD)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["batch", str(spec), "--output", str(out), "--jobs", "100000", "-q"])
    assert res.exit_code == 2 and "--jobs" in res.output and "256" in res.output
    assert not out.exists()


# ---- hypothesis: malformed specs never end in a traceback ----------------------------------

KEYS = ["instances", "objectives", "scenarios", "sweep", "objectivs", "budget", "threshold", "from", "to",
        "points", "name", "alpha", "weights", "breakpoints", "thresholds", "gini_form", "x"]
SCALARS = st.one_of(
    st.integers(min_value=-3, max_value=4), st.sampled_from([0, 10**9, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from(["0.5x", "2x", "1x", "x", "-1x", "1e400", "abc", "", "base", "maxmin", "min-cost",
                     "owa", "cvar", "hard", "3,2,1", str(TOY), "nan", "0.9"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=8)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


SPECS = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5).map(
        lambda d: "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in d.items())),
    st.fixed_dictionaries({"sweep": st.dictionaries(st.sampled_from(["budget", "threshold", "budgte"]), VALUES,
                                                   max_size=2),
                           "objectives": VALUES}).map(
        lambda d: HEAD + "".join(f"{k} = {toml_value(v)}\n" for k, v in d.items())),
    st.binary(max_size=40))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(text=SPECS)
def test_malformed_specs_exit_2_or_run(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("spec")
    res, spec, out = batch(tmp, text)
    assert res.exception is None or isinstance(res.exception, SystemExit), (text, res.exception)
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert res.stderr.startswith("error: "), res.output
        assert not out.exists()
    else:
        assert res.exit_code in (0, 1), res.output
        assert (out / "runs.csv").exists()
        if res.exit_code == 1:
            assert "runs failed" in res.output
