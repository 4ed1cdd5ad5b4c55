"""Volumes, servers and the cluster in a real browser (Debian's chromium, Playwright).

The admin creates a volume in the form, attaches it to a running server (a
test guest booted under TCG: QEMU runs, the compute service hot-plugs the
LUN) and sees it in-use, detaches it, connects a host and reads the qemu-io
line, backs the volume up and watches the progress row (htmx polling, no
reload) reach done; the cluster page draws its charts with data points. A
reader sees no create/delete buttons and a forged POST gets 403. Screenshots
go to ``$STRATUS_ARTIFACTS/console/`` (or the test's tmp dir).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.cloud import ADMIN_KEY, Cloud
from tests.e2e.stratus.console import test_console_browser as shared
from tests.e2e.stratus.console.conftest import READER, READER_KEY

if TYPE_CHECKING:  # the module is imported by the fixture, skipped without it
    from playwright.sync_api import Browser, Page

_log_in = shared._log_in
_fits = shared._fits
# The same fixtures as the console's first browser test (chromium's launch flags, artifacts).
browser = shared.browser
artifacts = shared.artifacts

pytestmark = pytest.mark.timeout(420)


def _reload_until(page: Page, selector: str, timeout: float = 60) -> None:
    """Reload until ``selector`` is on the page (for pages without polling)."""
    end = time.monotonic() + timeout
    while not page.query_selector(selector):
        assert time.monotonic() < end, f"{selector} never showed"
        time.sleep(1)
        page.reload()


def _boot_server(cloud: Cloud, tmp_path: Path) -> dict[str, str]:
    """A running test guest (no network needed) that waits for a disk and says so."""
    guest = cloud.cli("image", "build-test-guest", "--cache-dir", str(tmp_path / "guest"))
    script = tmp_path / "guest.sh"
    script.write_text(
        'echo "T:UP"\nwhile [ ! -b /dev/vda ]; do sleep 0.2; done\necho "T:DISK"\n'
        "while true; do sleep 1; done\n"
    )
    server = cloud.cli(
        "server", "create", "console-vm", "--image", guest["image"]["id"], "--script", str(script)
    )
    assert server["status"] == "ACTIVE"
    return server


def test_volumes_servers_and_cluster_in_a_browser(
    browser: Browser, cloud: Cloud, console_url: str, artifacts: Path, tmp_path: Path
) -> None:
    server = _boot_server(cloud, tmp_path)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    _log_in(page, console_url, "admin:admin", ADMIN_KEY)

    # Create a volume in the form.
    page.goto(f"{console_url}/volumes")
    page.fill("#vol-name", "browser-vol")
    page.fill("#vol-size", "1")
    page.get_by_role("button", name="Create volume").click()
    page.wait_for_url("**/volumes/v/*")
    volume_url = page.url
    _reload_until(page, "#volume-status:text-is('available')")

    # Attach it to the running server (through the compute service): in-use.
    page.select_option("#attach-server", server["id"])
    page.get_by_role("button", name="Attach", exact=True).click()
    _reload_until(page, "#volume-status:text-is('in-use')", 90)
    assert "console-vm" in page.inner_text("#attachments")
    page.screenshot(path=str(artifacts / "volume-attached.png"), full_page=True)
    page.goto(f"{console_url}/volumes")
    page.wait_for_selector("#volumes td.status:text-is('in-use')")
    assert "console-vm" in page.inner_text("#volumes")
    page.screenshot(path=str(artifacts / "volumes.png"), full_page=True)
    page.goto(f"{console_url}/compute/servers/{server['id']}")
    page.wait_for_selector("#console-log:has-text('T:DISK')", timeout=60_000)
    page.screenshot(path=str(artifacts / "server.png"), full_page=True)
    page.goto(volume_url)
    page.get_by_role("button", name="Detach").click()
    _reload_until(page, "#volume-status:text-is('available')", 90)

    # A host: its connection info and the qemu-io line.
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**/attachments/*")
    line = page.input_value("#qemu-io")
    assert line.startswith("qemu-io --image-opts driver=iscsi") and "password=" in line
    page.screenshot(path=str(artifacts / "volume-connection.png"), full_page=True)
    page.goto(volume_url)
    page.get_by_role("button", name="Detach").click()
    _reload_until(page, "#volume-status:text-is('available')", 60)

    # Back it up: the row polls itself until the backup is done (no reload here).
    page.fill("#backup-name", "browser-backup")
    page.get_by_role("button", name="Back up").click()
    page.wait_for_selector("#backups tr[data-status]")
    page.wait_for_selector("#backups tr[data-status='available']", timeout=120_000)
    assert page.eval_on_selector("#backups progress", "p => p.value") == 100
    page.screenshot(path=str(artifacts / "volume-backup.png"), full_page=True)

    # The cluster's charts: inline SVG with data points.
    page.goto(f"{console_url}/cluster")
    _reload_until(page, "figure.chart svg circle.point", 40)
    assert page.locator("figure.chart svg").count() == 3
    assert page.locator("figure.chart svg polyline.series").count() == 3
    page.screenshot(path=str(artifacts / "cluster.png"), full_page=True)
    _fits(page)  # the nodes table and the charts fit a laptop screen
    page.set_viewport_size({"width": 1280, "height": 900})
    # An image upload with its progress bar; listed active after the page redraws.
    disk = tmp_path / "disk.raw"
    disk.write_bytes(os.urandom(3 * 1024 * 1024))
    page.goto(f"{console_url}/compute/images")
    page.fill("#img-name", "browser-image")
    page.select_option("#img-format", "raw")
    page.set_input_files("#img-file", str(disk))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector(
        "#images tr:has-text('browser-image'):has-text('active')", timeout=60_000
    )
    for path, name in (("/compute", "servers"), ("/compute/images", "images"),
                       ("/compute/networks", "networks")):  # fmt: skip
        page.goto(console_url + path)
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        _fits(page)
        page.set_viewport_size({"width": 1280, "height": 900})
    for path in ("/volumes", volume_url.removeprefix(console_url)):
        page.goto(console_url + path)
        _fits(page)
        page.set_viewport_size({"width": 1280, "height": 900})

    # A reader: no create or delete buttons; a forged POST (with its own token) gets 403.
    reader_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    reader_ctx.set_default_timeout(20_000)
    reader = reader_ctx.new_page()
    _log_in(reader, console_url, READER, READER_KEY)
    for path in ("/volumes", volume_url.removeprefix(console_url), "/compute"):
        reader.goto(console_url + path)
        for name in ("Create volume", "Delete volume", "Back up", "Attach", "Create server"):
            assert reader.get_by_role("button", name=name).count() == 0, (path, name)
        assert reader.locator("button.danger").count() == 0, path
    reader.goto(volume_url)
    reader.screenshot(path=str(artifacts / "volume-reader.png"), full_page=True)
    csrf = reader.get_attribute("body", "data-csrf") or ""
    refused = reader_ctx.request.post(f"{volume_url}/delete", form={"csrf": csrf})
    assert refused.status == 403
    assert reader_ctx.request.get(f"{console_url}/cluster").status == 403
    reader_ctx.close()

    # Clean up through the pages: the server, then the volume.
    page.goto(f"{console_url}/compute/servers/{server['id']}")
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/compute")
    page.goto(volume_url)
    page.get_by_role("button", name="Delete volume").click()
    page.wait_for_url("**/volumes")
    ctx.close()
