"""The ``equalize`` command line: the only layer that prints or exits.

This module only assembles the click group from the command modules (one per command,
imported when the command runs: ``COMMANDS``);
what they share (error reporting, option decorators) is in optimizer/cli/common.py.
Entry point: ``optimizer.cli:main``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from optimizer.core.version import __version__

# numpy's OpenBLAS on one thread, set before any command imports numpy (a caller's own
# setting wins). Our BLAS calls are vector dot products (1e5-1e6 entries: tens of
# microseconds on one core); a second thread only adds its wake-up, milliseconds per call on a
# busy machine (the price of fairness with group floors makes ~200: 20% of the run under
# load), and it splits each sum by the core count, so the last digit of a figure depended on
# the machine that computed it (the same round gave max_mean_level ...177 on 2 threads and
# ...1773 on 1).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# command name -> "module:attribute". Loaded lazily (click's documented LazyGroup pattern):
# `equalize solve` imports the solve command's modules only, never batch's (dask, its
# executors) or sweep's; start-up is part of every run (issue 14). Not an import cycle dodge:
# every command module stays importable on its own, and the help lists them all.
COMMANDS = {
    "solve": "optimizer.cli.solve:solve_cmd",
    "validate": "optimizer.cli.validate:validate_cmd",
    "objectives": "optimizer.cli.objectives:objectives_cmd",
    "generate": "optimizer.cli.generate:generate_cmd",
    "scenarios": "optimizer.cli.scenarios:scenarios_cmd",
    "batch": "optimizer.cli.batch:batch_cmd",
    "compare": "optimizer.cli.compare:compare_cmd",
    "sweep": "optimizer.cli.sweep:sweep_cmd",
    "verify": "optimizer.cli.verify:verify_cmd",
    "report": "optimizer.cli.report:report_cmd",
    "template": "optimizer.cli.template:template_cmd",
    "convert": "optimizer.cli.convert:convert_cmd",
    "explain": "optimizer.cli.explain:explain_cmd",
    "export": "optimizer.cli.export:export_cmd",
}


def load_command(name: str) -> click.Command:
    """The click command registered as ``name`` in ``COMMANDS`` (its module imported now)."""
    module, attr = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module), attr)
    if not isinstance(command, click.Command) or command.name != name:
        raise RuntimeError(f"{COMMANDS[name]} is not the click command '{name}'")
    return command


class EqualizeGroup(click.Group):
    """click's group, with a bad option or argument reported as the rest of our bad input is:
    one line naming the option, exit 2 (click's own report is three lines with a usage)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load_command(cmd_name))
        return super().get_command(ctx, cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:   # bare `equalize`: the help, as click gives it
            click.echo(exc.format_message(), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
            click.echo(f"error: {where}{exc.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=EqualizeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="equalize")
def main() -> None:
    """Allocate an equalization budget among regions with linear programming.

    \b
    Example:
      equalize solve instances/korea-17
      equalize solve instances/korea-17 --objective min-shortfall --budget 0.9x --output out/
    """


if __name__ == "__main__":  # pragma: no cover
    main()
