"""The console's logins, sessions, CSRF and roles, driven over plain HTTP against `stratus up`.

What a browser's network layer sends, or a script forging requests: every
refusal here is the server's, whatever the pages show.
"""

from __future__ import annotations

import json
import os
import re
import secrets

import pytest

from tests.e2e.cloud import ADMIN_KEY, Cloud
from tests.e2e.stratus.console.conftest import READER, READER_KEY, stratus
from tests.helpers.waiting import eventually
from tests.helpers.webform import Answer, WebClient

pytestmark = pytest.mark.timeout(180)


def login(base: str, name: str, secret: str) -> tuple[WebClient, Answer]:
    web = WebClient(base)
    form = web.get("/login")
    assert form.status == 200
    answer = web.post(
        "/login", form={"name": name, "secret": secret, "csrf": form.hidden("csrf"), "next": "/"}
    )
    return web, answer


def logged_in(base: str, name: str, secret: str) -> tuple[WebClient, str]:
    """A client logged in as ``name``, and its CSRF token."""
    web, answer = login(base, name, secret)
    assert answer.status == 303, answer.text[:500]
    page = web.get("/objects")
    assert page.status == 200
    return web, page.hidden("csrf")


def new_user(cloud: Cloud, role: str = "member") -> tuple[str, str]:
    name = f"admin:u{secrets.token_hex(4)}"
    key = secrets.token_urlsafe(24)
    cloud.cli("user", "create", name, "--role", role, "--key", key)
    return name, key


def test_the_session_cookie_is_httponly_and_samesite(console_url: str) -> None:
    web, answer = login(console_url, "admin:admin", ADMIN_KEY)
    assert answer.status == 303 and answer.location == "/"
    cookie = answer.headers.get_all("Set-Cookie") or []
    session = next(c for c in cookie if c.startswith("stratus_console="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    page = web.get("/objects")
    assert ADMIN_KEY not in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_a_wrong_key_is_refused(console_url: str) -> None:
    web, answer = login(console_url, "admin:admin", "not-the-key")
    assert answer.status == 401
    assert web.cookie("stratus_console") is None
    assert web.get("/objects").status == 303


def test_login_needs_the_form_token(console_url: str) -> None:
    """Login CSRF: a cross-site form cannot log the victim's browser into another account."""
    web = WebClient(console_url)
    answer = web.post("/login", form={"name": "admin:admin", "secret": ADMIN_KEY})
    assert answer.status == 403
    assert web.cookie("stratus_console") is None


def test_login_redirects_only_inside_the_console(console_url: str) -> None:
    web = WebClient(console_url)
    form = web.get("/login")
    answer = web.post(
        "/login",
        form={
            "name": "admin:admin",
            "secret": ADMIN_KEY,
            "csrf": form.hidden("csrf"),
            "next": "//evil.example/",
        },
    )
    assert answer.status == 303 and answer.location == "/objects"


def test_a_session_ends_when_the_users_key_changes(cloud: Cloud, console_url: str) -> None:
    name, key = new_user(cloud)
    web, _ = logged_in(console_url, name, key)
    stratus(cloud, "user", "set-key", name)
    answer = web.get("/objects")
    assert answer.status == 303 and answer.location.startswith("/login")


def test_a_session_ends_when_the_user_is_deleted(cloud: Cloud, console_url: str) -> None:
    name, key = new_user(cloud)
    web, csrf = logged_in(console_url, name, key)
    stratus(cloud, "user", "delete", name)
    assert web.get("/objects").status == 303
    assert web.post("/objects", form={"name": "ghost", "csrf": csrf}).status == 401


def test_an_s3_key_logs_in_and_its_deletion_ends_the_session(
    cloud: Cloud, console_url: str
) -> None:
    name, _ = new_user(cloud)
    cred = cloud.cli("credentials", "create", "--user", name)
    access, secret = cred["access"], cred["secret"]
    web, _ = logged_in(console_url, access, secret)
    assert name in web.get("/objects").text
    assert login(console_url, access, secret[:-1] + "x")[1].status == 401
    stratus(cloud, "credentials", "delete", access)
    assert web.get("/objects").status == 303


def test_changes_need_the_csrf_token(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "csrf-less"}).status == 403
    assert web.post("/objects", form={"name": "csrf-less", "csrf": "x" * 43}).status == 403
    cross = web.post(
        "/objects",
        form={"name": "csrf-less", "csrf": csrf},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status == 403
    upload = web.request("PUT", "/objects/c/csrf-less/upload?path=a", data=b"x")
    assert upload.status == 403
    names = web.get("/objects").text
    assert "csrf-less" not in names
    assert web.post("/objects", form={"name": "csrf-ok", "csrf": csrf}).status == 303


def test_a_reader_sees_no_changes_and_the_server_refuses_them(console_url: str) -> None:
    admin, admin_csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert admin.post("/objects", form={"name": "ro", "csrf": admin_csrf}).status == 303
    put = admin.request(
        "PUT",
        "/objects/c/ro/upload?path=keep.txt",
        data=b"keep",
        headers={"X-CSRF-Token": admin_csrf},
    )
    assert put.status == 200
    reader, csrf = logged_in(console_url, READER, READER_KEY)
    page = reader.get("/objects/c/ro")
    assert page.status == 200 and "keep.txt" in page.text
    for control in ("Delete selected", "Delete container", "Make public", "Choose files"):
        assert control not in page.text
    assert "Save metadata" not in reader.get("/objects/c/ro/object?path=keep.txt").text
    # Forged with the reader's own valid CSRF token: the role decides.
    assert (
        reader.post("/objects/c/ro/delete", form={"name": "keep.txt", "csrf": csrf}).status == 403
    )
    assert reader.post("/objects", form={"name": "nope", "csrf": csrf}).status == 403
    assert (
        reader.request(
            "PUT", "/objects/c/ro/upload?path=x", data=b"x", headers={"X-CSRF-Token": csrf}
        ).status
        == 403
    )
    assert reader.get("/objects/c/ro/download?path=keep.txt").body == b"keep"


def test_logout_ends_the_session_and_its_token(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    sid = web.cookie("stratus_console")
    assert web.post("/logout", form={"csrf": csrf}).status == 303
    assert web.cookie("stratus_console") is None
    # The old cookie, replayed (as if copied before the logout), opens nothing.
    replay = WebClient(console_url).get("/objects", headers={"Cookie": f"stratus_console={sid}"})
    assert replay.status == 303 and replay.location.startswith("/login")


def test_versions_restore_and_tags(console_url: str) -> None:
    """The S3-only features, through the admin's own S3 credential."""
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "kept", "csrf": csrf}).status == 303
    assert "Keep versions" in web.get("/objects/c/kept").text
    on = web.post("/objects/c/kept/versioning", form={"enabled": "1", "csrf": csrf})
    assert on.status == 303
    assert "versioning on" in web.get("/objects/c/kept").text
    for body in (b"first", b"second"):
        put = web.request(
            "PUT", "/objects/c/kept/upload?path=doc.txt", data=body, headers={"X-CSRF-Token": csrf}
        )
        assert put.status == 200
    page = web.get("/objects/c/kept/object?path=doc.txt").text
    versions = re.findall(r'name="version" value="([^"]+)"', page)
    assert len(versions) == 1, "one older version, restorable; the current one is not"
    restored = web.post(
        "/objects/c/kept/restore", form={"path": "doc.txt", "version": versions[0], "csrf": csrf}
    )
    assert restored.status == 303
    assert web.get("/objects/c/kept/download?path=doc.txt").body == b"first"
    tagged = web.post(
        "/objects/c/kept/tags",
        form={"path": "doc.txt", "tag_key": ["team", ""], "tag_value": ["blue", ""], "csrf": csrf},
    )
    assert tagged.status == 303
    page = web.get("/objects/c/kept/object?path=doc.txt").text
    assert 'name="tag_key" value="team"' in page and 'value="blue"' in page
    assert "Tags saved." in page


def test_folders_and_pages(console_url: str) -> None:
    """Folders by prefix + delimiter; pages of `limit` rows; "load more" gets the next rows."""
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "paged", "csrf": csrf}).status == 303
    names = ["top.txt"] + [f"many/{i:03d}.txt" for i in range(55)]
    for name in names:
        put = web.request(
            "PUT", f"/objects/c/paged/upload?path={name}", data=b"x", headers={"X-CSRF-Token": csrf}
        )
        assert put.status == 200
    root = web.get("/objects/c/paged").text
    assert "prefix=many%2F" in root and "top.txt" in root and "many/000.txt" not in root
    first = web.get("/objects/c/paged?prefix=many/&limit=50").text
    assert "000.txt" in first and "049.txt" in first and "050.txt" not in first
    more = re.search(r'hx-get="([^"]+)"', first)
    assert more, "a load-more link"
    rest = web.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"}).text
    assert "<html" not in rest, "only the rows"
    assert "050.txt" in rest and "054.txt" in rest and "049.txt" not in rest
    assert "hx-get" not in rest, "no more pages"
    backwards = web.get("/objects/c/paged?prefix=many/&limit=50&order=desc").text
    assert backwards.index("054.txt") < backwards.index("053.txt")


