"""The plots looked at as a person would (issue 12, point 4): the PNG/SVG is opened, its size
checked, the colours of the series read from the SVG elements or the PNG's pixels, and the
threshold line, clipped outlier, units and titles found in the SVG's text. Real solves of
korea-17 (all 11 objectives; max-mean's Sejong at 5.25 is the outlier of the issue)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from models.objectives import OBJECTIVES
from optimizer.cli import main
from optimizer.core.metrics import gini
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.report.plot_frontier import frontier_context, frontier_figure, panels_of
from optimizer.report.plots import (
    MARKERS,
    PALETTE,
    THRESHOLD_COLOUR,
    clip_top,
    figure_svg,
    levels_figure,
    lorenz_figure,
    series_style,
)
from optimizer.studies.compare import compare
from optimizer.studies.sweep import sweep
from tests.conftest import INSTANCES

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def korea():
    return load_instance(INSTANCES / "korea-17")


@pytest.fixture(scope="module")
def compared(korea):
    return compare(korea, list(OBJECTIVES), SolveOptions(price_of_fairness=False))


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def series_colours(svg: str) -> dict[str, set[str]]:
    """series name -> the stroke/fill colours used inside its <g id="series-NAME[-k]"> elements
    (a series drawn in two panels has ids series-NAME and series-NAME-2)."""
    root = ET.fromstring(svg)
    out: dict[str, set[str]] = {}
    for g in root.iter(f"{SVG}g"):
        gid = g.get("id", "")
        if gid.startswith("series-"):
            name = re.sub(r"-\d+$", "", gid)
            styles = " ".join(e.get("style", "") + " " + e.get("fill", "") + " " + e.get("stroke", "")
                              for e in g.iter())
            out.setdefault(name, set()).update(c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}", styles))
    return out


def svg_text(svg: str) -> str:
    return " ".join(t for t in ET.fromstring(svg).itertext())


def test_eleven_objectives_get_eleven_colours_and_markers():
    styles = [series_style(i) for i in range(len(OBJECTIVES))]
    assert len(OBJECTIVES) == 11
    assert len({c for c, _ in styles}) == 11 and len({m for _, m in styles}) == 11
    # the colours stay apart (RGB distance), not merely different strings
    assert min(np.linalg.norm(rgb(a) - rgb(b)) for a, b in combinations(PALETTE, 2)) > 60
    # beyond 12 series the (colour, marker) pairs still differ
    assert len({series_style(i) for i in range(40)}) == 40
    assert len(MARKERS) == len(PALETTE) == 12


@pytest.mark.slow
def test_lorenz_svg_distinct_series_colours_and_gini_in_legend(korea, compared):
    fig = lorenz_figure(compared.level_before, compared.weights, compared.allocations, korea.name)
    svg = figure_svg(fig)
    colours = series_colours(svg)
    names = [f"series-{n}" for n in OBJECTIVES]
    assert set(names) <= set(colours)
    # each objective's curve has exactly one colour, and no two objectives share it
    per_series = [frozenset(colours[n]) for n in names]
    assert all(len(c) == 1 for c in per_series), per_series
    assert len(set(per_series)) == 11
    text = svg_text(svg)
    for name, alloc in compared.allocations.items():   # the Gini of each series, as a person reads it
        g = gini(alloc["level_after"].to_numpy(dtype=float), compared.weights)
        assert f"{name} (Gini {g:.4f})" in text
    assert "korea-17" in text and "11 objectives" in text
    assert "cumulative population share" in text          # axis labels with their range
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")


@pytest.mark.slow
def test_lorenz_png_pixels_carry_every_series_colour(korea, compared, tmp_path):
    """`compare --plot` writes lorenz.png; the markers' exact colours are found among its pixels."""
    out = tmp_path / "cmp"
    r = CliRunner().invoke(main, ["compare", str(INSTANCES / "korea-17"), "--objectives", "all", "-O", str(out),
                                  "--plot", "--no-price-of-fairness"])
    assert r.exit_code == 0, r.output
    im = Image.open(out / "lorenz.png").convert("RGB")
    assert im.width >= 1000 and im.height >= 450
    pixels = {tuple(p) for p in np.asarray(im).reshape(-1, 3)}
    for i in range(11):
        assert tuple(int(v) for v in rgb(series_style(i)[0])) in pixels, series_style(i)
    levels = Image.open(out / "levels.png").convert("RGB")
    assert levels.width >= 800 and levels.height >= 400
    red = (np.abs(np.asarray(levels).reshape(-1, 3).astype(int) - rgb(THRESHOLD_COLOUR)).sum(axis=1) < 30)
    assert red.sum() > 300                                   # the threshold line runs across the plot


