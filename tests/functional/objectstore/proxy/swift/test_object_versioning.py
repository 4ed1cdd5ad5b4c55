"""Swift's object versioning (X-Versions-Enabled, ?versions, ?version-id) on a real cluster.

Every expected status, header and body below is what Swift 2.38 answered
to the same request (its object_versioning middleware, run side by side).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest

from objectstore.proxy.swift.middleware import versions_names as vn
from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_ov"
MARKER = "application/x-deleted;swift_versions_deleted=1"
HTML = "text/html; charset=UTF-8"


@pytest.fixture
async def tok(cluster: Cluster) -> str:
    return cluster.token("ov", role="admin")


async def _enable(swift: SwiftHTTP, tok: str, container: str = "c") -> None:
    r = await swift("PUT", f"{URL}/{container}", token=tok, headers={"X-Versions-Enabled": "true"})
    assert r.status == 201


async def _put(swift: SwiftHTTP, tok: str, path: str, data: bytes, **headers: str) -> str:
    r = await swift("PUT", f"{URL}/{path}", token=tok, data=data, headers=headers)
    assert r.status == 201, r.body
    return r.headers.get("X-Object-Version-Id", "")


async def _versions(swift: SwiftHTTP, tok: str, query: str = "") -> list[dict[str, Any]]:
    r = await swift("GET", f"{URL}/c?versions{query}", token=tok)
    assert r.status == 200, r.body
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(r.body)


async def _account_rows(
    swift: SwiftHTTP, tok: str, want: list[tuple[str, int, int]]
) -> list[tuple[str, int, int]]:
    """The account listing's (name, count, bytes), once the stats caught up (at most 5 s)."""
    rows: list[tuple[str, int, int]] = []
    for _ in range(50):
        r = await swift("GET", f"{URL}?format=json", token=tok)
        rows = [(x["name"], x["count"], x["bytes"]) for x in json.loads(r.body)]
        if rows == want:
            break
        await asyncio.sleep(0.1)
    return rows


def _short(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (i["name"], i["version_id"], i["is_latest"], i["bytes"], i["content_type"])
        if "name" in i
        else ("subdir", i["subdir"])
        for i in items
    ]


async def test_versions_kept_and_listed(swift: SwiftHTTP, tok: str) -> None:
    await _enable(swift, tok)
    r = await swift("HEAD", f"{URL}/c", token=tok)
    assert r.headers["X-Versions-Enabled"] == "True"
    v1 = await _put(swift, tok, "c/o", b"one", **{"Content-Type": "text/plain"})
    v2 = await _put(swift, tok, "c/o", b"twotwo", **{"Content-Type": "text/plain"})
    assert v1 < v2 and len(v1) == 16 and v1[10] == "."
    r = await swift("GET", f"{URL}/c/o", token=tok)
    assert (r.status, r.body) == (200, b"twotwo")
    assert r.headers["X-Object-Version-Id"] == v2
    assert r.headers["X-Timestamp"] == v2
    assert r.headers["Content-Location"] == f"{URL}/c/o?version-id={v2}"
    r = await swift("GET", f"{URL}/c/o?version-id={v1}", token=tok)
    assert (r.status, r.body, r.headers["X-Object-Version-Id"]) == (200, b"one", v1)
    assert r.headers["X-Timestamp"] == v1
    r = await swift("HEAD", f"{URL}/c/o?version-id={v2}", token=tok)
    assert (r.status, r.headers["Content-Length"], r.headers["X-Object-Version-Id"]) == (
        200,
        "6",
        v2,
    )
    assert _short(await _versions(swift, tok)) == [
        ("o", v2, True, 6, "text/plain"),
        ("o", v1, False, 3, "text/plain"),
    ]
    # The container's bytes count every version, and the current one's copy in the
    # container (Swift's container holds a 0-byte symlink there: 9); its objects, the
    # current ones.
    r = await swift("HEAD", f"{URL}/c", token=tok)
    assert (r.headers["X-Container-Object-Count"], r.headers["X-Container-Bytes-Used"]) == (
        "1",
        "15",
    )
    # The plain listing shows the current version only.
    r = await swift("GET", f"{URL}/c?format=json", token=tok)
    rows = json.loads(r.body)
    assert [(x["name"], x["bytes"]) for x in rows] == [("o", 6)]
    assert rows[0]["hash"] == hashlib.md5(b"twotwo").hexdigest()


