"""``equalize solve``: one round of one instance, the allocation table (or CSV / JSON)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import click
import pandas as pd

from optimizer.cli.common import excel_options, instance_argument, reported_errors
from optimizer.cli.round_flags import round_flags, round_from_flags, solver_flags
from optimizer.core.errors import InfeasibleError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.limits import MONEY_MAX
from optimizer.core.policy import PolicyConfig
from optimizer.core.result import Result
from optimizer.engine.rounding import round_result
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.engine.surplus import surplus_text
from optimizer.io.writers import (
    SOLVE_OUTPUTS,
    allocation_csv,
    atomic_write_bytes,
    is_xlsx,
    result_files,
    summary_json,
    with_bom,
    write_run,
)
from optimizer.prepare.merge import guarantee_effect, guarantee_text, merge_effect_rounds
from optimizer.report.round_tables import round_table
from optimizer.report.tables import explain_table, merge_effect_table
from optimizer.report.workbook import solve_workbook


@click.command("solve")
@instance_argument
@round_flags
@solver_flags
@click.option("--output", "-O", type=click.Path(path_type=Path),
              help="Folder for allocation.csv and summary.json; a name ending in .xlsx writes one Excel "
                   "workbook instead (sheets allocation, summary, metrics, prices, sources).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="What to print on standard output.")
@click.option("--round-to", "round_to", type=float, default=None,
              help="Round transfers to multiples of this amount in the instance unit (e.g. 0.001 = one "
                   "million KRW in a KRW-billion instance), keeping the total exactly (largest remainder); "
                   "the summary records the largest rounding move (docs/schema.md).")
@click.option("--explain", "explain", is_flag=True,
              help="Also print per region: level, threshold, threshold dual (d objective / d threshold), "
                   "binding constraints and reason (docs/schema.md).")
@excel_options
def solve_cmd(instance: Path, output, fmt, round_to, csv_bom, lang, explain, **flags):
    """Solve INSTANCE (a folder with instance.toml and regions.csv, or one .xlsx workbook) and print
    the allocation.

    \b
    Example:
      equalize solve instances/korea-17 --objective maxmin --output out/korea
      equalize solve instances/toy-3 --threshold 0.8 --objective min-shortfall --format csv
      equalize solve instances/korea-17 --hold-harmless 0.7 --no-overtaking
      equalize solve instances/korea-17 --merge busan,gyeongnam --merger-guarantee
      equalize solve instances/korea-17 --scenario chungcheong-union
    Policy flags override [policy] and the scenario (docs/policies.md).
    Exit codes: 0 solved, 1 infeasible (with the missing budget), 2 bad input.
    """
    with reported_errors():
        if round_to is not None and not (math.isfinite(round_to) and 0 < round_to <= MONEY_MAX):
            raise UsageError(f"--round-to must be a positive amount in the instance unit (at most "
                             f"{MONEY_MAX:g}), got {round_to!r}")
        rnd = round_from_flags(instance, flags)
        inst, opts, rargs = rnd.inst, rnd.opts, rnd.rargs
        excel = Excel(inst, csv_bom, lang)
        result = _solve_or_record(inst, opts, rargs, output, excel)
        if round_to is not None:  # after the solve, before writing; re-checked with tolerance UNIT
            result = round_result(inst, opts, result, round_to)
        effect = None
        if rnd.merged:  # what the merger changes (year by year when phased)
            effect = merge_effect_rounds(solve_round(rnd.without_merges, opts, **rargs).allocation, result.allocation)
            result.summary["merge_effect"] = json.loads(effect.to_json(orient="records"))
        guarantee = _guarantee(inst, opts, rargs, result)
        if output is not None:  # files first: a closed stdout (| head) must not lose them
            _write_output(result, effect, output, excel)
        _print_result(result, fmt, inst.unit, csv_bom)
        if explain and fmt == "table":
            click.echo("")
            click.echo(explain_table(result))
        if effect is not None and fmt == "table":
            click.echo("")
            click.echo(merge_effect_table(effect, inst.unit, guarantee))
        elif guarantee is not None and fmt == "table":
            click.echo(guarantee_text(guarantee, inst.unit))


def _guarantee(inst: Instance, opts: SolveOptions, rargs: dict, result: Result) -> list[dict] | None:
    """With merged units and the merger guarantee on: whether it bound and by how much (the
    same round solved without it), recorded in the summary as ``merger_guarantee``."""
    cfg = inst.policy.merged(opts.policy) if opts.policy is not None else inst.policy
    if not cfg.merger_guarantee or not inst.applied.get("merges"):
        return None
    off = (opts.policy or PolicyConfig()).merged({"merger_guarantee": False})
    free = solve_round(inst, dataclasses.replace(opts, policy=off, price_of_fairness=False), **rargs)
    tol = result.summary.get("verified", {}).get("tolerance", {}).get("money", 1e-6)
    result.summary["merger_guarantee"] = guarantee_effect(result.allocation, free.allocation, tol)
    return result.summary["merger_guarantee"]


@dataclass(frozen=True)
class Excel:
    """What the outputs meant for Excel need: the instance (its sources sheet), --csv-bom, --lang."""
    inst: Instance
    csv_bom: bool = False
    lang: str = "en"


def _write_output(result: Result, effect, output: Path, excel: Excel) -> None:
    """The run as one workbook (``--output NAME.xlsx``) or as the files of a folder."""
    if is_xlsx(output):
        extra = {"merge_effect": effect} if effect is not None else None
        atomic_write_bytes(output, solve_workbook(result, excel.inst, excel.lang, extra))
        return
    files = result_files(result)
    if effect is not None:
        files["merge_effect.csv"] = allocation_csv(effect).encode()
    write_run(output, with_bom(files, excel.csv_bom), SOLVE_OUTPUTS)


def _solve_or_record(inst: Instance, opts: SolveOptions, rargs: dict, output: Path | None, excel: Excel) -> Result:
    """The round's Result; when infeasible, the run in ``output`` becomes summary.json alone
    (with the diagnosis; no allocation.csv of an earlier run stays) before the error propagates."""
    try:
        return solve_round(inst, opts, **rargs)
    except InfeasibleError as exc:
        if output is not None:
            _write_output(Result(pd.DataFrame(), exc.summary), None, output, excel)
        raise


def _print_result(result: Result, fmt: str, unit: str, csv_bom: bool = False) -> None:
    if fmt == "csv":
        click.echo(("\ufeff" if csv_bom else "") + allocation_csv(result.allocation), nl=False)
    elif fmt == "json":
        payload = {"summary": result.summary,
                   "allocation": json.loads(result.allocation.to_json(orient="records"))}
        click.echo(summary_json(payload), nl=False)
    else:
        click.echo(round_table(result, unit))
        if "surplus" in result.summary:   # --spend all: what the surplus stage paid out, and what not
            click.echo(surplus_text(result.summary["surplus"], unit))
        click.echo(unfunded_line(result.summary), nl=False)


def unfunded_line(summary: dict) -> str:
    """One line naming the regions left below their threshold with no transfer ('' if none)."""
    names = summary.get("below_threshold_unfunded") or []
    return f"below threshold with no transfer: {', '.join(names)}\n" if names else ""
