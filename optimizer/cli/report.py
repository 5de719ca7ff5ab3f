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

from optimizer.cli.common import (
    echo_notices,
    instance_argument,
    objective_flags,
    objective_options_from,
    policy_from_flags,
    policy_options,
    reported_errors,
    scenario_options,
)
from optimizer.core.budget import parse_budget
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.io.read import read_file_bytes
from optimizer.io.writers import atomic_write_text
from optimizer.prepare.merge import parse_merge
from optimizer.prepare.scenarios import prepare
from optimizer.report.html import ReportInput, render_report
from optimizer.report.plot_frontier import frontier_context
from optimizer.studies.compare import compare, parse_objectives
from optimizer.studies.ranges import RangeError, parse_cli
from optimizer.studies.sweep import sweep


@click.command("report")
@instance_argument
@click.option("--output", "-O", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The HTML file to write (one self-contained file: charts, styles and data inline).")
@click.option("--objective", "-o", help="The headline objective (default: the instance's, else maxmin).")
@click.option("--budget", "-b", help="Budget in the instance unit, or a multiple such as 1.2x.")
@click.option("--threshold", "-t", type=float, help="Default service-level threshold.")
@click.option("--objectives", help="Also compare these objectives (comma-separated, or 'all'): a table "
              "and Lorenz curves.")
@click.option("--sweep", "sweep_range", help="Also draw the budget frontier of the headline objective, "
              "FROM:TO:POINTS (e.g. 0.8x:1.5x:8).")
@click.option("--lang", type=click.Choice(["en", "ko"]), default="en", show_default=True,
              help="ko: Korean headings, name_ko where the instance has it, KRW in 억/조.")
@click.option("--engine", type=click.Choice(["direct", "pyomo"]), default="direct", show_default=True)
@click.option("--no-tie-break", is_flag=True, help="Skip the least-total-transfer tie-break solve.")
@click.option("--time-limit", type=float, help="HiGHS time limit in seconds.")
@click.option("--no-fast-path", is_flag=True, help="Always solve the LP with HiGHS.")
@scenario_options
@policy_options
@objective_flags
def report_cmd(instance: Path, output: Path, objective, budget, threshold, objectives, sweep_range, lang, engine,
               no_tie_break, time_limit, no_fast_path, scenario, merges, merge_groups, thresholds, alpha,
               weights, breakpoints, gini_form, no_price_of_fairness, **policy_flags):
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
        inst = load_instance(instance)
        echo_notices(inst)
        inst = prepare(prepare(inst, scenario), None, [parse_merge(m) for m in merges], list(merge_groups))
        budgets = _sweep_budgets(sweep_range, inst.budget)
        objective_options = objective_options_from(thresholds, alpha, weights, breakpoints, gini_form)
        opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget), threshold=threshold,
                            engine=engine, tie_break=not no_tie_break, fast_path=not no_fast_path,
                            time_limit=time_limit, policy=policy_from_flags(policy_flags),
                            objective_options=objective_options, price_of_fairness=not no_price_of_fairness)
        result = solve_round(inst, opts)
        if "years" in result.summary or result.allocation["region_id"].duplicated().any():
            raise UsageError("report: multi-year rounds are not reported yet; use 'equalize solve' for them")
        data = ReportInput(inst, result, lang, command_line=_command_line(), input_files=input_digests(inst),
                           generated=datetime.now(UTC).isoformat(timespec="seconds"))
        if names:
            c = compare(inst, names, replace(opts, objective=None))
            data.comparison, data.compared = c.table, c.allocations
        if budgets:
            name = result.summary["objective"]
            # the policy flags hold on every point (sweep takes the instance's [policy])
            swept = inst if opts.policy is None else replace(inst, policy=inst.policy.merged(opts.policy))
            sw = sweep(swept, budgets, [threshold] if threshold is not None else None, objective=name,
                       fast_path=not no_fast_path, objective_options=objective_options or None)
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
