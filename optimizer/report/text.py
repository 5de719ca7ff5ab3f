"""The one plain-text table layout of the terminal: a header line, a dashed separator, the
rows, each column padded to its widest cell and aligned left or right."""

from __future__ import annotations

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
