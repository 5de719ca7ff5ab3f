"""Plots of a solve, a comparison and a sweep, as PNG (``--plot``) or inline SVG (the HTML
report). matplotlib is imported lazily (start-up time matters); figures are built with
``matplotlib.figure.Figure`` (no pyplot global state) and take plain arrays and frames, so
report/ needs nothing from studies/.

What makes them readable (issue 12): every series has its own colour AND marker (12 of each,
so the 11 objectives never share one); the instance and the objective are in every title;
units on every axis; regions are categories (bars or markers, never lines across them); a
threshold line; one outlier (max-mean's Sejong at 5.25) clips the axis and is labelled
instead of squashing every other series; more than ``MAX_BARS`` regions become distributions
(ECDF of levels). Every artist a test or a reader looks for has a gid (``series-NAME``,
``threshold``, ``clipped``) that the SVG keeps as the element id."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pandas as pd

from optimizer.core.metrics import gini

# 12 colours that stay apart (Okabe-Ito's 7 without yellow, with 5 darker companions) and 12 markers
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F3C8D", "#8C564B",
           "#000000", "#1B1B6B", "#7F7F00", "#C2185B")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p")
BEFORE_COLOUR = "#555555"
THRESHOLD_COLOUR = "#B22222"
MAX_BARS = 60              # above this many regions, levels are shown as distributions
LEVEL_LABEL = "service level = (own revenue + transfer) / fiscal need"


def series_style(i: int) -> tuple[str, str]:
    """(colour, marker) of the i-th series: distinct for the first 12, then cycling the markers
    against the colours so that (colour, marker) pairs stay distinct."""
    return PALETTE[i % len(PALETTE)], MARKERS[(i + i // len(PALETTE)) % len(MARKERS)]


def gid_of(name: str) -> str:
    return "series-" + re.sub(r"[^A-Za-z0-9_-]+", "_", str(name))


def new_figure(figsize: tuple[float, float]):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def figure_png(fig, dpi: int = 120, tight: bool = True) -> bytes:
    """PNG bytes without the software stamp, so the same data gives the same file."""
    buf = io.BytesIO()
    with warnings.catch_warnings():   # a glyph missing from the font (Korean names) is drawn as a box
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None,
                    metadata={"Software": None})
    return buf.getvalue()


def figure_svg(fig) -> str:
    """The figure as an ``<svg>`` element to inline in HTML: text kept as text (searchable, and
    the browser's fonts draw Korean), no XML header, doctype, date or external reference."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "equalize"}), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    return unique_ids(text)


def unique_ids(svg: str) -> str:
    """A gid set on many artists (the bars of one series, a line in every panel) becomes
    ``id``, ``id-2``, ``id-3``, ...: an id is unique within the page."""
    seen: dict[str, int] = {}

    def renumber(m: re.Match) -> str:
        name = m.group(1)
        seen[name] = seen.get(name, 0) + 1
        return f'id="{name}"' if seen[name] == 1 else f'id="{name}-{seen[name]}"'
    return re.sub(r'id="([^"]+)"', renumber, svg)


# ---- outliers ------------------------------------------------------------------------

def clip_top(values: np.ndarray) -> float | None:
    """An upper axis limit that leaves out far outliers, or None when there are none. Outliers:
    the values from the lowest jump of at least 1.5x between neighbours (sorted) that lies above
    Q3 + 3 IQR (IQR at least 5% of the median) upwards; the limit is 12% above the rest."""
    v = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    if v.size < 4:
        return None
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    fence = q3 + 3 * max(q3 - q1, 0.05 * abs(med))
    for i in range(1, v.size):
        if v[i] > fence and v[i - 1] > 0 and v[i] >= 1.5 * v[i - 1]:
            return float(v[i - 1]) * 1.12
    return None


def _mark_clipped(ax, xs, ys, top: float, labels: list[str], colour: str, n: int) -> None:
    """Clipped values drawn as a triangle at the top edge with the value written beside it
    (to the left in the right half, where the legend may sit)."""
    for x, y, text in zip(xs, ys, labels):
        ax.plot([x], [top], marker="^", color=colour, ms=8, clip_on=False, gid=f"clipped-{x}", ls="none")
        left = x > n / 2
        ax.annotate(f"{text} {y:.2f} (axis clipped)", (x, top), xytext=(-6 if left else 6, -4),
                    textcoords="offset points", fontsize=7, color=colour, ha="right" if left else "left",
                    va="top", gid=f"clipped-label-{x}")


# ---- Lorenz curves ---------------------------------------------------------------------

def lorenz_points(level: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted Lorenz curve of levels: (cumulative population, cumulative level share)."""
    order = np.argsort(level, kind="stable")
    ws, xs = w[order] / w.sum(), level[order]
    share = np.cumsum(ws * xs) / float(np.dot(ws, xs))
    return np.concatenate([[0.0], np.cumsum(ws)]), np.concatenate([[0.0], share])


def objectives_title(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} objectives"


def lorenz_figure(level_before: np.ndarray, weights: np.ndarray, allocations: dict[str, pd.DataFrame],
                  title: str):
    """Left: the Lorenz curves; right: the gap to equality p - L(p) (twice its area is the Gini),
    which pulls apart the curves that overlap on the left. Gini of each series in the legend."""
    fig = new_figure((11, 5))
    ax, gap = fig.subplots(1, 2)
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":", label="equality")
    series = [("before", level_before, BEFORE_COLOUR, None)]
    series += [(name, a["level_after"].to_numpy(dtype=float), *series_style(i))
               for i, (name, a) in enumerate(allocations.items())]
    for name, level, colour, marker in series:
        x, y = lorenz_points(level, weights)
        every = max(1, len(x) // 12)
        style = dict(color=colour, marker=marker, markevery=every, ms=5, lw=1.6 if marker is None else 1.1,
                     ls="--" if marker is None else "-", gid=gid_of(name))
        ax.plot(x, y, label=f"{name} (Gini {gini(level, weights):.4f})", **style)
        gap.plot(x, x - y, **style)
    ax.set_xlabel("cumulative population share (regions sorted by level), 0-1")
    ax.set_ylabel("cumulative share of total level, 0-1")
    ax.set_title("Lorenz curves", fontsize=10)
    gap.set_xlabel("cumulative population share, 0-1")
    gap.set_ylabel("gap to equality p - L(p), share")
    gap.set_title("distance from equality (area x 2 = Gini)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{title}: Lorenz curves of service levels, {objectives_title(list(allocations))}", fontsize=11)
    return fig


def lorenz_png(level_before: np.ndarray, weights: np.ndarray, allocations: dict[str, pd.DataFrame],
               title: str) -> bytes:
    return figure_png(lorenz_figure(level_before, weights, allocations, title))


# ---- levels by region ------------------------------------------------------------------

def _threshold_of(allocations: dict[str, pd.DataFrame], n: int) -> np.ndarray | None:
    for a in allocations.values():
        if "threshold" in a.columns and len(a) == n:
            return a["threshold"].to_numpy(dtype=float)
    return None


def levels_figure(level_before: np.ndarray, allocations: dict[str, pd.DataFrame], title: str,
                  region_labels: list[str], threshold: np.ndarray | None = None):
    """Sorted bars (before) with each series' level after, up to ``MAX_BARS`` regions; the
    distributions of levels (ECDF) beyond. The threshold line in both."""
    n = len(level_before)
    thr = threshold if threshold is not None else _threshold_of(allocations, n)
    if n > MAX_BARS:
        return levels_ecdf_figure(level_before, allocations, title, region_labels, thr)
    return levels_bars_figure(level_before, allocations, title, region_labels, thr)


def _draw_threshold(ax, order: np.ndarray, thr: np.ndarray | None, horizontal: bool = True) -> None:
    if thr is None:
        return
    t = thr[order]
    if np.allclose(t, t[0]):
        line = ax.axhline if horizontal else ax.axvline
        line(t[0], color=THRESHOLD_COLOUR, lw=1.4, ls="-.", gid="threshold", label=f"threshold {t[0]:g}")
    else:   # per-region thresholds: one short line over each region's bar
        xs = np.arange(len(t))
        ax.hlines(t, xs - 0.45, xs + 0.45, color=THRESHOLD_COLOUR, lw=1.4, gid="threshold",
                  label="threshold (per region)")


def levels_bars_figure(level_before, allocations, title, region_labels, thr):
    order = np.argsort(level_before, kind="stable")
    n, k = len(order), len(allocations)
    xs = np.arange(n)
    fig = new_figure((max(7.0, min(0.45 * n + 2, 18.0)), 5.2))
    ax = fig.subplots()
    one = k == 1
    width = 0.4 if one else 0.8
    ax.bar(xs - (0.2 if one else 0), level_before[order], width=width, color="#BBBBBB", edgecolor="#888888",
           label="before", gid="series-before")
    values = [a["level_after"].to_numpy(dtype=float)[order] for a in allocations.values()]
    top = clip_top(np.concatenate([level_before, *values])) if values else None
    for i, (name, v) in enumerate(zip(allocations, values)):
        colour, marker = series_style(i)
        shown = np.minimum(v, top) if top else v
        if one:
            ax.bar(xs + 0.2, shown, width=0.4, color=colour, label=f"after ({name})", gid=gid_of(name))
        else:   # markers only, dodged across the region's band: regions are categories, no lines
            dx = (i - (k - 1) / 2) * min(0.07, 0.8 / k)
            ax.plot(xs + dx, shown, ls="none", marker=marker, color=colour, ms=5, label=name, gid=gid_of(name))
        if top:
            over = np.flatnonzero(v > top)
            _mark_clipped(ax, xs[over], v[over], top, [f"{region_labels[order[j]]} ({name})" for j in over],
                          colour, n)
    _draw_threshold(ax, order, thr)
    if top:
        ax.set_ylim(0, top)
    ax.set_xticks(xs, [region_labels[i] for i in order], rotation=60 if n > 8 else 0,
                  ha="right" if n > 8 else "center", fontsize=8)
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_xlabel("region (sorted by level before transfers)")
    ax.set_ylabel(LEVEL_LABEL, fontsize=8)
    ax.set_title(f"{title}: levels before and after by region, {objectives_title(list(allocations))}", fontsize=10)
    if k > 2:   # many series: the legend beside the axes, not over the markers
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    else:
        ax.legend(fontsize=7, loc="upper left")
    return fig


def _ecdf(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.sort(v)
    return s, np.arange(1, s.size + 1) / s.size


def levels_ecdf_figure(level_before, allocations, title, region_labels, thr):
    """Cumulative share of regions at or below each level, before and after; an outlier clips
    the level axis and is named in a note."""
    fig = new_figure((9, 5.2))
    ax = fig.subplots()
    values = {name: a["level_after"].to_numpy(dtype=float) for name, a in allocations.items()}
    right = clip_top(np.concatenate([level_before, *values.values()]))
    x, y = _ecdf(level_before)
    ax.step(x, y, where="post", color=BEFORE_COLOUR, ls="--", lw=1.4, label="before", gid="series-before")
    notes = []
    for i, (name, v) in enumerate(values.items()):
        colour, marker = series_style(i)
        x, y = _ecdf(v)
        ax.step(x, y, where="post", color=colour, lw=1.3, marker=marker, markevery=max(1, len(x) // 10), ms=5,
                label=name, gid=gid_of(name))
        if right and (v > right).any():
            j = int(np.argmax(v))
            notes.append(f"{name}: {(v > right).sum()} region(s) above {right:.2f}, max {region_labels[j]} {v[j]:.2f}")
    if thr is not None:
        _draw_threshold(ax, np.arange(1), np.array([float(np.median(thr))]), horizontal=False)
    if right:
        lo = float(min(np.min(level_before), *(np.min(v) for v in values.values())))
        ax.set_xlim(lo - 0.05 * (right - lo), right)
        ax.text(0.99, 0.02, "axis clipped: " + "; ".join(notes), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, gid="clipped-label")
    ax.set_xlabel(LEVEL_LABEL)
    ax.set_ylabel("share of regions at or below the level, 0-1")
    ax.set_title(f"{title}: distribution of levels over {len(level_before):,} regions, "
                 f"{objectives_title(list(allocations))}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right" if not right else "center right")
    return fig


def levels_png(level_before: np.ndarray, allocations: dict[str, pd.DataFrame], title: str,
               region_ids: list[str]) -> bytes:
    return figure_png(levels_figure(level_before, allocations, title, region_ids))
