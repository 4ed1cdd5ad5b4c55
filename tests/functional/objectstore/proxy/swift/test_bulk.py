"""Swift's bulk middleware: ?bulk-delete and ?extract-archive on a real cluster.

Every answer is a 200 whose body reports the outcome; the bodies are
compared byte for byte with what Swift 2.38 renders.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tarfile
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest

from objectstore.proxy.swift.middleware import bulk
from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

ACCT = "/v1/AUTH_bulk"
PLAIN = {"Content-Type": "text/plain"}


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = cluster.token("bulk")
    for path in ("c", "c/a", "c/b", "c/c%20d", "c/%C3%A9", "full", "full/x"):
        r = await swift("PUT", f"{ACCT}/{path}", token=token, data=b"x", raw=True)
        assert r.status == 201
    return token


def limits(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    """Swift's bulk limits are settings of its filter; the tests lower them."""
    monkeypatch.setattr(bulk, "LIMITS", bulk.Limits(**changes))


# -- bulk delete -------------------------------------------------------------------------


async def test_bulk_delete_plain(swift: SwiftHTTP, tok: str) -> None:
    body = b"/c/a\nc/b\n/c/c%20d\n/c/nothere\n/full\n/nocont\n\n   \n/c/%C3%A9"
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=PLAIN, data=body)
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/plain"
    assert r.body == (
        b"Number Deleted: 4\nNumber Not Found: 2\nResponse Body: \n"
        b"Response Status: 400 Bad Request\nErrors:\n/full, 409 Conflict\n"
    )
    listing = await swift("GET", f"{ACCT}/c", token=tok)
    assert listing.status == 204
    # A container goes in the same request as its objects, wherever it is listed:
    # objects first, then containers.
    body = b"/c\n/full\n/full/x"
    r = await swift("DELETE", f"{ACCT}?bulk-delete", token=tok, headers=PLAIN, data=body)
    assert r.body == (
        b"Number Deleted: 3\nNumber Not Found: 0\nResponse Body: \n"
        b"Response Status: 200 OK\nErrors:\n"
    )
    assert (await swift("HEAD", f"{ACCT}/full", token=tok)).status == 404


async def test_bulk_delete_json_and_xml(swift: SwiftHTTP, tok: str) -> None:
    body = b"/c/a\n/c/%FF\n/full\n/c/nothere"
    headers = {**PLAIN, "Accept": "application/json"}
    r = await swift("DELETE", f"{ACCT}/c?bulk-delete", token=tok, headers=headers, data=body)
    assert r.headers["Content-Type"] == "application/json"
    assert r.body == (
        b'{"Response Status": "400 Bad Request", "Response Body": "", "Number Deleted": 1, '
        b'"Number Not Found": 1, "Errors": [["/c/%FF", "412 Precondition Failed"], '
        b'["/full", "409 Conflict"]]}'
    )
    headers = {**PLAIN, "Accept": "text/xml"}
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=headers, data=b"/full\n/c/a")
    assert r.headers["Content-Type"] == "text/xml"
    assert r.body == (
        b"<delete>\n<number_deleted>0</number_deleted>\n"
        b"<number_not_found>1</number_not_found>\n<response_body></response_body>\n"
        b"<response_status>400 Bad Request</response_status>\n<errors>\n"
        b"<object><name>/full</name><status>409 Conflict</status></object>\n"
        b"</errors>\n</delete>\n"
    )


async def test_bulk_delete_refusals(swift: SwiftHTTP, tok: str) -> None:
    # Only newline-separated text is read.
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=form, data=b"/c/a")
    assert r.status == 200
    assert r.json() == {
        "Response Status": "406 Not Acceptable",
        "Response Body": "",
        "Number Deleted": 0,
        "Number Not Found": 0,
        "Errors": [],
    }
    # No acceptable answer type: swob's default type, the plain document.
    for accept in ("image/png", "bad"):
        headers = {**PLAIN, "Accept": accept}
        r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=headers, data=b"/c/a")
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
        assert b"Response Status: 406 Not Acceptable\n" in r.body
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=PLAIN, data=b"")
    assert b"Response Body: Invalid bulk delete.\nResponse Status: 400 Bad Request\n" in r.body
    many = b"\n".join(b"/c/o%d" % i for i in range(10001))
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=PLAIN, data=many)
    assert b"Response Body: Maximum Bulk Deletes: 10000 per request\n" in r.body
    assert b"Response Status: 413 Request Entity Too Large\n" in r.body
    long = b"/c/" + b"x" * 3000
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=PLAIN, data=long)
    assert b"Response Body: Invalid File Name\nResponse Status: 400 Bad Request\n" in r.body
    assert (await swift("HEAD", f"{ACCT}/c/a", token=tok)).status == 200


