"""The console's Volumes, Compute and Cluster pages over plain HTTP against `stratus up`.

What a script (or a browser's network layer) sends: the volume's life from
creation to deletion through the forms, the connection info of a host
attachment, the compute pages, the cluster page for the cloud admin only,
and the server's refusals of a reader's forged changes.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.cloud import ADMIN_KEY, Cloud
from tests.e2e.stratus.console.conftest import READER, READER_KEY
from tests.e2e.stratus.console.test_console_sessions import logged_in
from tests.helpers.webform import WebClient

pytestmark = pytest.mark.timeout(240)


def _wait_text(web: WebClient, path: str, pattern: str, timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while True:
        page = web.get(path)
        assert page.status == 200, page.text[:300]
        if re.search(pattern, page.text):
            return page.text
        assert time.monotonic() < end, f"{pattern!r} never showed on {path}: {page.text[-1500:]}"
        time.sleep(0.5)


def _volume_id(location: str) -> str:
    m = re.search(r"/volumes/v/([0-9a-f-]{36})", location)
    assert m, location
    return m.group(1)


def test_a_volume_from_creation_to_deletion(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    made = web.post(
        "/volumes", form={"name": "web-vol", "size": "1", "source": "blank", "csrf": csrf}
    )
    assert made.status == 303, made.text[:300]
    vid = _volume_id(made.headers["Location"])
    page = f"/volumes/v/{vid}"
    _wait_text(web, page, r'id="volume-status">available<')
    assert "web-vol" in web.get("/volumes").text

    assert web.post(f"{page}/extend", form={"size": "2", "csrf": csrf}).status == 303
    _wait_text(web, page, r"available</span> 2 GiB")
    assert web.post(f"{page}/snapshot", form={"name": "web-snap", "csrf": csrf}).status == 303
    _wait_text(web, page, r"web-snap · available")

    # A host's attachment: the connection info and a qemu-io line to copy.
    initiator = "iqn.2024-01.org.example:console-test"
    conn = web.post(f"{page}/connect", form={"initiator": initiator, "csrf": csrf})
    assert conn.status == 303, conn.text[:300]
    info = web.get(conn.headers["Location"])
    assert info.status == 200
    assert "target_iqn" in info.text and "auth_password" in info.text
    line = re.search(r'id="qemu-io" readonly value="([^"]+)"', info.text)
    assert (
        line and "driver=iscsi" in line.group(1) and f"initiator-name={initiator}" in line.group(1)
    )
    listing = _wait_text(web, "/volumes", r"in-use")
    assert "host" in listing
    aid = conn.headers["Location"].rsplit("/", 1)[1]
    assert web.post(f"{page}/attachments/{aid}/detach", form={"csrf": csrf}).status == 303
    _wait_text(web, page, r'id="volume-status">available<')

    # Backup, its progress row (what htmx polls) reaching 100%, and a restore.
    assert web.post(f"{page}/backup", form={"name": "web-bk", "csrf": csrf}).status == 303
    body = web.get(page).text
    found = re.search(r'id="backup-([0-9a-f-]{36})"', body)
    assert found, "the backup's row"
    bid = found.group(1)
    end = time.monotonic() + 90
    while True:
        row = web.get(f"/volumes/backups/{bid}/row", headers={"HX-Request": "true"})
        assert row.status == 200
        if 'data-status="available"' in row.text:
            break
        assert 'data-status="error"' not in row.text, row.text
        assert time.monotonic() < end, row.text
        time.sleep(0.5)
    assert 'value="100' in row.text and "hx-trigger" not in row.text
    restored = web.post(f"/volumes/backups/{bid}/restore", form={"csrf": csrf})
    assert restored.status == 303
    new_vid = _volume_id(restored.headers["Location"])
    _wait_text(web, f"/volumes/v/{new_vid}", r'id="volume-status">available<', 90)

    for v in (new_vid,):
        assert web.post(f"/volumes/v/{v}/delete", form={"csrf": csrf}).status == 303
    snaps = re.findall(r"/volumes/snapshots/([0-9a-f-]{36})/delete", web.get("/volumes").text)
    for s in snaps:
        assert web.post(f"/volumes/snapshots/{s}/delete", form={"csrf": csrf}).status == 303
    assert web.post(f"/volumes/backups/{bid}/delete", form={"csrf": csrf}).status == 303
    end = time.monotonic() + 60
    while True:
        gone = web.post(f"{page}/delete", form={"csrf": csrf})
        if gone.status == 303:
            break
        assert time.monotonic() < end, gone.text[:300]
        time.sleep(0.5)


def test_a_reader_sees_no_volume_controls_and_is_refused(console_url: str) -> None:
    admin, admin_csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    made = admin.post("/volumes", form={"name": "ro-vol", "size": "1", "csrf": admin_csrf})
    vid = _volume_id(made.headers["Location"])
    reader, csrf = logged_in(console_url, READER, READER_KEY)
    for path in (
        "/volumes",
        f"/volumes/v/{vid}",
        "/compute",
        "/compute/images",
        "/compute/networks",
    ):
        page = reader.get(path)
        assert page.status == 200, (path, page.text[:300])
        for control in (
            "Create volume",
            "Delete volume",
            "Back up",
            "Create server",
            "Upload",
            "danger",
        ):
            assert control not in page.text, (path, control)
    for path, form in (
        ("/volumes", {"name": "x", "size": "1"}),
        (f"/volumes/v/{vid}/delete", {}),
        (f"/volumes/v/{vid}/backup", {}),
        (f"/volumes/v/{vid}/connect", {"initiator": "iqn.2024-01.org.example:x"}),
        ("/compute/networks", {"name": "x"}),
        ("/compute/servers", {"name": "x", "image": "a", "flavor": "b"}),
    ):
        assert reader.post(path, form={**form, "csrf": csrf}).status == 403, path
    # And without the CSRF token, even the admin is refused.
    assert admin.post(f"/volumes/v/{vid}/delete", form={}).status == 403
    assert admin.get(f"/volumes/v/{vid}").status == 200
    assert admin.post(f"/volumes/v/{vid}/delete", form={"csrf": admin_csrf}).status == 303


def test_compute_pages_and_a_network(console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    for path in ("/compute", "/compute/images", "/compute/networks"):
        assert web.get(path).status == 200, path
    made = web.post(
        "/compute/networks", form={"name": "web-net", "cidr": "10.77.0.0/24", "csrf": csrf}
    )
    assert made.status == 303, made.text[:300]
    page = web.get("/compute/networks").text
    assert "web-net" in page and "10.77.0.0/24" in page
    found = re.search(r"/compute/networks/([0-9a-f-]{36})/delete", page)
    assert found, "the network's delete form"
    nid = found.group(1)
    assert web.post(f"/compute/networks/{nid}/delete", form={"csrf": csrf}).status == 303
    assert "web-net" not in web.get("/compute/networks").text
    bad = web.post("/compute/networks", form={"name": "x", "cidr": "not-a-net", "csrf": csrf})
    assert bad.status == 400


def test_the_cluster_page_is_for_the_cloud_admin(cloud: Cloud, console_url: str) -> None:
    web, _ = logged_in(console_url, "admin:admin", ADMIN_KEY)
    page = _wait_text(web, "/cluster", r'data-points="[1-9]', 40)
    assert "nodes up 1/1" in page
    # The ring versions the node serves with, and each device's fill level.
    assert re.search(r'<td class="rings">v\d+ / v\d+ / v\d+</td>', page), page
    assert re.search(r'<meter min="0" max="100" value="[\d.]+" title="[^"]+ of [^"]+">', page)
    assert page.count("<svg") == 3 and "<polyline" in page
    # The volume service lists its iSCSI sessions to the cloud admin (none, or a table).
    assert 'id="iscsi-sessions"' in page and "did not list them" not in page
    reader, _ = logged_in(console_url, READER, READER_KEY)
    assert reader.get("/cluster").status == 403
    assert 'href="/cluster"' not in reader.get("/volumes").text
    # An admin of another project is no cloud admin: refused too.
    cloud.cli("project", "create", "elsewhere")
    cloud.cli(
        "user", "create", "elsewhere:boss", "--role", "admin", "--key", "boss-key-0123456789ab"
    )
    boss, _ = logged_in(console_url, "elsewhere:boss", "boss-key-0123456789ab")
    assert boss.get("/cluster").status == 403