async def test_delete_writes_a_marker(swift: SwiftHTTP, tok: str) -> None:
    await _enable(swift, tok)
    v1 = await _put(swift, tok, "c/o", b"one")
    r = await swift("DELETE", f"{URL}/c/o", token=tok)
    assert r.status == 204
    marker = r.headers["X-Object-Version-Id"]
    assert marker > v1
    r = await swift("GET", f"{URL}/c/o", token=tok)
    assert (r.status, r.headers["X-Object-Version-Id"]) == (404, "null")
    listed = await _versions(swift, tok)
    assert _short(listed) == [
        ("o", marker, True, 0, MARKER),
        ("o", v1, False, 3, "application/octet-stream"),
    ]
    assert listed[0]["hash"] == hashlib.md5(b"").hexdigest()
    assert list(listed[0]) == [
        "bytes",
        "hash",
        "name",
        "content_type",
        "last_modified",
        "is_latest",
        "version_id",
    ]
    # A marker read by its id: 404 naming it; a DELETE of nothing still writes one.
    r = await swift("GET", f"{URL}/c/o?version-id={marker}", token=tok)
    assert (r.status, r.headers["Content-Type"], r.headers["X-Object-Version-Id"]) == (
        404,
        MARKER,
        marker,
    )
    r = await swift("DELETE", f"{URL}/c/nothing", token=tok)
    assert r.status == 404 and r.headers["X-Object-Version-Id"]
    assert ("nothing", r.headers["X-Object-Version-Id"], True, 0, MARKER) in _short(
        await _versions(swift, tok)
    )


