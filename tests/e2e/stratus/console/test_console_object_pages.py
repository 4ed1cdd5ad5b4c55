"""The Objects pages' other forms over plain HTTP against `stratus up`.

Counts and bytes, deleting many objects at once, metadata edited and read back
through the Swift API, a container made public (fetched with no token at its
Swift URL) and private again, previews of images and text (escaped; SVG never
inline), and the share link's expiry picker (only its choices are signed).
"""

from __future__ import annotations

import re
import struct
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.cloud import ADMIN_KEY
from tests.e2e.objectstore.test_swift_clients import plain_get
from tests.e2e.stratus.console.test_console_sessions import logged_in
from tests.helpers.waiting import eventually
from tests.helpers.webform import WebClient

pytestmark = pytest.mark.timeout(180)


def _png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _put(web: WebClient, csrf: str, container: str, name: str, body: bytes, ctype: str) -> None:
    put = web.request(
        "PUT",
        f"/objects/c/{container}/upload?path={name}",
        data=body,
        headers={"X-CSRF-Token": csrf, "Content-Type": ctype},
    )
    assert put.status == 200, put.text[:300]


def test_counts_delete_many_and_metadata(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "many", "csrf": csrf}).status == 303
    for i in range(5):
        _put(web, csrf, "many", f"f{i}.txt", b"x" * (100 * (i + 1)), "text/plain")
    page = web.get("/objects/c/many").text
    assert "5 objects · 1.5 KiB" in page
    # The account's listing: the container's count and bytes (an async update, as in Swift).
    listed = eventually(
        lambda: web.get("/objects").text,
        lambda text: re.search(r">many</a></td>\s*<td class=\"num\">5</td>", text) is not None,
    )
    assert "1.5 KiB" in listed

    # Three ticked at once go in one form.
    gone = web.post(
        "/objects/c/many/delete", form={"name": ["f0.txt", "f1.txt", "f2.txt"], "csrf": csrf}
    )
    assert gone.status == 303
    page = web.get("/objects/c/many").text
    assert "Deleted 3 objects." in page
    assert "f0.txt" not in page and "f2.txt" not in page and "f3.txt" in page
    assert "2 objects" in page

    # Metadata: a content type and custom items, saved and read back; a bad key refused.
    saved = web.post(
        "/objects/c/many/meta",
        form={
            "path": "f3.txt",
            "content_type": "text/markdown",
            "meta_key": ["colour", "Owner-Team", ""],
            "meta_value": ["blue", "storage", ""],
            "csrf": csrf,
        },
    )
    assert saved.status == 303
    obj = web.get("/objects/c/many/object?path=f3.txt").text
    assert "Metadata saved." in obj and "text/markdown" in obj
    # Swift title-cases metadata names (X-Object-Meta-Colour), and so does `swift stat`.
    assert 'name="meta_key" value="Colour"' in obj and 'value="blue"' in obj
    assert 'value="storage"' in obj
    bad = web.post(
        "/objects/c/many/meta",
        form={"path": "f3.txt", "meta_key": "no spaces", "meta_value": "x", "csrf": csrf},
    )
    assert bad.status == 303
    obj = web.get("/objects/c/many/object?path=f3.txt").text
    assert "letters, digits" in obj and 'value="Colour"' in obj, "nothing changed"


def test_public_and_private(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "open", "csrf": csrf}).status == 303
    _put(web, csrf, "open", "hello.txt", b"hello world", "text/plain")
    assert "Make public" in web.get("/objects/c/open").text
    assert web.post("/objects/c/open/access", form={"public": "1", "csrf": csrf}).status == 303
    assert 'class="badge public"' in web.get("/objects/c/open").text
    page = web.get("/objects/c/open/object?path=hello.txt").text
    found = re.search(r"The container is public: <a href=\"([^\"]+)\"", page)
    assert found, "the object's public URL"
    url = found.group(1).replace("&amp;", "&")
    assert plain_get(url) == (200, b"hello world")
    assert web.post("/objects/c/open/access", form={"public": "0", "csrf": csrf}).status == 303
    assert 'class="badge private"' in web.get("/objects/c/open").text
    assert plain_get(url)[0] in (401, 403)


def test_previews_images_and_escaped_text(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "look", "csrf": csrf}).status == 303
    png = _png()
    _put(web, csrf, "look", "dot.png", png, "image/png")
    _put(web, csrf, "look", "note.txt", b"<script>alert(1)</script> plain", "text/plain")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    _put(web, csrf, "look", "pic.svg", svg, "image/svg+xml")

    page = web.get("/objects/c/look/object?path=dot.png").text
    img = re.search(r'<img src="([^"]+)"', page)
    assert img and "inline=1" in img.group(1)
    shown = web.get(img.group(1).replace("&amp;", "&"))
    assert shown.status == 200 and shown.body == png
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in shown.headers["Content-Security-Policy"]

    text = web.get("/objects/c/look/object?path=note.txt").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; plain" in text
    assert "<script>alert(1)" not in text

    # An SVG can carry script: never previewed, never served inline.
    assert "<img" not in web.get("/objects/c/look/object?path=pic.svg").text
    forced = web.get("/objects/c/look/download?path=pic.svg&inline=1")
    assert forced.headers["Content-Type"] == "application/octet-stream"
    assert forced.headers["Content-Disposition"].startswith("attachment")


def test_share_links_expire_as_picked(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "shared", "csrf": csrf}).status == 303
    _put(web, csrf, "shared", "a.txt", b"shared bytes", "text/plain")
    page = web.get("/objects/c/shared/object?path=a.txt").text
    choices = re.findall(r'<option value="(\d+)"', page)
    assert choices == ["900", "3600", "86400", "604800"]

    def link(expires: str) -> str:
        got = web.post(
            "/objects/c/shared/share",
            form={"path": "a.txt", "expires": expires, "csrf": csrf},
            headers={"HX-Request": "true"},
        )
        assert got.status == 200
        found = re.search(r'id="share-url"[^>]* value="([^"]+)"', got.text)
        assert found, got.text
        return found.group(1).replace("&amp;", "&")

    for seconds in choices:
        url = link(seconds)
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [seconds]
        assert plain_get(url) == (200, b"shared bytes")
    # Anything else is not a choice: the default hour, never a week and a day.
    assert parse_qs(urlsplit(link("691200")).query)["X-Amz-Expires"] == ["3600"]
    # A tampered link is refused by the S3 API.
    assert plain_get(link("900").replace("X-Amz-Expires=900", "X-Amz-Expires=604800"))[0] == 403