def test_a_segmented_upload_resumes_from_the_parts_it_has(console_url: str) -> None:
    """Start, send part 1, "reload" (ask which parts are stored), send the rest, complete."""
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    assert web.post("/objects", form={"name": "parts", "csrf": csrf}).status == 303
    first, last = os.urandom(5 * 1024 * 1024), os.urandom(1000)
    base = "/objects/c/parts/multipart"
    hdr = {"X-CSRF-Token": csrf}
    started = web.post(f"{base}/start?path=big/file.bin", headers=hdr)
    assert started.status == 200
    q = f"?path=big/file.bin&upload_id={json.loads(started.body)['upload_id']}"
    assert web.request("PUT", f"{base}/part{q}&n=1", data=first, headers=hdr).status == 200
    known = json.loads(web.get(f"{base}/parts{q}").body)["parts"]
    assert [(p["n"], p["size"]) for p in known] == [(1, len(first))]
    assert web.request("PUT", f"{base}/part{q}&n=2", data=last, headers=hdr).status == 200
    assert web.post(f"{base}/complete{q}", headers=hdr).status == 200
    assert web.get("/objects/c/parts/download?path=big/file.bin").body == first + last
    # Container stats reach the account listing by an async update, as in Swift.
    listed = eventually(lambda: web.get("/objects").text, lambda text: "5.0 MiB" in text)
    assert "parts+segments" not in listed, "the parts count in their container"
    assert "5.0 MiB" in listed
    # Deleting the object deletes its parts too.
    gone = web.post("/objects/c/parts/delete", form={"name": "big/file.bin", "csrf": csrf})
    assert gone.status == 303
    segments = eventually(
        lambda: web.get("/objects/c/parts%2Bsegments").text, lambda text: "0 objects" in text
    )
    assert "0 objects" in segments
    # Without the CSRF token, or as a reader, no part goes in.
    assert web.post(f"{base}/start?path=x").status == 403
    reader, rcsrf = logged_in(console_url, READER, READER_KEY)
    refused = reader.post(f"{base}/start?path=x", headers={"X-CSRF-Token": rcsrf})
    assert refused.status == 403