async def test_null_version_before_enabling(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/c", token=tok)).status == 201
    await _put(swift, tok, "c/o", b"nullver", **{"X-Object-Meta-Foo": "bar"})
    old = (await swift("HEAD", f"{URL}/c/o", token=tok)).headers["X-Timestamp"]
    r = await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Enabled": "true"})
    assert r.status == 204
    assert _short(await _versions(swift, tok)) == [
        ("o", "null", True, 7, "application/octet-stream")
    ]
    r = await swift("GET", f"{URL}/c/o?version-id=null", token=tok)
    assert (r.status, r.body, r.headers["X-Object-Version-Id"]) == (200, b"nullver", "null")
    r = await swift("HEAD", f"{URL}/c/o", token=tok)
    assert r.headers["X-Object-Version-Id"] == "null" and "Content-Location" not in r.headers
    v1 = await _put(swift, tok, "c/o", b"v1")
    # The null version, once kept, takes its timestamp as id and keeps its metadata.
    assert _short(await _versions(swift, tok)) == [
        ("o", v1, True, 2, "application/octet-stream"),
        ("o", old, False, 7, "application/octet-stream"),
    ]
    r = await swift("GET", f"{URL}/c/o?version-id={old}", token=tok)
    assert (r.body, r.headers["X-Object-Meta-Foo"]) == (b"nullver", "bar")
    assert (await swift("GET", f"{URL}/c/o?version-id=null", token=tok)).status == 404


async def test_disable_keeps_versions(swift: SwiftHTTP, tok: str) -> None:
    await _enable(swift, tok)
    v1 = await _put(swift, tok, "c/o", b"one")
    r = await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Enabled": "false"})
    assert r.status == 204
    assert (await swift("HEAD", f"{URL}/c", token=tok)).headers["X-Versions-Enabled"] == "False"
    assert await _put(swift, tok, "c/o", b"after") == ""
    r = await swift("GET", f"{URL}/c/o", token=tok)
    assert (r.body, r.headers["X-Object-Version-Id"]) == (b"after", "null")
    # The version written while on is kept, and still readable by its id.
    assert _short(await _versions(swift, tok)) == [
        ("o", "null", True, 5, "application/octet-stream"),
        ("o", v1, False, 3, "application/octet-stream"),
    ]
    r = await swift("GET", f"{URL}/c/o?version-id={v1}", token=tok)
    assert r.body == b"one"
    # A DELETE while off writes no marker.
    r = await swift("DELETE", f"{URL}/c/o", token=tok)
    assert r.status == 204 and "X-Object-Version-Id" not in r.headers
    # An unknown value turns it off, as Swift's config_true_value reads it.
    await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Enabled": "bogus"})
    assert (await swift("HEAD", f"{URL}/c", token=tok)).headers["X-Versions-Enabled"] == "False"


async def test_delete_by_version_id(swift: SwiftHTTP, tok: str) -> None:
    await _enable(swift, tok)
    v1 = await _put(swift, tok, "c/o", b"one")
    v2 = await _put(swift, tok, "c/o", b"two")
    r = await swift("DELETE", f"{URL}/c/o?version-id={v1}", token=tok)
    assert r.status == 204
    assert (r.headers["X-Object-Version-Id"], r.headers["X-Object-Current-Version-Id"]) == (v1, v2)
    assert (await swift("GET", f"{URL}/c/o?version-id={v1}", token=tok)).status == 404
    # The current version's id takes the object with it (no older version comes back).
    r = await swift("DELETE", f"{URL}/c/o?version-id={v2}", token=tok)
    assert r.status == 204
    assert (r.headers["X-Object-Version-Id"], r.headers["X-Object-Current-Version-Id"]) == (
        v2,
        "null",
    )
    assert (await swift("GET", f"{URL}/c/o", token=tok)).status == 404
    assert await _versions(swift, tok) == []
    # Now the container can go, and its hidden container with it.
    assert (await swift("DELETE", f"{URL}/c", token=tok)).status == 204
    r = await swift("GET", f"{URL}?format=json", token=tok)
    assert json.loads(r.body) == []


async def test_restore_by_put(swift: SwiftHTTP, tok: str) -> None:
    await _enable(swift, tok)
    v1 = await _put(swift, tok, "c/o", b"one")
    v2 = await _put(swift, tok, "c/o", b"two")
    r = await swift("PUT", f"{URL}/c/o?version-id={v1}", token=tok, headers={"Content-Length": "0"})
    assert (r.status, r.headers["X-Object-Version-Id"]) == (201, v1)
    assert r.headers["Etag"] == hashlib.md5(b"one").hexdigest()
    r = await swift("GET", f"{URL}/c/o", token=tok)
    assert (r.body, r.headers["X-Object-Version-Id"], r.headers["X-Timestamp"]) == (
        b"one",
        v1,
        v1,
    )
    assert _short(await _versions(swift, tok)) == [
        ("o", v2, False, 3, "application/octet-stream"),
        ("o", v1, True, 3, "application/octet-stream"),
    ]
    r = await swift("PUT", f"{URL}/c/o?version-id={v1}", token=tok, data=b"x")
    assert (r.status, r.body) == (400, b"PUT version-id requests require a zero byte body")
    r = await swift("PUT", f"{URL}/c/o?version-id=1.5", token=tok, data=b"")
    assert (r.status, r.body) == (404, b"The specified version does not exist")
    r = await swift("PUT", f"{URL}/c/o?version-id=null", token=tok, data=b"")
    assert (r.status, r.body) == (400, b"Invalid version parameter")


async def test_version_id_errors(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/plain", token=tok)).status == 201
    await _put(swift, tok, "plain/o", b"x")
    r = await swift("GET", f"{URL}/plain/o?version-id=1796669413.40256", token=tok)
    assert (r.status, r.headers["Content-Type"], r.body) == (
        400,
        HTML,
        b"version-aware operations require that the container is versioned",
    )
    r = await swift("GET", f"{URL}/plain/o?version-id=null", token=tok)
    assert (r.status, r.body, r.headers["X-Object-Version-Id"]) == (200, b"x", "null")
    await _enable(swift, tok)
    await _put(swift, tok, "c/o", b"x")
    r = await swift("GET", f"{URL}/c/o?version-id=bogus", token=tok)
    assert (r.status, r.body) == (400, b"Invalid version parameter")
    r = await swift("POST", f"{URL}/c/o?version-id=1796669413.40256", token=tok)
    assert (r.status, r.body) == (400, b"POST to a specific version is not allowed")
    r = await swift("GET", f"{URL}/c/o?version-id=1796669413.40256", token=tok)
    assert r.status == 404


async def test_listing_params(swift: SwiftHTTP, tok: str) -> None:
    await _enable(swift, tok)
    a1 = await _put(swift, tok, "c/a", b"1")
    a2 = await _put(swift, tok, "c/a", b"22")
    b1 = await _put(swift, tok, "c/d/b", b"333")
    assert _short(await _versions(swift, tok, "&limit=2")) == [
        ("a", a2, True, 2, "application/octet-stream"),
        ("a", a1, False, 1, "application/octet-stream"),
    ]
    page = await _versions(swift, tok, f"&marker=a&version_marker={a2}")
    assert _short(page) == [
        ("a", a1, False, 1, "application/octet-stream"),
        ("d/b", b1, True, 3, "application/octet-stream"),
    ]
    assert _short(await _versions(swift, tok, "&marker=a")) == [
        ("d/b", b1, True, 3, "application/octet-stream")
    ]
    assert _short(await _versions(swift, tok, "&prefix=d/")) == [
        ("d/b", b1, True, 3, "application/octet-stream")
    ]
    assert _short(await _versions(swift, tok, "&delimiter=/")) == [
        ("a", a2, True, 2, "application/octet-stream"),
        ("a", a1, False, 1, "application/octet-stream"),
        ("subdir", "d/"),
    ]
    # Swift's order, quirks included: reversed, a name's versions oldest first; past
    # end_marker, current versions still listed (as not latest).
    assert [i["version_id"] for i in await _versions(swift, tok, "&reverse=on")] == [b1, a1, a2]
    assert [
        (i["version_id"], i["is_latest"]) for i in await _versions(swift, tok, "&end_marker=b")
    ] == [
        (a2, True),
        (a1, False),
        (b1, False),
    ]
    for query, body in [
        ("&version_marker=1", b"version_marker param requires marker"),
        ("&marker=a&version_marker=x", b"invalid version_marker param"),
        ("&delimiter=1", b"invalid delimiter param"),
    ]:
        r = await swift("GET", f"{URL}/c?versions{query}", token=tok)
        assert (r.status, r.body) == (400, body), query
    for query in ("&format=xml", "&format=plain"):
        assert (await swift("GET", f"{URL}/c?versions{query}", token=tok)).status == 406
    r = await swift("GET", f"{URL}/c?versions", token=tok, headers={"Accept": "text/plain"})
    assert r.status == 406


async def test_container_rules(swift: SwiftHTTP, cluster: Cluster, tok: str) -> None:
    await _enable(swift, tok)
    await _put(swift, tok, "c/o", b"one")
    await _put(swift, tok, "c/o", b"two")
    r = await swift("DELETE", f"{URL}/c", token=tok)
    assert (r.status, r.body) == (409, b"Delete all versions before deleting container.")
    # The hidden container is neither listed nor reachable; its bytes count in its container's
    # (6, both versions) with the current version's copy in the container (3; Swift: 0).
    assert await _account_rows(swift, tok, [("c", 1, 9)]) == [("c", 1, 9)]
    hidden = vn.versions_container("c").replace("\x01", "%01")
    r = await swift("GET", f"{URL}/{hidden}", token=tok, raw=True)
    assert (r.status, r.body) == (412, b"Invalid UTF8 or contains NULL")
    r = await swift("GET", f"{URL}/{hidden}/x", token=tok, raw=True)
    assert r.status == 412
    r = await swift("COPY", f"{URL}/c/o", token=tok, headers={"Destination": f"{hidden}/x"})
    assert r.status == 412
    # Legacy versioning and the new kind do not mix.
    r = await swift("PUT", f"{URL}/legacy", token=tok, headers={"X-Versions-Location": "x"})
    assert r.status == 201
    # Only the account's owners switch it on.
    member = cluster.token("ov", "member-user", role="member")
    r = await swift("POST", f"{URL}/c", token=member, headers={"X-Versions-Enabled": "false"})
    assert r.status == 204
    other = cluster.token("other")
    r = await swift("POST", f"{URL}/c", token=other, headers={"X-Versions-Enabled": "false"})
    assert r.status == 403
    assert (
        await swift("POST", f"{URL}/nope", token=tok, headers={"X-Versions-Enabled": "true"})
    ).status == 404
    # A name with no room for the hidden container's prefix cannot be versioned (Swift's 500).
    long_name = "x" * 249
    r = await swift("PUT", f"{URL}/{long_name}", token=tok, headers={"X-Versions-Enabled": "1"})
    assert (r.status, r.body) == (500, b"Error enabling object versioning")
    assert (await swift("HEAD", f"{URL}/{long_name}", token=tok)).status == 404


async def test_acl_users(swift: SwiftHTTP, cluster: Cluster, tok: str) -> None:
    r = await swift(
        "PUT",
        f"{URL}/c",
        token=tok,
        headers={
            "X-Versions-Enabled": "true",
            "X-Container-Read": "guest:*",
            "X-Container-Write": "guest:*",
        },
    )
    assert r.status == 201
    guest = cluster.token("guest")
    v1 = await _put(swift, tok, "c/o", b"one")
    r = await swift("PUT", f"{URL}/c/o", token=guest, data=b"two")
    assert r.status == 201 and r.headers["X-Object-Version-Id"] > v1
    r = await swift("GET", f"{URL}/c/o", token=guest)
    assert r.body == b"two"
    # Versions are read with the hidden container's rights: the owners' alone.
    assert (await swift("GET", f"{URL}/c/o?version-id={v1}", token=guest)).status == 403
    r = await swift("DELETE", f"{URL}/c/o?version-id={v1}", token=guest)
    assert r.status == 403 and r.headers["X-Object-Version-Id"] == v1
    r = await swift("GET", f"{URL}/c?versions", token=guest)
    assert r.status == 200 and len(json.loads(r.body)) == 2
    assert (await swift("DELETE", f"{URL}/c/o", token=guest)).status == 204


async def test_large_objects_and_links_are_versioned(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/segs", token=tok)).status == 201
    await _put(swift, tok, "segs/s1", b"aaaaa")
    await _put(swift, tok, "segs/s2", b"bbbbbbb")
    await _enable(swift, tok)
    manifest = json.dumps([{"path": "/segs/s1"}, {"path": "/segs/s2"}]).encode()
    r = await swift("PUT", f"{URL}/c/big?multipart-manifest=put", token=tok, data=manifest)
    assert r.status == 201
    v1, slo_etag = r.headers["X-Object-Version-Id"], r.headers["Etag"]
    v2 = await _put(swift, tok, "c/big", b"plain")
    # The manifest was kept as a manifest: its version reads whole, as Swift's does.
    r = await swift("GET", f"{URL}/c/big?version-id={v1}", token=tok)
    assert (r.status, r.body, r.headers["X-Static-Large-Object"]) == (200, b"aaaaabbbbbbb", "True")
    assert (r.headers["Etag"], r.headers["X-Object-Version-Id"]) == (slo_etag, v1)
    listed = await _versions(swift, tok)
    assert [(i["version_id"], i["bytes"], i.get("slo_etag")) for i in listed] == [
        (v2, 5, None),
        (v1, 12, slo_etag),
    ]
    # A symlink is versioned like any object, and followed when read.
    await _put(swift, tok, "c/target", b"T")
    link = await _put(swift, tok, "c/link", b"", **{"X-Symlink-Target": "c/target"})
    r = await swift("GET", f"{URL}/c/link", token=tok)
    assert (r.status, r.body) == (200, b"T")
    await _put(swift, tok, "c/link", b"not a link any more")
    r = await swift("GET", f"{URL}/c/link?version-id={link}&symlink=get", token=tok)
    assert (r.status, r.headers["X-Symlink-Target"]) == (200, "c/target")
    r = await swift("GET", f"{URL}/c/link?version-id={link}", token=tok)
    assert (r.status, r.body) == (200, b"T")


async def test_info_sections(swift: SwiftHTTP) -> None:
    info = json.loads((await swift("GET", "/info")).body)
    assert info["object_versioning"] == {}
    assert info["versioned_writes"] == {
        "allowed_flags": ["x-versions-location", "x-history-location"]
    }


async def test_concurrent_writes_keep_every_version(swift: SwiftHTTP, tok: str) -> None:
    """Ten PUTs of one object at once, then five DELETEs: every version each PUT was told
    about is listed, and each DELETE leaves its marker (each writes its own version first:
    object_versioning.py; through two proxy processes: s3compat/test_versions_two_proxies)."""
    await _enable(swift, tok)

    async def put(i: int) -> str:
        r = await swift("PUT", f"{URL}/c/o", token=tok, data=b"%d" % i)
        assert r.status == 201, r.body
        return r.headers["X-Object-Version-Id"]

    async def delete() -> str:
        r = await swift("DELETE", f"{URL}/c/o", token=tok)
        assert r.status in (204, 404), r.body
        return r.headers["X-Object-Version-Id"]

    made = await asyncio.gather(*(put(i) for i in range(10)))
    assert len(set(made)) == 10
    listed = [v["version_id"] for v in await _versions(swift, tok)]
    assert sorted(listed) == sorted(made)
    markers = await asyncio.gather(*(delete() for _ in range(5)))
    rows = await _versions(swift, tok)
    assert sorted(v["version_id"] for v in rows) == sorted([*made, *markers])
    r = await swift("GET", f"{URL}/c/o?version-id={max(made)}", token=tok)
    assert r.status == 200


async def test_post_metadata_stays_with_its_version(swift: SwiftHTTP, tok: str) -> None:
    """A POST to the current object reaches its version too: it keeps the metadata once
    another version is current (Swift POSTs to the version its symlink names)."""
    await _enable(swift, tok)
    v1 = await _put(swift, tok, "c/o", b"one")
    r = await swift("POST", f"{URL}/c/o", token=tok, headers={"X-Object-Meta-Color": "red"})
    assert r.status == 202
    v2 = await _put(swift, tok, "c/o", b"two")
    r = await swift("HEAD", f"{URL}/c/o?version-id={v1}", token=tok)
    assert (r.status, r.headers.get("X-Object-Meta-Color")) == (200, "red")
    r = await swift("HEAD", f"{URL}/c/o", token=tok)
    assert (r.headers["X-Object-Version-Id"], r.headers.get("X-Object-Meta-Color")) == (v2, None)
