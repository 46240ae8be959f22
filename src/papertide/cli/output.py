"""How commands print data: tables for a person at a terminal, tab-separated text or JSON lines for programs.

One convention for every command (README: CLI reference): ``--json`` prints JSON lines, one
object per line, for every command: a list (search hits, subscribers, members) gives one line
per item, a single result (a trending page in the API's shape, evaluation metrics) one line.
Without ``--json``, a list is a table on a terminal and plain tab-separated text with a header
line when stdout is a pipe or a file, so nothing is cut to fit 80 columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import typer
from rich.table import Table
from rich.text import Text

from papertide.cli.context import stdout


def print_json_line(payload: object) -> None:
    """One JSON object on one line of stdout."""
    stdout.print(json.dumps(payload, ensure_ascii=False, default=str), markup=False, highlight=False)


def _cell(value: str) -> str:
    # A tab or line break inside a value would break the columns of the plain form.
    return " ".join(value.split())


def print_rows(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table on a terminal, else tab-separated lines (header first) that keep every cell whole."""
    if stdout.is_terminal:
        table = Table(*headers)
        for row in rows:
            # Text, not markup: a stored value like "[b]" is shown as typed.
            table.add_row(*(Text(value) for value in row))
        stdout.print(table)
        return
    for row in [headers, *rows]:
        # click.echo, not the rich console: rich would expand the tabs into spaces.
        typer.echo("\t".join(_cell(value) for value in row))
