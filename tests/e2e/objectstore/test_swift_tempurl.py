"""TempURL and FormPost against `stratus up`, as their users make them.

URLs come from python-swiftclient, unmodified (the `swift tempurl` command
and ``swiftclient.utils.generate_temp_url``), and are fetched with plain
HTTP and no token; the form is posted the way a browser sends one
(``requests`` with ``files=``).
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from swiftclient.client import Connection
from swiftclient.utils import generate_temp_url

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp

KEY = "e2e-tempurl-key"
CONTAINER = "tempurl-e2e"


@pytest.fixture(scope="module")
def site(stratus_up: StratusUp) -> tuple[str, str]:
    """(proxy base URL, account path) with a TempURL key set and one object stored."""
    conn = Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)
    conn.post_account(headers={"X-Account-Meta-Temp-URL-Key": KEY})
    conn.put_container(CONTAINER)
    conn.put_object(CONTAINER, "docs/report.txt", b"quarterly numbers", content_type="text/plain")
    parts = urlsplit(str(conn.url))
    return f"{parts.scheme}://{parts.netloc}", parts.path


def tempurl_cli(*args: str) -> str:
    """The path and query `swift tempurl` prints (it signs offline, with the key given)."""
    swift = Path(sys.executable).with_name("swift")
    out = subprocess.run(
        [str(swift), "tempurl", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.strip()


def fetch(
    url: str, method: str = "GET", data: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A request with no token at all, as a browser or curl would send it."""
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_swift_tempurl_command(site: tuple[str, str]) -> None:
    base, account = site
    obj = f"{account}/{CONTAINER}/docs/report.txt"
    for extra in ((), ("--digest", "sha512"), ("--digest", "sha1"), ("--iso8601",)):
        url = tempurl_cli(*extra, "GET", "60", obj, KEY)
        status, headers, body = fetch(base + url)
        assert (status, body) == (200, b"quarterly numbers"), extra
        assert headers["Content-Disposition"].startswith('attachment; filename="report.txt"')
    status, _h, body = fetch(base + url + "x")  # a tampered signature
    assert (status, body) == (401, b"401 Unauthorized: Temp URL invalid\n")
    past = str(int(time.time()) - 10)
    status, _h, _b = fetch(base + tempurl_cli("--absolute", "GET", past, obj, KEY))
    assert status == 401
    # A prefix-based URL opens every object under the prefix.
    url = tempurl_cli("--prefix-based", "GET", "1h", f"{account}/{CONTAINER}/docs/", KEY)
    path, query = url.split("?", 1)
    assert fetch(f"{base}{path}report.txt?{query}")[0] == 200
    # A PUT URL uploads without a token.
    put = tempurl_cli("PUT", "60", f"{account}/{CONTAINER}/dropbox/in.bin", KEY)
    assert fetch(base + put, "PUT", b"dropped off")[0] == 201
    get = tempurl_cli("GET", "60", f"{account}/{CONTAINER}/dropbox/in.bin", KEY)
    assert fetch(base + get)[2] == b"dropped off"
    assert fetch(base + put.replace("PUT", "GET"))[0] == 401  # the PUT signature reads nothing


def test_generate_temp_url_library(site: tuple[str, str]) -> None:
    base, account = site
    obj = f"{account}/{CONTAINER}/docs/report.txt"
    url = generate_temp_url(obj, 60, KEY, "GET", ip_range="127.0.0.1", digest="sha512")
    assert isinstance(url, str)
    r = requests.get(base + url, params={"inline": ""}, timeout=10)
    assert (r.status_code, r.content) == (200, b"quarterly numbers")
    assert r.headers["Content-Disposition"] == "inline"
    assert requests.head(base + url, timeout=10).status_code == 200  # HEAD rides on GET
    elsewhere = generate_temp_url(obj, 60, KEY, "GET", ip_range="192.0.2.0/24")
    assert isinstance(elsewhere, str)
    assert requests.get(base + elsewhere, timeout=10).status_code == 401


def test_browser_form_post(stratus_up: StratusUp, site: tuple[str, str]) -> None:
    base, account = site
    path = f"{account}/{CONTAINER}/uploads/"
    redirect = "https://app.example/uploaded"
    max_file_size, max_file_count, expires = 1024, 2, int(time.time() + 60)
    hmac_body = f"{path}\n{redirect}\n{max_file_size}\n{max_file_count}\n{expires}"
    signature = hmac.new(KEY.encode(), hmac_body.encode(), hashlib.sha256).hexdigest()
    fields = {
        "redirect": redirect,
        "max_file_size": str(max_file_size),
        "max_file_count": str(max_file_count),
        "expires": str(expires),
        "signature": signature,
    }
    files = {
        "file1": ("photo.jpg", b"\xff\xd8 not really a jpeg", "image/jpeg"),
        "file2": ("notes.txt", b"some notes", "text/plain"),
    }
    r = requests.post(base + path, data=fields, files=files, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"] == f"{redirect}?status=201&message="
    conn = Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)
    headers, body = conn.get_object(CONTAINER, "uploads/photo.jpg")
    assert (headers["content-type"], body) == ("image/jpeg", b"\xff\xd8 not really a jpeg")
    assert conn.get_object(CONTAINER, "uploads/notes.txt")[1] == b"some notes"
    fields["signature"] = "0" * 64
    r = requests.post(base + path, data=fields, files=files, allow_redirects=False, timeout=10)
    assert (r.status_code, r.text) == (401, "FormPost: Invalid Signature")