def test_levels_bars_threshold_line_and_clipped_outlier(korea, compared):
    """max-mean gives Sejong 5.25: the axis is clipped below it, the value is written on the
    plot, and the other series are no longer squashed; markers only (no lines across regions)."""
    mm = compared.allocations["max-mean"]
    sejong = mm.index[mm.region_id == "sejong"][0]
    assert mm.level_after[sejong] > 5
    ids = list(korea.regions.region_id)
    fig = levels_figure(compared.level_before, compared.allocations, korea.name, ids)
    ax = fig.axes[0]
    top = ax.get_ylim()[1]
    others = np.concatenate([a.level_after.to_numpy() for a in compared.allocations.values()])
    assert top < 2.0 and top >= np.sort(others)[-2]         # clipped, and the next value still shown
    for line in ax.get_lines():
        gid = line.get_gid() or ""
        if gid.startswith("series-"):
            assert line.get_linestyle() == "None", gid       # categories: markers, no connecting line
    svg = figure_svg(fig)
    text = svg_text(svg)
    assert f"sejong (max-mean) {mm.level_after[sejong]:.2f} (axis clipped)" in text
    assert "threshold 0.92" in text
    assert 'id="threshold' in svg
    assert "service level = (own revenue + transfer) / fiscal need" in text
    assert "korea-17" in text and "sorted by level before" in text
    # the bars are sorted by level before transfers
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [ids[i] for i in np.argsort(compared.level_before, kind="stable")]


def test_clip_top_leaves_ordinary_spreads_alone():
    assert clip_top(np.array([0.9, 0.95, 1.0, 1.1, 1.3])) is None
    assert clip_top(np.array([0.92] * 16 + [1.09, 1.29])) is None       # log-welfare's Sejong: kept
    top = clip_top(np.array([0.92] * 15 + [1.09, 5.25]))
    assert top is not None and 1.09 < top < 1.5


def test_large_instance_gets_distributions_not_bars(tmp_path):
    """2,000 regions: an ECDF of levels before and after, the threshold as a vertical line."""
    rng = np.random.default_rng(3)
    n = 2000
    before = rng.uniform(0.3, 1.2, n)
    after = np.maximum(before, 0.9)
    after[17] = 9.0                                         # one outlier clips the level axis
    allocs = {"maxmin": pd.DataFrame({"level_after": after, "threshold": np.full(n, 0.9)})}
    fig = levels_figure(before, allocs, "gen-2000", [f"r{i}" for i in range(n)])
    ax = fig.axes[0]
    assert not [p for p in ax.patches if p.get_gid() and p.get_gid().startswith("series")]   # no bars
    assert 0.15 < ax.get_xlim()[0] < 0.3 and ax.get_xlim()[1] < 2.0    # the outlier moves neither end
    svg = figure_svg(fig)
    text = svg_text(svg)
    assert "distribution of levels over 2,000 regions" in text
    assert "max r17 9.00" in text and "threshold 0.9" in text
    assert "share of regions at or below the level" in text
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=80)
    assert Image.open(io.BytesIO(png.getvalue())).size[0] >= 600


def test_frontier_marks_budgets_units_and_infeasible_only_where_infeasible(korea):
    sw = sweep(korea, [0.8 * korea.budget, korea.budget, 1.2 * korea.budget, 1.5 * korea.budget],
               [0.85, 0.9, 0.95])
    f = sw.frontier
    ctx = frontier_context(korea, list(f.threshold), sw.objective)
    assert ctx.required[0.92 if 0.92 in ctx.required else 0.9] > 0
    fig = frontier_figure(f, sw.objective, sw.mode, ctx)
    svg = figure_svg(fig)
    text = svg_text(svg)
    assert "korea-17: maxmin frontier" in text
    assert "budget (KRW billion)" in text
    assert "actual budget 59,844 KRW billion" in text
    # maxmin's value is its min level: one panel, not two
    assert [c for c, _ in panels_of(f)[0]] == ["objective_value", "gini"]
    assert len(fig.axes) == 2
    # infeasible markers: one per infeasible (threshold, budget) point and panel, in that series only
    bad = f[f.status != "optimal"]
    assert len(bad) >= 1
    ax = fig.axes[0]
    marks = {line.get_gid(): line.get_xdata() for line in ax.get_lines()
             if (line.get_gid() or "").startswith("infeasible")}
    keys = sorted(f.threshold.unique())
    expected = {f"infeasible-{keys.index(t)}": sorted(g.budget) for t, g in bad.groupby("threshold")}
    assert {k: sorted(v) for k, v in marks.items()} == expected
    # the required budget of each threshold is drawn where the infeasible points end
    for thr, req in ctx.required.items():
        assert f"required for threshold {thr:g}: {req:,.0f} KRW billion" in text
        assert (f[(f.threshold == thr) & (f.budget < req)].status == "infeasible").all()
        assert (f[(f.threshold == thr) & (f.budget >= req)].status == "optimal").all()


@pytest.mark.slow
def test_min_shortfall_frontier_has_no_duplicate_panel(korea, tmp_path):
    """min-shortfall's value IS the weighted shortfall: the panel appears once; `sweep --plot`
    names the instance and the unit in frontier.png."""
    sw = sweep(korea, [0.8 * korea.budget, korea.budget, 1.2 * korea.budget], objective="min-shortfall")
    cols = [c for c, _ in panels_of(sw.frontier)[0]]
    assert cols.count("objective_value") == 1 and "weighted_shortfall" not in cols
    out = tmp_path / "sw"
    r = CliRunner().invoke(main, ["sweep", str(INSTANCES / "korea-17"), "--budget", "0.8x:1.2x:3",
                                  "-o", "min-shortfall", "-O", str(out), "--plot"])
    assert r.exit_code == 0, r.output
    im = Image.open(out / "frontier.png")
    assert im.width >= 700 and im.height >= 400
