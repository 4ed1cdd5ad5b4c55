"""The console's Compute forms and the volume sources, over plain HTTP against `stratus up`.

An image uploaded through the console (record, then its bytes streamed) and
its visibility changed; volumes made from that image, from a snapshot and from
a backup; a server created from the form (the test guest under TCG), its
console log read, stopped, started, rebooted and deleted from its page.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.e2e.cloud import ADMIN_KEY, Cloud
from tests.e2e.stratus.console.test_console_cloud_pages import _volume_id, _wait_text
from tests.e2e.stratus.console.test_console_sessions import logged_in, new_user
from tests.helpers.webform import WebClient

pytestmark = pytest.mark.timeout(420)


def _image(web: WebClient, csrf: str, name: str, body: bytes) -> str:
    """An image made the way the page's script does: the record, then the bytes."""
    made = web.post(
        "/compute/images",
        form={"name": name, "disk_format": "raw", "visibility": "private", "csrf": csrf},
    )
    assert made.status == 200, made.text[:300]
    iid = re.search(r'"id": "([0-9a-f-]{36})"', made.text)
    assert iid, made.text
    put = web.request(
        "PUT", f"/compute/images/{iid.group(1)}/file", data=body, headers={"X-CSRF-Token": csrf}
    )
    assert put.status == 200, put.text[:300]
    return iid.group(1)


def _new_volume(web: WebClient, form: dict[str, str]) -> str:
    made = web.post("/volumes", form=form)
    assert made.status == 303, made.text[:300]
    vid = _volume_id(made.headers["Location"])
    _wait_text(web, f"/volumes/v/{vid}", r'id="volume-status">available<', 120)
    return vid


def test_images_and_the_volume_sources(cloud: Cloud, console_url: str) -> None:
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    disk = os.urandom(1024 * 1024)
    iid = _image(web, csrf, "forms-image", disk)
    row = _wait_text(web, "/compute/images", r"forms-image</td><td>active")
    assert "1.0 MiB" in row

    # Visibility: the owner changes it; "public" is offered to cloud admins only.
    assert (
        web.post(
            f"/compute/images/{iid}/visibility", form={"visibility": "public", "csrf": csrf}
        ).status
        == 303
    )
    page = web.get("/compute/images").text
    assert "Image is now public." in page
    assert re.search(rf'/compute/images/{iid}/visibility">.*?<option selected>public<', page, re.S)
    # A member of the project is offered private only (the image API keeps public to admins),
    # and its forged "public" is refused by the image API.
    member, member_key = new_user(cloud, "member")
    mweb, mcsrf = logged_in(console_url, member, member_key)
    images = mweb.get("/compute/images").text
    assert "forms-image" in images, "a public image is listed to everyone"
    assert "<option>public</option>" not in images and "<option>private</option>" in images
    own = _image(mweb, mcsrf, "members-image", b"m" * 4096)
    forged = mweb.post(
        f"/compute/images/{own}/visibility", form={"visibility": "public", "csrf": mcsrf}
    )
    assert forged.status == 403, forged.text[:300]
    assert mweb.post(f"/compute/images/{own}/delete", form={"csrf": mcsrf}).status == 303
    assert (
        web.post(
            f"/compute/images/{iid}/visibility", form={"visibility": "private", "csrf": csrf}
        ).status
        == 303
    )

    # A volume from the image holds the image's bytes.
    from_image = _new_volume(
        web, {"name": "from-image", "source": "image", "image_id": iid, "csrf": csrf}
    )
    assert cloud.volume_file(from_image).read_bytes()[: len(disk)] == disk

    # A snapshot of it, and a volume from that snapshot.
    page = f"/volumes/v/{from_image}"
    assert web.post(f"{page}/snapshot", form={"name": "forms-snap", "csrf": csrf}).status == 303
    _wait_text(web, page, r"forms-snap · available")
    listing = web.get("/volumes").text
    snap = re.search(r'<option value="([0-9a-f-]{36})">forms-snap \(', listing)
    assert snap, "the snapshot is offered as a source"
    from_snap = _new_volume(
        web, {"name": "from-snap", "source": "snapshot", "snapshot_id": snap.group(1), "csrf": csrf}
    )
    assert cloud.volume_file(from_snap).read_bytes()[: len(disk)] == disk

    # A backup of it, and a volume from that backup (the form's "a backup" source).
    assert web.post(f"{page}/backup", form={"name": "forms-bk", "csrf": csrf}).status == 303
    _wait_text(web, page, r'data-status="available"', 120)
    backup = re.search(r'<option value="([0-9a-f-]{36})">forms-bk \(', web.get("/volumes").text)
    assert backup, "the backup is offered as a source"
    from_backup = _new_volume(
        web,
        {"name": "from-backup", "source": "backup", "backup_id": backup.group(1), "csrf": csrf},
    )
    assert cloud.volume_file(from_backup).read_bytes()[: len(disk)] == disk

    # An unknown source, or one without its id, is refused before any API call.
    assert web.post("/volumes", form={"source": "cloud", "csrf": csrf}).status == 400
    assert web.post("/volumes", form={"source": "snapshot", "csrf": csrf}).status == 400

    for vid in (from_backup, from_snap):
        assert web.post(f"/volumes/v/{vid}/delete", form={"csrf": csrf}).status == 303
    assert web.post(f"/volumes/backups/{backup.group(1)}/delete", form={"csrf": csrf}).status == 303
    assert web.post(f"/volumes/snapshots/{snap.group(1)}/delete", form={"csrf": csrf}).status == 303
    end = time.monotonic() + 60
    while web.post(f"{page}/delete", form={"csrf": csrf}).status != 303:  # its snapshot goes first
        assert time.monotonic() < end, "the image's volume could not be deleted"
        time.sleep(0.5)
    assert web.post(f"/compute/images/{iid}/delete", form={"csrf": csrf}).status == 303
    assert "forms-image" not in web.get("/compute/images").text


