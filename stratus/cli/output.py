"""Printing for commands: a table for people, JSON for scripts."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table (rich), plain so that it reads the same in a pipe or a log."""
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style=None)
    for h in headers:
        grid.add_column(str(h), no_wrap=True, overflow="ignore")
    for row in rows:
        grid.add_row(*(str(c) for c in row))
    out = io.StringIO()
    # Wide enough never to fold a cell; color and markup off: cells are data, not markup.
    console = Console(file=out, width=100_000, color_system=None, markup=False, emoji=False)
    console.print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines() if line.strip())
