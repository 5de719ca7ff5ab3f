"""``equalize export``: the LP of record of one run as an .lp or .mps file (engine/export.py)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from optimizer.cli.common import instance_argument, reported_errors
from optimizer.cli.round_flags import NO_TIE_BREAK_FLAG, round_flags, round_from_flags
from optimizer.core.errors import UsageError
from optimizer.engine.export import export_lp
from optimizer.prepare.services import services_frame

MULTI_LP_FLAGS = (("--years", "years"), ("--earmarked", "earmarked"), ("--fairness-over services", "fairness_over"))


@click.command("export")
@instance_argument
@round_flags
@NO_TIE_BREAK_FLAG
@click.option("--lp", "lp_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the LP in CPLEX LP format to this file.")
@click.option("--mps", "mps_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the LP in (free) MPS format to this file.")
def export_cmd(instance: Path, lp_file, mps_file, **flags):
    """Write the LP of record of the run the same options give 'equalize solve', in the
    instance unit, with names carrying the region ids (transfer_busan, ...). Solving the
    file with HiGHS alone gives the solve's objective_value (sequences of LPs: the final
    stage, said in the header comment). Under --spend all (or [budget] spend = "all") the
    file is the objective's LP: the surplus stage that pays out the rest after it keeps the
    optimum (engine/surplus.py) and is not in the file.

    \b
    Example:
      equalize export instances/korea-17 -o maxmin --lp korea-maxmin.lp
      equalize export instances/korea-17 -o min-cost --hold-harmless 0.9 --mps korea.mps
    Exit codes: 0 written, 1 infeasible, 2 bad input.
    """
    with reported_errors():
        if (lp_file is None) == (mps_file is None):
            raise UsageError("equalize export: give exactly one of --lp FILE or --mps FILE")
        rnd = round_from_flags(instance, flags)
        inst, opts = rnd.inst, rnd.opts
        multi = [flag for flag, key in MULTI_LP_FLAGS if rnd.rargs.get(key) not in (None, False, "regions")]
        if multi:
            raise UsageError(f"{' and '.join(multi)}: equalize export writes single-round LPs, not "
                             "multi-year or service rounds")
        if inst.phasing is not None or services_frame(inst) is not None:
            raise UsageError("equalize export writes single-round LPs; this instance has [phasing] or "
                             "services.csv (multi-LP rounds)")
        path, fmt = (lp_file, "lp") if lp_file is not None else (mps_file, "mps")
        out = export_lp(inst, opts, path, fmt, "equalize " + shlex.join(sys.argv[1:]))
        click.echo(f"wrote {path} ({out.lp.num_col} columns, {out.lp.num_row} rows; "
                   f"optimum {out.expected:.12g})")
