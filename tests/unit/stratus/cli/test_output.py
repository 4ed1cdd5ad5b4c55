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


def test_fields_read_as_text_for_people() -> None:
    from stratus.cli.output import fields

    text = fields({
        "links": [{"href": "http://x/v3/p/backups/1", "rel": "self"}],
        "volumes_links": [],
        "created": 1765110000,
        "verified_at": 1765110000.25,
        "attachments": [{"server_id": "s1", "device": None}],
        "names": ["a", "b"],
        "ok": True,
        "fail_reason": None,
    })  # fmt: skip
    rows = dict(line.split(None, 1) if " " in line else (line, "") for line in
                text.splitlines()[2:])  # fmt: skip
    assert "links" not in rows and "volumes_links" not in rows
    assert rows["created"] == rows["verified_at"] == "2025-12-07T12:20:00Z"
    assert rows["attachments"] == '[{"device": null, "server_id": "s1"}]'
    assert rows["names"] == "a, b" and rows["ok"] == "yes" and rows["fail_reason"] == ""


def test_labels_never_run_into_their_values() -> None:
    from stratus.cli.output import pairs

    text = pairs([("attachment", "a1"), ("target_portal", "127.0.0.1:3260"), ("lun", 0)])
    assert text.splitlines() == [
        "attachment     a1",
        "target_portal  127.0.0.1:3260",
        "lun            0",
    ]
    # A value on a line of its own is whole: `volume attach`'s iscsi:// URL is copied.
    url = "iscsi://att-" + "a" * 36 + "%" + "p" * 32 + "@127.0.0.1:3260/iqn." + "v" * 80 + "/0"
    assert pairs([("url", url)]) == f"url  {url}"
    # backup-verify prints the verify result's "at" (a Unix time) this way: as ISO 8601.
    assert pairs([("checked", 3), ("at", 1765110000.5)]).splitlines() == [
        "checked  3",
        "at       2025-12-07T12:20:00Z",
    ]


def test_plain_text_drops_what_a_terminal_would_interpret() -> None:
    from stratus.cli.output import plain_text

    raw = (
        "\x1b[1;31mboot\x1b[0m ok\r\n\x1b]0;owned\x07title\x1b]2;x\x1b\\ gone\n"
        "10%\r100%\n\x1b[2J\x1b[Hclear\x1b(B\x07\x08\ttab\n"
    )
    assert plain_text(raw) == "boot ok\ntitle gone\n100%\nclear\ttab\n"
    assert plain_text("plain\ntext\n") == "plain\ntext\n"