async def test_bulk_delete_is_authorized_item_by_item(
    cluster: Cluster, swift: SwiftHTTP, tok: str
) -> None:
    stranger = cluster.token("stranger")
    r = await swift("POST", f"{ACCT}?bulk-delete", token=stranger, headers=PLAIN, data=b"/c/a\n/c")
    assert r.status == 200
    assert r.body.endswith(
        b"Response Status: 400 Bad Request\nErrors:\n/c/a, 403 Forbidden\n/c, 403 Forbidden\n"
    )
    r = await swift("POST", f"{ACCT}?bulk-delete", headers=PLAIN, data=b"/c/a")
    assert r.body.endswith(b"Errors:\n/c/a, 401 Unauthorized\n")
    reader = cluster.token("bulk", "reader", role="reader")
    r = await swift("POST", f"{ACCT}?bulk-delete", token=reader, headers=PLAIN, data=b"/c/a")
    assert r.body.endswith(b"Errors:\n/c/a, 403 Forbidden\n")
    # A write ACL lets another project delete objects, never containers.
    owner = cluster.token("bulk", "owner", role="admin")
    acl = {"X-Container-Write": "stranger:*"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=acl)).status == 204
    r = await swift("POST", f"{ACCT}?bulk-delete", token=stranger, headers=PLAIN, data=b"/c/a")
    assert b"Number Deleted: 1\n" in r.body
    assert (await swift("HEAD", f"{ACCT}/c/a", token=tok)).status == 404


