"""The one plain-text table layout of the terminal: a header line, a dashed separator, the
rows, each column padded to its widest cell and aligned left or right."""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Sequence

Row = Sequence[str]


def column_widths(headers: Row, rows: Sequence[Row]) -> list[int]:
    return [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]


def separator(widths: Sequence[int]) -> str:
    return "  ".join("-" * w for w in widths)


def aligned(cells: Row, widths: Sequence[int], right: Container[int]) -> str:
    return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def text_table(headers: Row, rows: Sequence[Row], right: Container[int], totals: Sequence[Row] = (),
               measured: Callable[[Row], bool] = lambda row: True) -> list[str]:
    """Header, separator, rows; ``totals`` come after a second separator. Only the rows
    (and totals) for which ``measured`` holds set the widths (a note row may overflow)."""
    widths = column_widths(headers, [r for r in [*rows, *totals] if measured(r)])
    out = [aligned(headers, widths, right), separator(widths), *(aligned(r, widths, right) for r in rows)]
    if totals:
        out += [separator(widths), *(aligned(r, widths, right) for r in totals)]
    return out


NO_CHANGE = "no change"


def signed_figure(x: float, tolerance: float = 0.0, decimals: int = 1) -> str:
    """A change as a signed figure: ``+1,234.5`` (``decimals`` places) as before; a change too
    small for them shown with two significant digits (``+0.00043``, not ``+0.0``), and
    ``no change`` when it is zero within ``tolerance`` (the solver's, in the same unit)."""
    if not math.isfinite(x) or abs(x) <= tolerance:
        return NO_CHANGE if math.isfinite(x) else f"{x:+}"
    if abs(float(f"{x:.{decimals}f}")) > 0:
        return f"{x:+,.{decimals}f}"
    places = min(1 - math.floor(math.log10(abs(float(f"{x:.1e}")))), 15)   # of x at two significant digits
    return f"{x:+,.{places}f}"
