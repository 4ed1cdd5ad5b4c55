"""Symlinks and static web sites against `stratus up`, as their users make them.

The unmodified `swift` command of python-swiftclient sets the site's
metadata (``swift post -m web-index:index.html``), uploads a link (``swift
upload -H X-Symlink-Target:...``) and shows it (``swift stat``); the site
is then browsed with plain HTTP and no token, as a browser would.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from swiftclient.client import Connection

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp

SITE = "symweb-site"


def swift(cmd: list[str], *args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    assert out.returncode == 0, f"swift {args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def browse(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET with no token and no redirect following."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_symlink_and_static_site(
    stratus_up: StratusUp, swift_cmd: list[str], tmp_path: Path
) -> None:
    conn = Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)
    swift(swift_cmd, "post", "-r", ".r:*,.rlistings", SITE)
    swift(swift_cmd, "post", "-m", "web-index:index.html", "-m", "web-error:error.html", SITE)
    swift(swift_cmd, "post", "-m", "web-listings:true", SITE)
    pages = tmp_path / "pages"
    (pages / "docs").mkdir(parents=True)
    (pages / "index.html").write_text("<h1>home</h1>")
    (pages / "404error.html").write_text("<h1>lost</h1>")
    (pages / "docs" / "guide.txt").write_text("read me")
    swift(swift_cmd, "upload", SITE, "index.html", "404error.html", "docs/guide.txt", cwd=pages)
    # a link made by `swift upload` with the header (an empty file: symlinks have no body)
    (pages / "latest").write_text("")
    swift(
        swift_cmd,
        "upload",
        "-H",
        f"X-Symlink-Target:{SITE}/docs/guide.txt",
        SITE,
        "latest",
        cwd=pages,
    )
    out = swift(swift_cmd, "stat", SITE, "latest")
    assert "Content Length: 7" in out  # the target's, as HEAD follows the link
    headers = conn.head_object(SITE, "latest", query_string="symlink=get")
    assert headers["x-symlink-target"] == f"{SITE}/docs/guide.txt"
    assert conn.get_object(SITE, "latest")[1] == b"read me"
    _headers, rows = conn.get_container(SITE, prefix="latest")
    assert rows[0]["symlink_path"].endswith(f"/{SITE}/docs/guide.txt")

    parts = urlsplit(str(conn.url))
    base = f"{parts.scheme}://{parts.netloc}{parts.path}/{SITE}"
    status, hdrs, body = browse(base)
    assert status == 301 and hdrs["Location"].endswith(f"{parts.path}/{SITE}/")
    assert browse(base + "/")[::2] == (200, b"<h1>home</h1>")
    assert browse(base + "/nowhere")[::2] == (404, b"<h1>lost</h1>")
    assert browse(base + "/latest")[::2] == (200, b"read me")
    status, hdrs, body = browse(base + "/docs/")
    assert status == 200 and hdrs["Content-Type"] == "text/html; charset=UTF-8"
    assert b'<a href="./guide%2Etxt">guide.txt</a>' in body
    assert b"<title>Listing of " + f"{parts.path}/{SITE}/docs/".encode() in body
