"""The people-facing output of commands: rich tables and the backup progress lines."""

from __future__ import annotations

import pytest

from stratus.cli.output import table
from stratus.cli.volume_cmd import Progress


def test_table_aligns_columns_and_keeps_cells_literal() -> None:
    long = "x" * 300
    text = table(("ID", "NAME"), [("1", "[bold]not markup[/bold]"), ("22", long)])
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "NAME"]
    assert set(lines[1]) <= {"─", " "}  # the rule under the header
    assert "[bold]not markup[/bold]" in lines[2]  # user data is never styled or eaten
    assert lines[3].endswith(long)  # long cells are not folded or cut
    assert lines[2].index("[bold]") == lines[3].index("x") == lines[0].index("NAME")


def test_progress_in_a_log_is_a_line_per_ten_percent(capsys: pytest.CaptureFixture) -> None:
    bar = Progress("backup", quiet=False)
    for pct in (0, 3, 12, 18, 55):
        bar({"progress": pct, "status": "backing-up"})
    bar({"progress": 0, "status": "available"})
    bar.done()
    assert capsys.readouterr().err.split("\n") == [
        "backup: 0%", "backup: 12%", "backup: 55%", "backup: 100%", "",
    ]  # fmt: skip
    quiet = Progress("restore", quiet=True)
    quiet({"progress": 50})
    quiet.done()
    assert capsys.readouterr().err == ""
