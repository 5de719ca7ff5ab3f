"""``equalize template``: an empty, documented instance workbook to fill in Excel."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import reported_errors
from optimizer.core.errors import UsageError
from optimizer.io.workbook_format import SUFFIXES
from optimizer.io.workbook_write import template_bytes
from optimizer.io.writers import atomic_write_bytes


@click.command("template")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def template_cmd(file: Path):
    """Write an empty instance workbook FILE.xlsx: a README sheet explaining every sheet and
    column, the settings keys to fill, the regions header, data validation on the numbers.

    \b
    Example:
      equalize template new.xlsx      # fill it in, then: equalize validate new.xlsx
    """
    with reported_errors():
        if file.suffix.lower() not in SUFFIXES:
            raise UsageError(f"template {file}: the file name must end in .xlsx")
        atomic_write_bytes(file, template_bytes())
        click.echo(f"wrote {file} (fill in the settings and regions sheets; the README sheet explains each)")
