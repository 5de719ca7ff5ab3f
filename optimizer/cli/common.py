"""What the commands share: the error reporter (exceptions -> one-line messages and exit
codes), the INSTANCE argument and the option decorators of objectives, policies, scenarios
and multi-year rounds. Nothing here prints but the error messages and input notices."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from optimizer.core import limits as lim
from optimizer.core.errors import (
    EqualizeError,
    InfeasibleError,
    InputError,
    SolverError,
    UsageError,
    os_error_text,
)
from optimizer.core.instance import SPEND_MODES, SURPLUS_RULES
from optimizer.core.phasing import Phasing
from optimizer.core.policy import FIELDS, PolicyConfig
from optimizer.engine.formula_round import FORMULA_OPTIONS_KEY
from optimizer.engine.options import SCARCITY_RULES, THRESHOLD_MODES
from optimizer.formulas.params import parse_formula_options
from optimizer.io.phasing import parse_phasing
from optimizer.io.workbook_read import relocate

DEBUG_VARIABLE = "EQUALIZE_DEBUG"   # set to 1: an internal error shows its Python trace


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Every command runs inside this: 0 solved, 1 infeasible, solver failure, failed write or
    internal error, 2 bad input or usage (an operating-system error outside the writers, which
    raise ``WriteError``, is a path the user gave that cannot be read). Every message is one line
    per problem; no traceback reaches an analyst (unless EQUALIZE_DEBUG=1 for an internal error)."""
    try:
        yield
    except EqualizeError as exc:
        sys.exit(_report_ours(exc))
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise                                   # click reports its own usage errors (exit 2)
    except BrokenPipeError:
        _quiet_stdout()                         # `| head` closed the pipe: the files are written
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # last resort: writes are WriteErrors, so this is a path we were given
        click.echo(f"error: {one_line(os_error_text(exc))}", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo("error: out of memory", err=True)
        sys.exit(1)
    except Exception as exc:                    # a bug: one line, the trace only on request
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {one_line(str(exc))} (please report it; run "
                   f"with {DEBUG_VARIABLE}=1 for the trace)", err=True)
        sys.exit(1)


def _report_ours(exc: EqualizeError) -> int:
    """Print one of our errors; its exit code."""
    if isinstance(exc, InputError):
        for problem in relocate(exc.problems):   # a workbook's problems at their sheet, row and column
            click.echo(f"error: {one_line(str(problem))}", err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing was solved or written.", err=True)
        return 2
    if isinstance(exc, UsageError):
        click.echo(f"error: {one_line(str(exc))}", err=True)
        return 2
    # isinstance, not type(): subclasses (the post-solve check's VerificationError) keep the prefix
    prefix = ("infeasible" if isinstance(exc, InfeasibleError)
              else "solver error" if isinstance(exc, SolverError) else "error")
    first, *more = str(exc).split("\n") if isinstance(exc, InfeasibleError) else [str(exc)]
    click.echo(f"{prefix}: {one_line(first)}", err=True)
    for line in more:   # a diagnosis: one line per conflicting family (engine/conflicts.py)
        click.echo(f"  {one_line(line)}", err=True)
    return 1


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` on one line (newlines and other control characters shown escaped), at most
    ``limit`` characters."""
    flat = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that Python's own flush at exit does not complain."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def instance_argument(f):
    return click.argument("instance", type=click.Path(path_type=Path))(f)


def echo_notices(inst) -> None:
    for notice in inst.notices:
        click.echo(f"notice: {notice}", err=True)


OBJECTIVE_HELP = "Objective name (see 'equalize objectives'); default: the instance's [objective] name, else maxmin."


def round_inputs(f, objective_help: str | None = None):
    """--objective, --budget, --threshold: what every solving command asks first."""
    f = click.option("--threshold", "-t", type=float, help="Default service-level threshold (overrides "
                     "[threshold] level; per-region overrides in regions.csv still apply).")(f)
    f = click.option("--budget", "-b", help="Budget in the instance unit, or a multiple of the instance's "
                     "own budget such as 1.2x.")(f)
    return click.option("--objective", "-o", help=objective_help or OBJECTIVE_HELP)(f)


class FiniteRange(click.FloatRange):
    """click's FloatRange that also refuses nan and the infinities (nan passes every comparison
    of FloatRange unnoticed): one line naming the flag, exit 2."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def objective_flags(f):
    """The objective's options and --no-price-of-fairness (commands that report one solve)."""
    f = click.option("--no-price-of-fairness", is_flag=True,
                     help="Skip the extra max-mean solve that gives the price of fairness.")(f)
    return objective_option_flags(f)


def objective_option_flags(f):
    """--thresholds, --scarcity, --alpha, --weights, --breakpoints, --gini-form, --formula-option."""
    opts = [
        click.option("--thresholds", type=click.Choice(THRESHOLD_MODES), default=None,
                     help="hard: thresholds are constraints (infeasible -> exit 1 with the diagnosis; "
                          "the default); soft: thresholds may be missed, --scarcity decides who gets the scarce "
                          "money; auto: hard when the closed-form diagnosis "
                          "says the thresholds can all be met, else soft. Also [objective] thresholds."),
        # expose_value=False: kept in the click context and read by objective_options_from, so
        # every command with the objective flags gets it without a new parameter of its own
        click.option("--scarcity", type=click.Choice(SCARCITY_RULES), default=None, expose_value=False,
                     callback=_remember_scarcity,
                     help="When soft thresholds cannot all be met: objective (default) = the thresholds "
                          "become caps and the objective decides who gets the money; shortfall-first = "
                          "minimise the weighted shortfall first, then the objective with it held. "
                          "Also [objective] scarcity (docs/objectives.md, Scarcity)."),
        click.option("--alpha", type=float, default=None,
                     help="cvar: worst-off population share in (0, 1] (default 0.1)."),
        click.option("--weights", default=None,
                     help="owa: comma-separated non-increasing weights of equal population slices, "
                          "worst-off first (default 10,9,...,1: deciles)."),
        click.option("--breakpoints", type=int, default=None,
                     help="log-welfare: tangent points per region (default 32)."),
        click.option("--gini-form", type=click.Choice(["auto", "pairwise", "chain"]), default=None,
                     help="min-gini: pairwise LP (n <= 200 by default) or the compact order-cone (chain) form."),
        click.option("--formula-option", "formula_option", multiple=True, expose_value=False,
                     callback=_formula_option, metavar="NAME=VALUE",
                     help="A formula's parameter (repeatable), e.g. revenue_share=0.7 or date=2026-01-01; "
                          "default: the law's value in force (docs/objectives.md, Formulas)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _formula_option(ctx: click.Context, param, value) -> None:
    # not a command argument: every command with objective flags takes it without a new
    # parameter; objective_options_from hands it on as objective_options["formula"]
    ctx.meta[FORMULA_OPTIONS_KEY] = value


SCARCITY_KEY = "equalize.scarcity"


def _remember_scarcity(ctx: click.Context, _param, value):
    if value is not None:
        ctx.meta[SCARCITY_KEY] = value
    return value


def objective_options_from(thresholds=None, alpha=None, weights=None, breakpoints=None,
                           gini_form=None) -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    raw = {"thresholds": thresholds, "alpha": alpha, "weights": weights, "breakpoints": breakpoints,
           "gini_form": gini_form, "scarcity": ctx.meta.get(SCARCITY_KEY) if ctx is not None else None}
    items = ctx.meta.get(FORMULA_OPTIONS_KEY) if ctx is not None else None
    if items:
        raw[FORMULA_OPTIONS_KEY] = parse_formula_options(items)
    return {k: v for k, v in raw.items() if v is not None}


def policy_options(f):
    """One CLI flag per [policy] key: --hold-harmless 0.9, --no-overtaking, ..."""
    for key in reversed(list(FIELDS)):
        kind, lo, hi, text = FIELDS[key]
        flag = "--" + key.replace("_", "-")
        if kind == "flag":
            f = click.option(flag, f"policy_{key}", is_flag=True, default=None, help=f"Policy: {text}.")(f)
        else:
            rng = click.FloatRange(min=lo, max=hi) if lo is not None else float
            f = click.option(flag, f"policy_{key}", type=rng, default=None, help=f"Policy: {text}.")(f)
    return f


def scenario_options(f):
    f = click.option("--merge-group", "merge_groups", multiple=True,
                     help="Merge the members of a 'merger' group of groups.csv (repeatable).")(f)
    f = click.option("--merge", "merges", multiple=True,
                     help="Merge regions into one, e.g. --merge busan,gyeongnam (repeatable); the "
                          "output reports what the merger changes.")(f)
    f = click.option("--scenario", "-S", help="Apply [scenarios.NAME] of instance.toml first "
                     "(see 'equalize scenarios INSTANCE').")(f)
    return f


def policy_from_flags(kwargs: dict) -> PolicyConfig | None:
    """Pop the policy_* entries of a click kwargs dict into a PolicyConfig (None if none set)."""
    values = {k[len("policy_"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("policy_")}
    values = {k: v for k, v in values.items() if v is not None}
    return PolicyConfig(**values) if values else None


def spend_options(f):
    """--spend least|all and --surplus RULE (over [budget] spend / surplus; engine/surplus.py)."""
    f = click.option("--surplus", type=click.Choice(SURPLUS_RULES), default=None,
                     help="With --spend all: how the money left after the optimum is shared: maxmin "
                          "(lift the lowest levels further; the default), proportional (to fiscal need: "
                          "every level rises alike), per-capita (equal per head). [budget] surplus.")(f)
    f = click.option("--spend", type=click.Choice(SPEND_MODES), default=None,
                     help="all: pay the whole budget out: the objective is optimised first, then what is "
                          "left is shared by --surplus without worsening it (what cannot be spent is "
                          "reported with what blocks it); least: spend what the objective needs (the "
                          "default). [budget] spend.")(f)
    return f


def round_options(f):
    f = click.option("--fairness-over", "round_fairness_over", type=click.Choice(["regions", "services"]),
                     default=None, help="With services.csv: apply the objective to region levels (default) "
                     "or to every region-service level (maxmin, min-shortfall, min-cost).")(f)
    f = click.option("--earmarked", "round_earmarked", is_flag=True, default=None,
                     help="With services.csv: transfers are earmarked per service (default: general, "
                          "spent in proportion to need).")(f)
    f = click.option("--years", "round_years", type=click.IntRange(min=1, max=100), default=None,
                     help="Multi-year phase-in over K years (overrides [phasing] years).")(f)
    return f


def round_args(kwargs: dict) -> dict:
    """Pop the round_* entries of a click kwargs dict into solve_round keyword arguments."""
    return {k[len("round_"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("round_")}


GROWTH_FLAGS = {"budget_growth": "--budget-growth", "need_growth": "--need-growth", "own_growth": "--revenue-growth"}


def growth_options(f):
    """--budget-growth, --need-growth, --revenue-growth: the [phasing] growth keys on the CLI."""
    texts = {"budget_growth": "the budget", "need_growth": "every fiscal need",
             "own_growth": "every own revenue"}
    for key in reversed(list(GROWTH_FLAGS)):
        f = click.option(GROWTH_FLAGS[key], f"growth_{key}", type=float, default=None,
                         help=f"Multi-year: yearly growth rate of {texts[key]} (e.g. 0.03; [phasing] "
                              f"{key}; from {lim.GROWTH_MIN:g} to {lim.GROWTH_MAX:g}).")(f)
    return f


def apply_growth(inst, kwargs: dict, years: int | None):
    """Pop the growth_* entries of a click kwargs dict into ``inst``'s [phasing], validated by
    the [phasing] parser (the same ranges as instance.toml); UsageError naming the flag."""
    given = {k[len("growth_"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("growth_")}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return inst
    problems: list = []
    parsed = parse_phasing(given, "command line", problems)
    if problems or parsed is None:
        key = next((k for k in given if problems and problems[0].column == f"phasing.{k}"), next(iter(given)))
        detail = problems[0].message.split(", got")[0].split("must", 1)[-1] if problems else "is invalid"
        raise UsageError(f"{GROWTH_FLAGS[key]} must{detail}, got {given[key]!r}")
    if inst.phasing is None and years is None:
        raise UsageError(f"{', '.join(GROWTH_FLAGS[k] for k in given)}: growth rates need --years or a "
                         "[phasing] table")
    base = inst.phasing or Phasing()
    if "budget_growth" in given and base.budget is not None:
        raise UsageError("--budget-growth cannot be combined with a [phasing] budget list")
    return dataclasses.replace(inst, phasing=dataclasses.replace(base, **given))


def excel_options(f):
    """--csv-bom and --lang: outputs meant for Excel (solve, compare, sweep)."""
    f = click.option("--lang", type=click.Choice(["en", "ko"]), default="en", show_default=True,
                     help="Headings of an --output NAME.xlsx workbook: ko gives Korean headings and "
                          "name_ko as the region name where the instance has it.")(f)
    f = click.option("--csv-bom", is_flag=True, help="Write the CSV files with a UTF-8 byte-order mark, "
                     "so that Excel opens them with Korean text intact.")(f)
    return f
