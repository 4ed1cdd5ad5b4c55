"""Printing for commands: a table for people, JSON for scripts.

``show`` is the one formatter of API objects: ``--json`` prints them exactly as
the API gave them; for people, a FIELD / VALUE table whose cells read as text
(times in ISO 8601, lists comma-separated, objects as compact JSON, links
left out). ``plain_text`` strips what a terminal would interpret (escape and
control sequences) from text a guest or a remote side wrote.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
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


# Keys whose numbers are Unix times (seconds); printed as ISO 8601 for people. (Not
# "checked": backup-verify's count of chunks checked.)
_TIME_KEY = re.compile(r"(^|_)(at|time|timestamp|expires|created|updated)$")
MAX_CELL = 120


def show(args: argparse.Namespace, value: Any, text: str | None = None) -> int:
    """Print ``value`` as JSON (``--json``), else ``text``, else a FIELD / VALUE table."""
    if getattr(args, "json", False):
        emit_json(value)
    elif text is not None:
        print(text)
    elif isinstance(value, dict):
        print(fields(value))
    return 0


def fields(value: dict[str, Any]) -> str:
    """An object as a FIELD / VALUE table, sorted by field, links left out."""
    rows = sorted((k, cell(v, k)) for k, v in value.items() if not _is_links(k))
    return table(("FIELD", "VALUE"), rows)


def pairs(items: Iterable[tuple[str, Any]]) -> str:
    """Labelled values in the given order, one a line, the values aligned after the labels.

    Values are whole (never cut to a table cell's width): a line of its own is what a
    person copies, such as an attachment's ``iscsi://`` URL.
    """
    rows = [(str(k), cell(v, str(k), limit=None)) for k, v in items]
    width = max((len(k) for k, _ in rows), default=0) + 2
    return "\n".join(f"{k:<{width}}{v}".rstrip() for k, v in rows)


def cell(value: Any, key: str = "", limit: int | None = MAX_CELL) -> str:
    """One value as text a person reads: no Python reprs, times in ISO 8601.

    Longer than ``limit`` characters (None: no limit), it is cut with an ellipsis.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and key and _TIME_KEY.search(key.lower()):
        return iso_time(value)
    if isinstance(value, list | tuple) and all(_scalar(v) for v in value):
        text = ", ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)
    else:
        text = str(value)
    text = plain_text(text).replace("\n", " ")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def iso_time(seconds: float) -> str:
    """A Unix time as ISO 8601 UTC (whole seconds)."""
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_links(key: str) -> bool:
    return key == "links" or key.endswith("_links")


# ECMA-48: OSC strings (to BEL or ST), CSI sequences, other two-byte escapes, then
# the C0 controls (bar tab and newline) and DEL.
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


def plain_text(text: str) -> str:
    """``text`` without terminal escape and control sequences.

    A carriage return ends a line as a terminal shows it: what follows the last one
    of a line overwrote what came before it.
    """
    text = text.replace("\r\n", "\n")
    text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))
    return _ESCAPES.sub("", text)
