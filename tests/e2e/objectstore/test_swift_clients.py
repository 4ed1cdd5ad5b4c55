"""python-swiftclient, unmodified (its `swift` command and its library), against `stratus up`."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from swiftclient.client import ClientException, Connection

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp


def swift(cmd: list[str], *args: str, cwd: Path | None = None, ok: bool = True) -> str:
    out = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    if ok:
        assert out.returncode == 0, f"swift {args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture
def conn(stratus_up: StratusUp) -> Connection:
    return Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plain_get(url: str) -> tuple[int, bytes]:
    """GET with no token at all, as a browser would."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_stat_shows_the_admin_account(swift_cmd: list[str]) -> None:
    out = swift(swift_cmd, "stat")
    assert "Account: AUTH_admin" in out


def test_post_creates_a_container_with_metadata(swift_cmd: list[str]) -> None:
    swift(swift_cmd, "post", "-m", "Color:blue", "meta-box")
    out = swift(swift_cmd, "stat", "meta-box")
    assert "Meta Color: blue" in out
    assert "meta-box" in swift(swift_cmd, "list").split()


def test_upload_20mib_and_download_with_checksum(swift_cmd: list[str], tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(20 * 1024 * 1024))
    swift(swift_cmd, "upload", "bulk", "big.bin", cwd=tmp_path)
    stat = swift(swift_cmd, "stat", "bulk", "big.bin")
    assert f"Content Length: {20 * 1024 * 1024}" in stat
    assert hashlib.md5(src.read_bytes()).hexdigest() in stat  # the ETag
    out_dir = tmp_path / "down"
    out_dir.mkdir()
    # `swift download` checks the body's MD5 against the ETag and fails on a mismatch.
    swift(swift_cmd, "download", "bulk", "big.bin", "-o", "copy.bin", cwd=out_dir)
    assert sha256(out_dir / "copy.bin") == sha256(src)


def test_upload_tree_then_list_with_prefix_and_delimiter(
    swift_cmd: list[str], conn: Connection, tmp_path: Path
) -> None:
    files = ["tree/a.txt", "tree/sub/b.txt", "tree/sub/deep/c.txt", "tree/other/d.txt", "top.txt"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"contents of {name}\n")
    swift(swift_cmd, "upload", "trees", "tree", "top.txt", cwd=tmp_path)
    assert swift(swift_cmd, "list", "trees").split() == sorted(files)
    listed = swift(swift_cmd, "list", "trees", "--prefix", "tree/", "--delimiter", "/").split()
    assert listed == ["tree/a.txt", "tree/other/", "tree/sub/"]
    # `list --lh` (sizes, dates, types, then the total) and `--totals` (the total alone).
    total = sum(len(f"contents of {name}\n") for name in files)
    long = swift(swift_cmd, "list", "--lh", "trees").splitlines()
    assert [line.split()[-1] for line in long[:-1]] == sorted(files)
    assert all(line.split()[3] == "text/plain" for line in long[:-1]), long
    assert long[-1].strip() == str(total)
    assert swift(swift_cmd, "list", "--lh", "--totals", "trees").strip() == str(total)
    _, rows = conn.get_container("trees", prefix="tree/sub/", delimiter="/")
    assert [r.get("name") or r.get("subdir") for r in rows] == ["tree/sub/b.txt", "tree/sub/deep/"]
    _, body = conn.get_object("trees", "tree/sub/deep/c.txt")
    assert body == b"contents of tree/sub/deep/c.txt\n"


def test_copy_and_delete(swift_cmd: list[str], conn: Connection) -> None:
    conn.put_container("copies")
    conn.put_object("copies", "orig.txt", b"original bytes", headers={"X-Object-Meta-Kind": "a"})
    swift(swift_cmd, "copy", "-d", "/copies/dup.txt", "copies", "orig.txt")
    conn.copy_object("copies", "orig.txt", destination="/copies/dup2.txt")
    for name in ("dup.txt", "dup2.txt"):
        headers, body = conn.get_object("copies", name)
        assert body == b"original bytes"
        assert headers["x-object-meta-kind"] == "a"
    swift(swift_cmd, "delete", "copies", "orig.txt")
    with pytest.raises(ClientException) as exc:
        conn.head_object("copies", "orig.txt")
    assert exc.value.http_status == 404
    assert "orig.txt" not in swift(swift_cmd, "list", "copies").split()
    swift(swift_cmd, "delete", "copies")  # the container and all it holds
    with pytest.raises(ClientException) as exc:
        conn.head_container("copies")
    assert exc.value.http_status == 404


def test_public_read_container_is_readable_without_a_token(
    swift_cmd: list[str], conn: Connection
) -> None:
    conn.put_container("pub")
    conn.put_object("pub", "page.html", b"<p>hello</p>", content_type="text/html")
    url = f"{conn.get_auth()[0]}/pub/page.html"
    status, _ = plain_get(url)
    assert status in (401, 403)
    swift(swift_cmd, "post", "-r", ".r:*", "pub")
    status, body = plain_get(url)
    assert (status, body) == (200, b"<p>hello</p>")
    # Writing still needs a token.
    req = urllib.request.Request(url, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code in (401, 403)


def test_expiring_object_goes_away(conn: Connection) -> None:
    conn.put_container("ttl")
    conn.put_object("ttl", "brief", b"soon gone", headers={"X-Delete-After": "2"})
    assert conn.get_object("ttl", "brief")[1] == b"soon gone"
    status = 200
    for _ in range(100):  # up to ~20 s
        try:
            conn.head_object("ttl", "brief")
        except ClientException as exc:
            status = exc.http_status
            break
        time.sleep(0.2)
    assert status == 404


def test_second_launcher_on_the_same_data_dir_is_refused(stratus_up: StratusUp) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env["STRATUS_DATA"] = str(stratus_up.data_dir)
    out = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "another `stratus up`" in out.stderr
    assert stratus_up.auth() is not None  # the first one is untouched


def test_restart_keeps_data(stratus_up: StratusUp, conn: Connection) -> None:
    body = os.urandom(300_000)
    conn.put_container("durable")
    conn.put_object("durable", "kept.bin", body)
    conn.put_object("durable", "small.txt", b"tiny")
    children = stratus_up.children()
    # The nodes, the proxy, and the volume, image, compute, identity and console services.
    assert len(children) == stratus_up.nodes + 6
    assert stratus_up.stop(sig=signal.SIGINT) == 0  # Ctrl-C
    for pid in children:  # stopped and reaped, not orphaned
        assert not Path(f"/proc/{pid}").exists()
    stratus_up.start()
    again = Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)
    assert again.get_object("durable", "kept.bin")[1] == body
    assert again.get_object("durable", "small.txt")[1] == b"tiny"
    names = [row["name"] for row in again.get_container("durable")[1]]
    assert names == ["kept.bin", "small.txt"]
