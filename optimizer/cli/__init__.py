"""The ``equalize`` command line. The only module that prints or exits.

Every command runs inside ``reported_errors``, which turns the package's exceptions
into one-line messages and exit codes: 0 solved, 1 infeasible or solver failure,
2 bad input or usage. No traceback reaches an analyst for a problem in their data.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Iterator

import click

from models.objectives import OBJECTIVES
from optimizer import __version__
from optimizer.core.errors import EqualizeError, InfeasibleError, InputError, SolverError, UsageError
from optimizer.io.load import load_instance
from optimizer.cli.objective_flags import objective_flags, objective_options_from
from optimizer.core.result import Result
from optimizer.engine.solve import SolveOptions, solve
from optimizer.core.budget import parse_budget
from optimizer.cli.policy_options import policy_from_flags, policy_options, scenario_options
from optimizer.cli.round_options import round_args, round_options
from optimizer.engine.rounds import round_table, solve_round
from optimizer.prepare.merge import merge_effect_rounds, parse_merge
from optimizer.prepare.scenarios import prepare
from optimizer.report.tables import allocation_table, merge_effect_table
from optimizer.io.writers import allocation_csv, atomic_write_text, summary_json, write_result


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    try:
        yield
    except InputError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing was solved or written.", err=True)
        sys.exit(2)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except InfeasibleError as exc:
        click.echo(f"infeasible: {exc}", err=True)
        sys.exit(1)
    except SolverError as exc:
        click.echo(f"solver error: {exc}", err=True)
        sys.exit(1)
    except EqualizeError as exc:  # any other error of ours
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def instance_argument(f):
    return click.argument("instance", type=click.Path(path_type=Path))(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="equalize")
def main() -> None:
    """Allocate an equalization budget among regions with linear programming.

    \b
    Example:
      equalize solve instances/korea-17
      equalize solve instances/korea-17 --objective min-shortfall --budget 0.9x --output out/
    """


@main.command("solve")
@instance_argument
@click.option("--objective", "-o", help="Objective name (see 'equalize objectives'); default: the "
              "instance's [objective] name, else maxmin.")
@click.option("--budget", "-b", help="Budget in the instance unit, or a multiple of the instance's "
              "own budget such as 1.2x.")
@click.option("--threshold", "-t", type=float, help="Default service-level threshold (overrides "
              "[threshold] level; per-region overrides in regions.csv still apply).")
@click.option("--output", "-O", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for allocation.csv and summary.json.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="What to print on standard output.")
@click.option("--engine", type=click.Choice(["direct", "pyomo"]), default="direct", show_default=True,
              help="direct: the vectorised LP to highspy; pyomo: the Pyomo model through "
                   "Pyomo's HiGHS interface (same LP, slower).")
@click.option("--no-tie-break", is_flag=True, help="Skip the second solve that picks the least "
              "total transfer among optimal splits.")
@click.option("--time-limit", type=float, help="HiGHS time limit in seconds.")
@click.option("--no-fast-path", is_flag=True, help="maxmin/leximin/min-shortfall/min-gini: always solve the LP with HiGHS "
              "instead of the certified closed form / fixed-level LPs (same answer, slower).")
@scenario_options
@policy_options
@round_options
@objective_flags
def solve_cmd(instance: Path, objective, budget, threshold, output, fmt, engine, no_tie_break, time_limit,
              no_fast_path, scenario, merges, merge_groups, thresholds, alpha, weights, breakpoints, gini_form,
              no_price_of_fairness, **policy_flags):
    """Solve INSTANCE (a folder with instance.toml and regions.csv) and print the allocation.

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
        inst = load_instance(instance)
        for notice in inst.notices:
            click.echo(f"notice: {notice}", err=True)
        without_merges = prepare(inst, scenario)
        inst = prepare(without_merges, None, [parse_merge(m) for m in merges], list(merge_groups))
        opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget),
                            threshold=threshold, engine=engine, tie_break=not no_tie_break,
                            fast_path=not no_fast_path, time_limit=time_limit, policy=policy_from_flags(policy_flags),
                            objective_options=objective_options_from(thresholds, alpha, weights,
                                                                     breakpoints, gini_form),
                            price_of_fairness=not no_price_of_fairness)
        rargs = round_args(policy_flags)
        try:
            result = solve_round(inst, opts, **rargs)
        except InfeasibleError as exc:
            if output is not None:
                stale = output / "allocation.csv"
                atomic_write_text(output / "summary.json", summary_json(exc.summary))
                if stale.exists():
                    stale.unlink()
            raise
        effect = None
        if merges or merge_groups:  # what the merger changes (year by year when phased)
            effect = merge_effect_rounds(solve_round(without_merges, opts, **rargs).allocation, result.allocation)
            result.summary["merge_effect"] = json.loads(effect.to_json(orient="records"))
        if output is not None:
            write_result(result, output)
            if effect is not None:
                atomic_write_text(output / "merge_effect.csv", allocation_csv(effect))
        _print_result(result, fmt, inst.unit)
        if effect is not None and fmt == "table":
            click.echo("")
            click.echo(merge_effect_table(effect, inst.unit))


