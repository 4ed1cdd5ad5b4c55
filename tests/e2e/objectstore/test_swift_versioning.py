"""Object versioning and legacy versioned writes with unmodified python-swiftclient.

The `swift` command turns versioning on (``swift post -H X-Versions-Enabled:true``),
shows it (``swift stat``), lists versions (``swift list --versions``); the
library reads one version by its id (``query_string='version-id=...'``),
removes one, and sets a legacy ``X-Versions-Location`` archive.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from swiftclient.client import Connection

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp

BOX = "versions-box"


def swift(cmd: list[str], *args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    assert out.returncode == 0, f"swift {args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def test_object_versioning(stratus_up: StratusUp, swift_cmd: list[str], tmp_path: Path) -> None:
    conn = Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)
    swift(swift_cmd, "post", "-H", "X-Versions-Enabled: true", BOX)
    assert "X-Versions-Enabled: True" in swift(swift_cmd, "stat", BOX)
    (tmp_path / "doc.txt").write_text("first\n")
    swift(swift_cmd, "upload", BOX, "doc.txt", cwd=tmp_path)
    (tmp_path / "doc.txt").write_text("second, longer\n")
    swift(swift_cmd, "upload", BOX, "doc.txt", cwd=tmp_path)
    listed = swift(swift_cmd, "list", "--versions", BOX).splitlines()
    assert len(listed) == 2 and all(line.split()[-1] == "doc.txt" for line in listed)
    ids = [line.split()[3] for line in listed]  # size, date, time, version id, type, name
    headers, body = conn.get_object(BOX, "doc.txt")
    assert (body, headers["x-object-version-id"]) == (b"second, longer\n", ids[0])
    headers, body = conn.get_object(BOX, "doc.txt", query_string=f"version-id={ids[1]}")
    assert (body, headers["x-object-version-id"]) == (b"first\n", ids[1])
    # A delete leaves a marker; the old versions stay until deleted by id.
    swift(swift_cmd, "delete", BOX, "doc.txt")
    assert len(swift(swift_cmd, "list", "--versions", BOX).splitlines()) == 3
    assert swift(swift_cmd, "list", BOX).strip() == ""
    for vid in ids:
        conn.delete_object(BOX, "doc.txt", query_string=f"version-id={vid}")
    assert len(swift(swift_cmd, "list", "--versions", BOX).splitlines()) == 1  # the marker
    # The hidden versions container never shows in the account listing.
    assert [c["name"] for c in conn.get_account()[1] if "versions" in c["name"]] == [BOX]


def test_legacy_versions_location(stratus_up: StratusUp, swift_cmd: list[str]) -> None:
    conn = Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)
    conn.put_container("legacy-archive")
    swift(swift_cmd, "post", "-H", "X-Versions-Location: legacy-archive", "legacy-box")
    assert "X-Versions-Location: legacy-archive" in swift(swift_cmd, "stat", "legacy-box")
    conn.put_object("legacy-box", "o", b"one")
    conn.put_object("legacy-box", "o", b"two")
    assert [o["name"][:5] for o in conn.get_container("legacy-archive")[1]] == ["001o/"]
    conn.delete_object("legacy-box", "o")
    assert conn.get_object("legacy-box", "o")[1] == b"one"
