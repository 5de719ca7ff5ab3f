"""``equalize convert``: an instance folder to one .xlsx workbook, and back."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import reported_errors
from optimizer.io.workbook_write import convert_instance


@click.command("convert")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
def convert_cmd(src: Path, dst: Path):
    """Convert the instance SRC (a folder or a .xlsx workbook) into DST (the other kind).

    \b
    Example:
      equalize convert instances/korea-17 korea-17.xlsx
      equalize convert korea-17.xlsx /tmp/korea-17
    SRC is validated first (exit 2 on bad input, nothing written); the workbook's layout is
    in docs/instance-format.md ("Workbook") and in its README sheet.
    """
    with reported_errors():
        kind = convert_instance(src, dst)
        click.echo(f"wrote {dst} ({kind})")
