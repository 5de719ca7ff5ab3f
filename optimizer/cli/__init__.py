"""The ``equalize`` command line: the only layer that prints or exits.

This module only assembles the click group from the command modules (one per command);
what they share (error reporting, option decorators) is in optimizer/cli/common.py.
Entry point: ``optimizer.cli:main``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from optimizer.cli.batch import batch_cmd
from optimizer.cli.compare import compare_cmd
from optimizer.cli.convert import convert_cmd
from optimizer.cli.explain import explain_cmd
from optimizer.cli.export import export_cmd
from optimizer.cli.generate import generate_cmd
from optimizer.cli.objectives import objectives_cmd
from optimizer.cli.report import report_cmd
from optimizer.cli.scenarios import scenarios_cmd
from optimizer.cli.solve import solve_cmd
from optimizer.cli.sweep import sweep_cmd
from optimizer.cli.template import template_cmd
from optimizer.cli.validate import validate_cmd
from optimizer.cli.verify import verify_cmd
from optimizer.core.version import __version__

COMMANDS = (solve_cmd, validate_cmd, objectives_cmd, generate_cmd, scenarios_cmd, batch_cmd, compare_cmd,
            sweep_cmd, verify_cmd, report_cmd, template_cmd, convert_cmd, explain_cmd, export_cmd)


class EqualizeGroup(click.Group):
    """click's group, with a bad option or argument reported as the rest of our bad input is:
    one line naming the option, exit 2 (click's own report is three lines with a usage)."""

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


for _command in COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
