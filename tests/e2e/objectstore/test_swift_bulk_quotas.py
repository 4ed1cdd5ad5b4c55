"""Quotas and bulk operations against `stratus up`, with unmodified python-swiftclient.

The project's admin sets container quotas with `swift post -m quota-bytes:N`
and meets them on upload; only the operator (admin:admin, Swift's reseller
admin) sets the account's. `swift delete` of many objects goes through
``?bulk-delete``, which swiftclient uses because /info advertises it; an
archive upload is ``put_object(..., query_string="extract-archive=tar")``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests
from swiftclient.client import Connection
from swiftclient.service import SwiftService

from tests.e2e.objectstore.conftest import StratusUp

PROJECT = "bulkq"
OWNER, OWNER_KEY = f"{PROJECT}:owner", "bulkq-owner-key-0123"


def run(cmd: list[str], *args: str, ok: bool = True) -> str:
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, check=False)
    if ok:
        assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
    else:
        assert out.returncode != 0, f"{args} should have failed:\n{out.stdout}"
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def owner(stratus_up: StratusUp) -> list[str]:
    """The `swift` command as the admin of project bulkq (made with the stratus CLI)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env["STRATUS_DATA"] = str(stratus_up.data_dir)
    for args in (
        ("project", "create", PROJECT),
        ("user", "create", OWNER, "--role", "admin", "--key", OWNER_KEY),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "stratus.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
    swift = str(Path(sys.executable).with_name("swift"))
    return [swift, "-A", stratus_up.auth_url, "-U", OWNER, "-K", OWNER_KEY]


@pytest.fixture(scope="module")
def conn(stratus_up: StratusUp, owner: list[str]) -> Connection:
    return Connection(authurl=stratus_up.auth_url, user=OWNER, key=OWNER_KEY, retries=0)


def test_container_quota_with_the_cli(owner: list[str], tmp_path: Path) -> None:
    run(owner, "post", "-m", "quota-bytes:10", "quota-e2e")
    assert "Meta Quota-Bytes: 10" in run(owner, "stat", "quota-e2e")
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_bytes(b"x" * 11)
    small.write_bytes(b"x" * 6)
    out = run(owner, "upload", "quota-e2e", str(big), "--object-name", "big", ok=False)
    assert "413 Request Entity Too Large" in out and "Upload exceeds quota." in out
    run(owner, "upload", "quota-e2e", str(small), "--object-name", "small")
    out = run(owner, "upload", "quota-e2e", str(small), "--object-name", "again", ok=False)
    assert "413" in out


def test_account_quota_is_the_operators(
    stratus_up: StratusUp, swift_cmd: list[str], owner: list[str], tmp_path: Path
) -> None:
    out = run(owner, "post", "-m", "quota-bytes:1000000", ok=False)
    assert "403 Forbidden" in out
    storage_url, _token = stratus_up.auth() or ("", "")
    account_url = storage_url.rsplit("/", 1)[0] + f"/AUTH_{PROJECT}"
    operator = [*swift_cmd, "--os-storage-url", account_url]
    run(operator, "post", "-m", "quota-bytes:20")
    out = run(owner, "stat")
    assert "Quota Bytes: 20" in out and "X-Account-Quota-Bytes: 20" in out
    run(owner, "post", "account-quota-e2e")
    blob = tmp_path / "blob"
    blob.write_bytes(b"y" * 30)
    out = run(owner, "upload", "account-quota-e2e", str(blob), "--object-name", "b", ok=False)
    assert "413 Request Entity Too Large" in out
    run(operator, "post", "-m", "quota-bytes:")
    assert "Quota Bytes" not in run(owner, "stat")
    run(owner, "upload", "account-quota-e2e", str(blob), "--object-name", "b")


def test_delete_of_many_objects_is_a_bulk_delete(
    stratus_up: StratusUp, conn: Connection, owner: list[str]
) -> None:
    caps = conn.get_capabilities()
    assert caps["bulk_delete"] == {"max_deletes_per_request": 10000, "max_failed_deletes": 1000}
    assert caps["bulk_upload"] == {
        "max_containers_per_extraction": 10000,
        "max_failed_extractions": 1000,
    }
    conn.put_container("bulk-e2e")
    names = [f"obj-{i:02d} é" for i in range(25)]
    for name in names:
        conn.put_object("bulk-e2e", name, b"x")
    options = {"auth": stratus_up.auth_url, "user": OWNER, "key": OWNER_KEY, "auth_version": "1"}
    with SwiftService(options=options) as service:
        results = list(service.delete(container="bulk-e2e", objects=names))
    bulk = [r for r in results if r["action"] == "bulk_delete"]
    assert bulk and all(r["success"] for r in bulk), results
    assert sum(r["result"]["Number Deleted"] for r in bulk) == 25
    assert conn.get_container("bulk-e2e")[1] == []
    # The CLI deletes a whole container (its objects in bulk, then the container).
    for name in names:
        conn.put_object("bulk-e2e", name, b"x")
    run(owner, "delete", "bulk-e2e")
    assert "bulk-e2e" not in [c["name"] for c in conn.get_account()[1]]


def test_extract_archive(conn: Connection) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in (("site/index.html", b"<p>hi</p>"), ("site/css/a.css", b"p{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = out.getvalue()
    response: dict[str, object] = {}
    conn.put_object(
        "", None, archive, query_string="extract-archive=tar.gz", response_dict=response
    )
    assert response["status"] == 200
    _headers, listing = conn.get_container("site")
    assert [(o["name"], o["content_type"]) for o in listing] == [
        ("css/a.css", "text/css"),
        ("index.html", "text/html"),
    ]
    assert conn.get_object("site", "index.html")[1] == b"<p>hi</p>"
    # The result document, as a plain HTTP client reads it.
    url, token = str(conn.url), str(conn.token)
    r = requests.put(
        f"{url}/site?extract-archive=tar.gz",
        data=archive,
        headers={"X-Auth-Token": token, "Accept": "application/json"},
        timeout=60,
    )
    assert r.status_code == 200
    assert json.loads(r.content) == {
        "Response Status": "201 Created",
        "Response Body": "",
        "Number Files Created": 2,
        "Errors": [],
    }
    assert conn.get_object("site", "site/css/a.css")[1] == b"p{}"