def _print_result(result: Result, fmt: str, unit: str) -> None:
    if fmt == "csv":
        click.echo(allocation_csv(result.allocation), nl=False)
    elif fmt == "json":
        payload = {"summary": result.summary,
                   "allocation": json.loads(result.allocation.to_json(orient="records"))}
        click.echo(summary_json(payload), nl=False)
    else:
        click.echo(round_table(result, unit))


@main.command("validate")
@instance_argument
def validate_cmd(instance: Path):
    """Check INSTANCE and report every problem at once (exit 2 if any).

    \b
    Example:
      equalize validate instances/korea-17
    """
    with reported_errors():
        inst = load_instance(instance)
        for notice in inst.notices:
            click.echo(f"notice: {notice}", err=True)
        click.echo(f"ok: {inst.name}: {inst.n} regions, budget {inst.budget:,.6g} {inst.unit}, "
                   f"threshold {inst.threshold:g}")


@main.command("objectives")
def objectives_cmd():
    """List the objectives, one line each.

    \b
    Example:
      equalize objectives
    """
    width = max(len(n) for n in OBJECTIVES)
    for name, spec in OBJECTIVES.items():
        click.echo(f"{name:<{width}}  {spec.summary}")


@main.command("generate")
@click.option("--regions", "-n", type=click.IntRange(min=1), required=True, help="Number of regions.")
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--threshold", type=click.FloatRange(min=0), default=0.9, show_default=True)
@click.option("--budget-share", type=click.FloatRange(min=0), default=1.1, show_default=True,
              help="Budget as a multiple of the least budget meeting the threshold.")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def generate_cmd(regions: int, seed: int, threshold: float, budget_share: float, folder: Path):
    """Write a synthetic, realistic instance with N regions into FOLDER.

    \b
    Example:
      equalize generate --regions 1000 --seed 7 /tmp/gen-1000
    """
    from optimizer.io.generate import generate
    from optimizer.io.writers import atomic_write_text as write

    with reported_errors():
        g = generate(regions, seed, threshold, budget_share)
        write(folder / "regions.csv", g.regions.to_csv(index=False, lineterminator="\n"))
        write(folder / "instance.toml", g.toml)
        click.echo(f"wrote {folder} ({regions} regions, budget {g.budget:,.6g} KRW billion)")


@main.command("scenarios")
@instance_argument
@click.option("--compare", is_flag=True, help="Solve the base instance and every scenario and print "
              "one line each.")
@click.option("--objective", "-o", help="Objective for --compare (default: each scenario's own).")
@click.option("--output", "-O", type=click.Path(path_type=Path, file_okay=False),
              help="With --compare: write scenarios.csv there.")
def scenarios_cmd(instance: Path, compare: bool, objective, output):
    """List the [scenarios.NAME] of INSTANCE, or compare them (--compare).

    \b
    Example:
      equalize scenarios instances/korea-17
      equalize scenarios instances/korea-17 --compare
      equalize solve instances/korea-17 --scenario busan-gyeongnam-merger
    """
    import pandas as pd

    from optimizer.prepare.scenarios import compare_scenarios

    with reported_errors():
        inst = load_instance(instance)
        found = inst.scenarios
        if not compare:
            width = max([len(n) for n in found] + [4])
            for name, sc in found.items():
                click.echo(f"{name:<{width}}  {sc.description}")
            if not found:
                click.echo("no scenarios in instance.toml ([scenarios.NAME] tables)")
            return
        rows = compare_scenarios(inst, list(found), lambda i: solve(i, SolveOptions(objective=objective)))
        frame = pd.DataFrame(rows)
        if output is not None:
            atomic_write_text(output / "scenarios.csv", allocation_csv(frame))
        shown = frame.drop(columns=["diagnosis"]).to_string(index=False, float_format=lambda x: f"{x:,.4f}")
        click.echo(shown)
        for r in rows:
            if r["status"] != "optimal":
                click.echo(f"{r['scenario']}: {r['status']}: {r['diagnosis']}")


def _register_commands() -> None:
    from optimizer.cli.batch import batch_cmd
    from optimizer.cli.compare import compare_cmd
    from optimizer.cli.sweep import sweep_cmd

    main.add_command(batch_cmd)
    main.add_command(compare_cmd)
    main.add_command(sweep_cmd)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