async def test_bulk_delete_stops_after_max_failures(
    cluster: Cluster, swift: SwiftHTTP, tok: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits(monkeypatch, max_failed_deletes=2)
    stranger = cluster.token("stranger")
    body = b"\n".join(b"/c/o%d" % i for i in range(6))
    r = await swift("POST", f"{ACCT}?bulk-delete", token=stranger, headers=PLAIN, data=body)
    text = r.body.decode()
    assert "Response Body: Max delete failures exceeded\n" in text
    assert "Response Status: 400 Bad Request\n" in text
    assert 2 <= text.count("403 Forbidden") < 6


async def test_bulk_delete_heartbeats(
    swift: SwiftHTTP, tok: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits(monkeypatch, yield_frequency=-1)  # a beat before every result
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=PLAIN, data=b"/c/a\n/c/b")
    assert r.body.startswith(b"  \r\n\r\nNumber Deleted: 2\n")
    headers = {**PLAIN, "Accept": "application/xml"}
    r = await swift("POST", f"{ACCT}?bulk-delete", token=tok, headers=headers, data=b"/c/a")
    assert r.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n\r\n\r\n<delete>\n')


async def test_bulk_delete_needs_a_length(cluster: Cluster, tok: str) -> None:
    host, port = cluster.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {ACCT}?bulk-delete HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n"
        "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Response Status: 411 Length Required\n" in answer


# -- extract archive ---------------------------------------------------------------------


def make_tar(
    members: list[tuple[str, bytes]],
    mode: Literal["w", "w:gz", "w:bz2"] = "w",
    pax: dict[str, dict[str, str]] | None = None,
) -> bytes:
    """A tar of regular files (pax attributes by name), an empty folder and a symlink."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode, format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo("emptydir")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        link = tarfile.TarInfo("docs/link")
        link.type, link.linkname = tarfile.SYMTYPE, "a.txt"
        tar.addfile(link)
    return out.getvalue()


async def test_extract_to_the_account(swift: SwiftHTTP, tok: str) -> None:
    archive = make_tar(
        [
            ("docs/a.txt", b"hello"),
            ("docs/sub/b.json", b"{}"),
            ("top.txt", b"t"),
            ("./pics/meta.bin", b"zz"),
        ],
        pax={
            "./pics/meta.bin": {
                "SCHILY.xattr.user.mime_type": "application/x-foo",
                "SCHILY.xattr.user.meta.color": "blue",
                "LIBARCHIVE.xattr.user.meta.shape": "round",
                "SCHILY.xattr.user.other": "no",
            }
        },
    )
    headers = {"Accept": "application/json", "X-Object-Meta-Tag": "t1", "X-Delete-After": "3600"}
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, headers=headers, data=archive)
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.body == (
        b'{"Response Status": "201 Created", "Response Body": "", '
        b'"Number Files Created": 3, "Errors": []}'
    )
    listing = (await swift("GET", f"{ACCT}/docs?format=json", token=tok)).json()
    assert [(o["name"], o["content_type"]) for o in listing] == [
        ("a.txt", "text/plain"),
        ("sub/b.json", "application/json"),
    ]
    r = await swift("GET", f"{ACCT}/pics/meta.bin", token=tok)
    assert (r.status, r.body) == (200, b"zz")
    assert r.headers["Content-Type"] == "application/x-foo"
    assert r.headers["X-Object-Meta-Tag"] == "t1"
    assert r.headers["X-Object-Meta-Color"] == "blue"
    assert r.headers["X-Object-Meta-Shape"] == "round"
    assert "X-Delete-At" in r.headers
    assert (await swift("HEAD", f"{ACCT}/emptydir", token=tok)).status == 404


@pytest.mark.parametrize(("kind", "mode"), [("tar.gz", "w:gz"), (".TAR.BZ2.", "w:bz2")])
async def test_extract_compressed_into_a_pseudo_directory(
    swift: SwiftHTTP, tok: str, kind: str, mode: Literal["w:gz", "w:bz2"]
) -> None:
    archive = make_tar([("a.txt", b"A"), ("dir/b.html", b"BB"), ("./c", b"")], mode)
    r = await swift("PUT", f"{ACCT}/new/pre/?extract-archive={kind}", token=tok, data=archive)
    assert r.body == (
        b"Number Files Created: 3\nResponse Body: \nResponse Status: 201 Created\nErrors:\n"
    )
    names = (await swift("GET", f"{ACCT}/new", token=tok)).text.split()
    assert names == ["pre/a.txt", "pre/c", "pre/dir/b.html"]


async def test_extract_streams_a_large_member(swift: SwiftHTTP, tok: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    archive = make_tar([("big/blob", data)])

    async def chunked() -> AsyncIterator[bytes]:
        for i in range(0, len(archive), 100_000):
            yield archive[i : i + 100_000]

    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, data=chunked())
    assert b"Number Files Created: 1\n" in r.body
    r = await swift("GET", f"{ACCT}/big/blob", token=tok)
    assert hashlib.md5(r.body).hexdigest() == hashlib.md5(data).hexdigest()


async def test_extract_reports_each_failed_file(swift: SwiftHTTP, tok: str) -> None:
    long = "c/" + "y" * 1100
    archive = make_tar([("c/ok", b"1"), (long, b"2")])
    headers = {"Accept": "application/json"}
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, headers=headers, data=archive)
    doc = r.json()
    assert doc["Response Status"] == "400 Bad Request"
    assert doc["Number Files Created"] == 1
    assert doc["Errors"] == [[long, "400 Bad Request"]]


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("tar", b"garbage here", "Invalid Tar File: truncated header"),
        ("tar.gz", b"garbage here", "Invalid Tar File: not a gzip file"),
        ("tar.bz2", b"garbage here", "Invalid Tar File: invalid compressed data"),
        ("tar", b"", "Invalid Tar File: empty file"),
    ],
)
async def test_extract_invalid_archives(
    swift: SwiftHTTP, tok: str, kind: str, body: bytes, message: str
) -> None:
    r = await swift("PUT", f"{ACCT}/c?extract-archive={kind}", token=tok, data=body)
    assert r.status == 200
    assert (
        r.body
        == (
            f"Number Files Created: 0\nResponse Body: {message}\n"
            "Response Status: 400 Bad Request\nErrors:\n"
        ).encode()
    )


async def test_extract_without_valid_files_and_unknown_formats(swift: SwiftHTTP, tok: str) -> None:
    archive = make_tar([("top.txt", b"t")])
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, data=archive)
    assert b"Response Body: Invalid Tar File: No Valid Files\n" in r.body
    r = await swift("PUT", f"{ACCT}/c?extract-archive=zip", token=tok, data=archive)
    assert (r.status, r.body) == (400, b"Unsupported archive format")
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    # extract-archive is a PUT only; a POST is the account's.
    r = await swift("POST", f"{ACCT}?extract-archive=tar", token=tok, data=archive)
    assert r.status == 204


async def test_extract_is_authorized_item_by_item(
    cluster: Cluster, swift: SwiftHTTP, tok: str
) -> None:
    archive = make_tar([("c/one", b"1"), ("c/two", b"2"), ("fresh/three", b"3")])
    stranger = cluster.token("stranger")
    headers = {"Accept": "text/xml"}
    r = await swift(
        "PUT", f"{ACCT}?extract-archive=tar", token=stranger, headers=headers, data=archive
    )
    assert r.body == (
        b"<extract>\n<number_files_created>0</number_files_created>\n"
        b"<response_body></response_body>\n"
        b"<response_status>400 Bad Request</response_status>\n<errors>\n"
        b"<object><name>/v1/AUTH_bulk/c</name><status>403 Forbidden</status></object>\n"
        b"<object><name>c/one</name><status>403 Forbidden</status></object>\n"
        b"<object><name>c/two</name><status>403 Forbidden</status></object>\n"
        b"<object><name>/v1/AUTH_bulk/fresh</name><status>403 Forbidden</status></object>\n"
        b"<object><name>fresh/three</name><status>403 Forbidden</status></object>\n"
        b"</errors>\n</extract>\n"
    )
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", data=archive)
    assert r.body == (
        b"Number Files Created: 0\nResponse Body: \nResponse Status: 401 Unauthorized\nErrors:\n"
    )
    # A write ACL lets the stranger add objects to that container alone.
    owner = cluster.token("bulk", "owner", role="admin")
    acl = {"X-Container-Write": "stranger:*"}
    assert (await swift("POST", f"{ACCT}/c", token=owner, headers=acl)).status == 204
    r = await swift(
        "PUT", f"{ACCT}?extract-archive=tar", token=stranger, headers=headers, data=archive
    )
    assert b"<number_files_created>2</number_files_created>" in r.body
    # Its HEAD is still denied, but that is told only when the upload fails too.
    assert b"<name>/v1/AUTH_bulk/c</name>" not in r.body
    assert b"<name>c/one</name>" not in r.body
    assert b"<name>fresh/three</name><status>403 Forbidden</status>" in r.body


async def test_extract_meets_quotas(swift: SwiftHTTP, tok: str) -> None:
    owner_quota = {"X-Container-Meta-Quota-Count": "3"}  # c holds 4 objects already
    r = await swift("POST", f"{ACCT}/c", token=tok, headers=owner_quota)
    assert r.status == 204
    archive = make_tar([("c/one", b"1"), ("d/two", b"2")])
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, data=archive)
    assert r.body == (
        b"Number Files Created: 1\nResponse Body: \nResponse Status: 400 Bad Request\n"
        b"Errors:\nc/one, 413 Request Entity Too Large\n"
    )


async def test_extract_limits(swift: SwiftHTTP, tok: str, monkeypatch: pytest.MonkeyPatch) -> None:
    limits(monkeypatch, max_containers_per_extraction=1, max_failed_extractions=2)
    archive = make_tar([("n1/a", b"1"), ("n2/b", b"2"), ("n3/c", b"3")])
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, data=archive)
    assert r.body == (
        b"Number Files Created: 1\nResponse Body: More than 1 containers to create from tar.\n"
        b"Response Status: 400 Bad Request\nErrors:\n"
    )
    long = "y" * 1100
    archive = make_tar([(f"c/{i}{long}", b"x") for i in range(4)])
    r = await swift("PUT", f"{ACCT}?extract-archive=tar", token=tok, data=archive)
    assert r.body.count(b"400 Bad Request") == 3  # two files, then the status


async def test_bulk_sections_in_info(swift: SwiftHTTP) -> None:
    info = json.loads((await swift("GET", "/info")).body)
    assert info["bulk_upload"] == {
        "max_containers_per_extraction": 10000,
        "max_failed_extractions": 1000,
    }
    assert info["bulk_delete"] == {"max_deletes_per_request": 10000, "max_failed_deletes": 1000}
