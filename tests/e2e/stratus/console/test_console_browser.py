"""The web console in a real browser (Debian's chromium, driven by Playwright) against `stratus up`.

One walk through what a person does: log in, create a container, upload a
20 MiB file and watch its progress bar reach 100%, see it listed, download
it, share it and fetch the link with no login; then a reader, who sees no
delete button and whose forged delete is refused; a CSRF-less change refused;
logout. Screenshots of each main page go to ``$STRATUS_ARTIFACTS`` (or the
test's tmp dir). Playwright never downloads a browser here: it launches
/usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.cloud import ADMIN_KEY
from tests.e2e.stratus.console.conftest import READER, READER_KEY
from tests.helpers.tools import missing_tool

if TYPE_CHECKING:  # the module is imported by the fixture, skipped without it
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BIG = 20 * 1024 * 1024
CONTAINER = "browser-files"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("STRATUS_ARTIFACTS") or tmp_path) / "console"
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        missing_tool("chromium (Debian packages chromium, chromium-driver) is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _log_in(page: Page, base: str, name: str, key: str, shot: Path | None = None) -> None:
    page.goto(base + "/")
    page.wait_for_url("**/login**")
    page.fill("#name", name)
    page.fill("#secret", key)
    if shot is not None:
        page.screenshot(path=str(shot))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/objects")


def _fits(page: Page, width: int = 1024) -> None:
    """On a laptop screen (``width`` px), the page does not scroll sideways."""
    page.set_viewport_size({"width": width, "height": 700})
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} is {wide}px wide at {width}px"


def test_a_person_uses_the_console(
    browser: Browser, console_url: str, artifacts: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    data = os.urandom(BIG)
    big.write_bytes(data)
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()

    # Log in; create a container.
    _log_in(page, console_url, "admin:admin", ADMIN_KEY, artifacts / "login.png")
    page.fill("#new-container", CONTAINER)
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(f"**/objects/c/{CONTAINER}")

    # Upload 20 MiB through the file input; its progress bar reaches 100%.
    page.set_input_files("#file-input", str(big))
    page.wait_for_selector("#uploads li.done", timeout=60_000)
    assert page.eval_on_selector("#uploads progress", "p => p.value") == 100
    assert not page.query_selector("#uploads li.failed")
    # Listed (the rows are redrawn once the uploads end).
    link = page.wait_for_selector("#rows a:text-is('big.bin')")
    page.wait_for_selector(".head .summary:has-text('1 object · 20.0 MiB')")
    assert page.inner_text("#rows td.num") == "20.0 MiB", "a multipart object's whole size"
    page.screenshot(path=str(artifacts / "container.png"), full_page=True)

    # Drag and drop: two files dropped on the upload area, a progress bar each.
    page.evaluate(
        """() => {
          const dt = new DataTransfer();
          dt.items.add(new File(["a".repeat(1000)], "dropped-a.txt", {type: "text/plain"}));
          dt.items.add(new File(["b".repeat(2000)], "dropped-b.txt", {type: "text/plain"}));
          document.getElementById("drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }"""
    )
    page.wait_for_function("() => document.querySelectorAll('#uploads li.done').length === 3")
    assert page.eval_on_selector_all("#uploads progress", "ps => ps.map(p => p.value)") == [
        100,
        100,
        100,
    ]
    page.wait_for_selector("#rows a:text-is('dropped-b.txt')")
    # A folder by the folder picker: its files keep their paths; the listing shows the folder.
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    (album / "cover.txt").write_text("cover")
    (album / "sub" / "track.txt").write_text("track")
    page.set_input_files("#folder-input", str(album))
    page.wait_for_function("() => document.querySelectorAll('#uploads li.done').length === 5")
    page.wait_for_selector("#rows a.folder:text-is('album/')")
    page.click("#rows a.folder:text-is('album/')")
    page.wait_for_selector("#rows a.folder:text-is('sub/')")
    assert page.query_selector("#rows a:text-is('cover.txt')")
    page.go_back()
    # Sorting the shown rows by size, both ways (the folder has no size: first going up).
    page.wait_for_selector("#rows a:text-is('dropped-a.txt')")
    files = "rows => rows.map(a => a.textContent)"
    page.get_by_role("button", name="Size").click()
    assert page.eval_on_selector_all("#rows a[href*='/object?']", files) == [
        "dropped-a.txt",
        "dropped-b.txt",
        "big.bin",
    ]
    assert page.get_attribute("th:has(button[data-col=size])", "aria-sort") == "ascending"
    page.get_by_role("button", name="Size").click()
    assert page.eval_on_selector_all("#rows a[href*='/object?']", files)[0] == "big.bin"
    # The keyboard opens the file chooser from the drop area.
    page.focus("#drop")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.is_multiple()
    _fits(page)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(console_url + "/objects")
    _fits(page)
    page.set_viewport_size({"width": 1280, "height": 860})
    assert "20.0 MiB" in page.inner_text("main")
    page.screenshot(path=str(artifacts / "containers.png"), full_page=True)

    # Download: the same bytes.
    page.go_back()
    link = page.wait_for_selector("#rows a:text-is('big.bin')")
    assert link is not None
    link.click()
    page.wait_for_url("**/object?path=big.bin")
    with page.expect_download() as download:
        page.click("#download")
    assert Path(download.value.path()).read_bytes() == data

    # Share for a day; the link works without any login.
    page.select_option("#expires", "86400")
    page.click("#make-share")
    shared = page.wait_for_selector("#share-url")
    assert shared is not None
    url = shared.input_value()
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=86400" in url
    page.screenshot(path=str(artifacts / "object.png"), full_page=True)
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == data

    # Over 16 MiB a file goes up in 8 MiB parts (S3 multipart): its ETag says 3 parts.
    assert page.inner_text("dl.props code").endswith("-3")

    # A segmented upload cut after its first part resumes after a reload: choosing the same
    # file again sends only the parts the store does not have.
    resume = tmp_path / "resume.bin"
    resume_data = os.urandom(17 * 1024 * 1024)
    resume.write_bytes(resume_data)
    page.goto(f"{console_url}/objects/c/{CONTAINER}")
    cut = re.compile(r"/multipart/part\?.*&n=2$")
    page.route(cut, lambda route: route.abort())
    page.set_input_files("#file-input", str(resume))
    page.wait_for_selector("#uploads li.failed", timeout=60_000)
    page.unroute(cut)
    page.reload()
    parts: list[str] = []
    page.on(
        "request",
        lambda r: (
            parts.extend(parse_qs(urlsplit(r.url).query)["n"])
            if "/multipart/part?" in r.url
            else None
        ),
    )
    page.set_input_files("#file-input", str(resume))
    page.wait_for_selector("#uploads li.done", timeout=60_000)
    assert parts == ["2", "3"]
    got = ctx.request.get(f"{console_url}/objects/c/{CONTAINER}/download?path=resume.bin")
    assert got.body() == resume_data

    # A change without the CSRF token is refused, and nothing changes.
    forged = ctx.request.post(
        f"{console_url}/objects/c/{CONTAINER}/delete", form={"name": "big.bin"}
    )
    assert forged.status == 403

    # A reader: no delete or upload controls, and a forged delete gets 403.
    # The reader prefers dark: the same pages in the dark palette.
    reader_ctx = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="dark")
    reader_ctx.set_default_timeout(20_000)
    reader = reader_ctx.new_page()
    _log_in(reader, console_url, READER, READER_KEY)
    reader.goto(f"{console_url}/objects/c/{CONTAINER}")
    reader.wait_for_selector("#rows a:text-is('big.bin')")
    for absent in (
        "#bulk",
        "#delete-selected",
        "section.upload",
        "form[action$='/delete-container']",
    ):
        assert reader.query_selector(absent) is None, absent
    reader.screenshot(path=str(artifacts / "container-reader.png"), full_page=True)
    # The dark palette, as the system asks (the admin's light page has another background).
    background = "() => getComputedStyle(document.body).backgroundColor"
    assert reader.evaluate(background) == "rgb(17, 20, 24)"
    assert page.evaluate(background) == "rgb(246, 247, 249)"
    reader.click("#rows a:text-is('big.bin')")
    reader.wait_for_url("**/object?path=big.bin")
    assert reader.get_by_role("button", name="Delete").count() == 0
    csrf = reader.get_attribute("body", "data-csrf") or ""
    refused = reader_ctx.request.post(
        f"{console_url}/objects/c/{CONTAINER}/delete", form={"name": "big.bin", "csrf": csrf}
    )
    assert refused.status == 403
    reader_ctx.close()

    # Still there. A folder of 52 objects, 50 a page: "Load 50 more" (htmx) appends the rest.
    page.goto(f"{console_url}/objects/c/{CONTAINER}")
    page.wait_for_selector("#rows a:text-is('big.bin')")
    token = page.get_attribute("body", "data-csrf") or ""
    for i in range(52):
        put = ctx.request.put(
            f"{console_url}/objects/c/{CONTAINER}/upload?path=notes/{i:02d}.txt",
            data=b"note",
            headers={"X-CSRF-Token": token},
        )
        assert put.ok
    page.goto(f"{console_url}/objects/c/{CONTAINER}?prefix=notes/&limit=50")
    assert page.locator("#rows a[href*='/object?']").count() == 50
    page.get_by_role("link", name="Load 50 more").click()
    page.wait_for_selector("#rows a:text-is('51.txt')")
    assert page.locator("#rows a[href*='/object?']").count() == 52
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto(console_url + "/objects")
    page.wait_for_url(lambda url: "/login?next=" in url)
    ctx.close()