def _status(web: WebClient, sid: str, wanted: str, timeout: float = 180) -> None:
    _wait_text(web, f"/compute/servers/{sid}", rf'class="badge status">{wanted}<', timeout)


def test_a_server_from_the_form(cloud: Cloud, console_url: str, tmp_path: Path) -> None:
    guest = cloud.cli("image", "build-test-guest", "--cache-dir", str(tmp_path / "guest"))
    web, csrf = logged_in(console_url, "admin:admin", ADMIN_KEY)
    form_page = web.get("/compute").text
    assert guest["image"]["id"] in form_page, "the guest image is offered"
    flavor = re.search(r'<select id="srv-flavor" name="flavor" required><option value="([^"]+)"',
                       form_page)  # fmt: skip
    assert flavor
    made = web.post(
        "/compute/servers",
        form={
            "name": "form-vm",
            "image": guest["image"]["id"],
            "flavor": flavor.group(1),
            "network": "",
            # The test guest runs its user data; without any it powers off at once.
            "user_data": 'echo "T:UP"\r\nwhile true; do sleep 1; done\r\n',
            "csrf": csrf,
        },
    )
    assert made.status == 303, made.text[:300]
    sid = made.headers["Location"].rsplit("/", 1)[1]
    _status(web, sid, "ACTIVE")
    assert "form-vm" in web.get("/compute").text

    # The console log, as htmx polls it: the guest ran the form's script (CRLF made LF).
    end = time.monotonic() + 120
    while True:
        log = web.get(f"/compute/servers/{sid}/log", headers={"HX-Request": "true"})
        assert log.status == 200 and "<html" not in log.text
        if "T:UP" in log.text:
            break
        assert time.monotonic() < end, log.text[-500:]
        time.sleep(1)
    assert 'hx-trigger="every 2s"' in log.text
    time.sleep(3)  # a script sent with CR line ends would stop at its loop: the guest powers off
    log = web.get(f"/compute/servers/{sid}/log", headers={"HX-Request": "true"})
    assert "poweroff" not in log.text, log.text[-500:]

    for action, after in (("stop", "SHUTOFF"), ("start", "ACTIVE"), ("reboot", "ACTIVE")):
        done = web.post(f"/compute/servers/{sid}/{action}", form={"csrf": csrf})
        assert done.status == 303, (action, done.text[:300])
        assert f"{action.capitalize()} requested." in web.get(f"/compute/servers/{sid}").text
        _status(web, sid, after)
    assert web.post(f"/compute/servers/{sid}/explode", form={"csrf": csrf}).status == 404

    assert web.post(f"/compute/servers/{sid}/delete", form={"csrf": csrf}).status == 303
    end = time.monotonic() + 120
    while f"/compute/servers/{sid}" in web.get("/compute").text:
        assert time.monotonic() < end, "the server never went"
        time.sleep(1)
