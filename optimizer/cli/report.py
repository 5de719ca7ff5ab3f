"""``equalize report``: one solve (with the solve's options), optionally the objectives
compared and a budget frontier, written as one self-contained HTML file."""

from __future__ import annotations

import hashlib
import shlex
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from optimizer.cli.common import instance_argument, reported_errors
from optimizer.cli.round_flags import round_flags, round_from_flags, solver_flags, with_spending
from optimizer.core.budget import parse_budget
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.io.read import read_file_bytes
from optimizer.io.writers import atomic_write_text
from optimizer.report.html import ReportInput, render_report
from optimizer.report.plot_frontier import frontier_context
from optimizer.studies.compare import compare, parse_objectives
from optimizer.studies.ranges import RangeError, parse_cli
from optimizer.studies.sweep import sweep

MULTI_YEAR = "report: multi-year rounds are not reported yet; use 'equalize solve' for them"


@click.command("report")
@instance_argument
@round_flags
@solver_flags
@click.option("--output", "-O", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The HTML file to write (one self-contained file: charts, styles and data inline).")
@click.option("--objectives", help="Also compare these objectives (comma-separated, or 'all'): a table "
              "and Lorenz curves.")
@click.option("--sweep", "sweep_range", help="Also draw the budget frontier of the headline objective, "
              "FROM:TO:POINTS (e.g. 0.8x:1.5x:8).")
@click.option("--lang", type=click.Choice(["en", "ko"]), default="en", show_default=True,
              help="ko: Korean headings, name_ko where the instance has it, KRW in 억/조.")
def report_cmd(instance: Path, output: Path, objectives, sweep_range, lang, **flags):
    """Solve INSTANCE and write an HTML report an analyst can mail.

    \b
    Example:
      equalize report instances/korea-17 --output korea.html
      equalize report instances/korea-17 --objectives all --sweep 0.8x:1.5x:8 --output korea.html
      equalize report instances/korea-17 --lang ko --output korea-ko.html
    The file opens without a network connection and prints to A4.
    """
    with reported_errors():
        if output.suffix.lower() not in (".html", ".htm"):
            raise UsageError(f"--output: the report is one HTML file; give a name ending in .html, got {output}")
        names = parse_objectives(objectives) if objectives is not None else []
        rnd = round_from_flags(instance, flags)
        inst, opts = rnd.inst, rnd.opts
        budgets = _sweep_budgets(sweep_range, inst.budget)
        if (rnd.rargs.get("years") or 1) > 1:   # known before solving
            raise UsageError(MULTI_YEAR)
        result = rnd.solve()
        if "years" in result.summary or result.allocation["region_id"].duplicated().any():
            raise UsageError(MULTI_YEAR)
        data = ReportInput(inst, result, lang, command_line=_command_line(), input_files=input_digests(inst),
                           generated=datetime.now(UTC).isoformat(timespec="seconds"))
        if names:
            c = compare(inst, names, replace(opts, objective=None))
            data.comparison, data.compared = c.table, c.allocations
        if budgets:
            name = result.summary["objective"]
            # the policy flags and --spend/--surplus hold on every point (sweep reads the instance's)
            swept = with_spending(inst, opts)
            if opts.policy is not None:
                swept = replace(swept, policy=inst.policy.merged(opts.policy))
            sw = sweep(swept, budgets, [opts.threshold] if opts.threshold is not None else None, objective=name,
                       fast_path=opts.fast_path, objective_options=opts.objective_options or None)
            data.frontier, data.frontier_mode = sw.frontier, sw.mode
            data.frontier_context = frontier_context(inst, list(sw.frontier["threshold"]), name)
        html = render_report(data)
        atomic_write_text(output, html)
        click.echo(f"wrote {output} ({len(html.encode()):,} bytes): {result.summary['objective']} on "
                   f"{inst.name}, {inst.n} regions" + (f", {len(names)} objectives compared" if names else "")
                   + (f", frontier of {len(budgets)} budgets" if budgets else ""))


def _sweep_budgets(text: str | None, base: float) -> list[float]:
    """--sweep FROM:TO:POINTS (or one budget) -> budgets, errors naming --sweep."""
    if text is None:
        return []
    try:
        items = parse_cli(str(text), "budget")
    except RangeError as exc:
        raise UsageError(f"--sweep: {exc}") from None
    return [parse_budget(s, base, "--sweep") for s in items]


def _command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["equalize", *sys.argv[1:]])


def input_digests(inst: Instance) -> list[tuple[str, str]]:
    """SHA-256 of each input file (the instance's .toml and .csv files, or the one file it is)."""
    path = Path(inst.path)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()
                                                 and p.suffix in (".toml", ".csv", ".xlsx"))
    out = []
    for p in files:
        try:
            out.append((p.name, hashlib.sha256(read_file_bytes(p)).hexdigest()))
        except OSError as exc:
            out.append((p.name, f"unreadable: {exc.strerror or exc}"))
    return out
