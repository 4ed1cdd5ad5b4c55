"""Long names through Swift's features that build longer names from them: object
versioning (?versions), versioned writes (X-Versions-Location archives named
``<len><name>/<timestamp>``) and SLO segments (issue 22).

Names of 1,000 bytes are twice what LMDB's key could hold before; their version
names are longer still. At 1,024 bytes a version name is over Swift's own limit:
Swift then passes the hidden PUT's 400 through (object versioning) or answers 412
(versioned writes), and so does Stratus.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_lv"
ASCII_MAX = "a" * 1000 + "/" + "b" * 23  # 1,024 bytes
EURO_MAX = "€" * 341 + "x"  # 1,024 bytes of UTF-8
NAMES = (ASCII_MAX, EURO_MAX)
VERSIONED = ("a" * 977 + "/" + "b" * 22, "€" * 333)  # 1,000 and 999 bytes


def _q(name: str) -> str:
    return quote(name, safe="")


@pytest.fixture
async def tok(cluster: Cluster) -> str:
    return cluster.token("lv", role="admin")


async def _listing(swift: SwiftHTTP, tok: str, path: str) -> list[dict[str, object]]:
    r = await swift("GET", f"{URL}/{path}", token=tok)
    assert r.status == 200, r.body
    return json.loads(r.body)


async def test_object_versions_of_long_names(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("PUT", f"{URL}/v", token=tok, headers={"X-Versions-Enabled": "true"})
    assert r.status == 201
    ids: dict[str, list[str]] = {}
    for name in VERSIONED:
        for body in (b"one", b"two", b"three"):
            r = await swift("PUT", f"{URL}/v/{_q(name)}", token=tok, data=body)
            assert r.status == 201, r.body
            ids.setdefault(name, []).append(r.headers["X-Object-Version-Id"])
    rows = await _listing(swift, tok, "v?versions&format=json")
    assert [(x["name"], x["version_id"]) for x in rows] == [
        (n, v) for n in sorted(VERSIONED, key=str.encode) for v in reversed(ids[n])
    ]
    assert [x["name"] for x in await _listing(swift, tok, "v?format=json")] == sorted(
        VERSIONED, key=str.encode
    )
    for name in VERSIONED:
        oldest = ids[name][0]
        r = await swift("GET", f"{URL}/v/{_q(name)}?version-id={oldest}", token=tok)
        assert (r.status, r.body) == (200, b"one")
        r = await swift("DELETE", f"{URL}/v/{_q(name)}?version-id={oldest}", token=tok)
        assert r.status == 204
    rows = await _listing(swift, tok, "v?versions&format=json")
    oldest_ids = {ids[n][0] for n in VERSIONED}
    assert len(rows) == 4 and not oldest_ids & {str(x["version_id"]) for x in rows}


async def test_versions_location_archives_of_long_names(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/arch", token=tok)).status == 201
    r = await swift("PUT", f"{URL}/c", token=tok, headers={"X-Versions-Location": "arch"})
    assert r.status == 201
    for name in VERSIONED:
        for body in (b"one", b"two"):
            r = await swift("PUT", f"{URL}/c/{_q(name)}", token=tok, data=body)
            assert r.status == 201, r.body
    archived = [str(x["name"]) for x in await _listing(swift, tok, "arch?format=json")]
    assert sorted(a[:3] for a in archived) == ["3e7", "3e8"]  # 999 and 1,000 bytes
    assert sorted(a[3:].rsplit("/", 1)[0] for a in archived) == sorted(VERSIONED)
    for name in VERSIONED:  # a DELETE brings the archived version back
        assert (await swift("DELETE", f"{URL}/c/{_q(name)}", token=tok)).status == 204
        assert (await swift("GET", f"{URL}/c/{_q(name)}", token=tok)).body == b"one"
    assert await _listing(swift, tok, "arch?format=json") == []


async def test_slo_of_segments_named_at_the_limit(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/seg", token=tok)).status == 201
    manifest = []
    for name, body in zip(NAMES, (b"A" * 10, b"B" * 7), strict=True):
        r = await swift("PUT", f"{URL}/seg/{_q(name)}", token=tok, data=body)
        assert r.status == 201
        manifest.append({"path": f"seg/{name}", "etag": r.headers["ETag"].strip('"')})
    for name in NAMES:
        path = f"{URL}/seg/{_q(name[:-1] + 'M')}?multipart-manifest=put"
        r = await swift("PUT", path, token=tok, data=json.dumps(manifest).encode())
        assert r.status == 201, r.body
        r = await swift("GET", f"{URL}/seg/{_q(name[:-1] + 'M')}", token=tok)
        assert (r.status, r.body) == (200, b"A" * 10 + b"B" * 7)
    listed = await _listing(swift, tok, "seg?format=json")
    assert len(listed) == 4
    r = await swift("HEAD", f"{URL}/seg", token=tok)
    assert r.headers["X-Container-Object-Count"] == "4"


async def test_version_names_over_the_limit_answer_as_swift(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("PUT", f"{URL}/v2", token=tok, headers={"X-Versions-Enabled": "true"})
    assert r.status == 201
    for name in NAMES:  # refused from the first PUT: never a version it cannot archive
        r = await swift("PUT", f"{URL}/v2/{_q(name)}", token=tok, data=b"x")
        assert (r.status, r.body) == (400, b"Object name length of 1042 longer than 1024")
    r = await swift("GET", f"{URL}/v2?versions&format=json", token=tok)
    assert r.json() == []
    assert (await swift("PUT", f"{URL}/arch2", token=tok)).status == 201
    r = await swift("PUT", f"{URL}/c2", token=tok, headers={"X-Versions-Location": "arch2"})
    assert (await swift("PUT", f"{URL}/c2/{_q(EURO_MAX)}", token=tok, data=b"1")).status == 201
    assert (await swift("PUT", f"{URL}/c2/{_q(EURO_MAX)}", token=tok, data=b"2")).status == 412
    assert (await swift("GET", f"{URL}/c2/{_q(EURO_MAX)}", token=tok)).body == b"1"


async def test_a_long_name_written_before_versioning_is_deleted_once_it_is_off(
    swift: SwiftHTTP, tok: str
) -> None:
    """As in Swift: while versioning is on, its version name does not fit (400); off, it goes."""
    assert (await swift("PUT", f"{URL}/v3", token=tok)).status == 201
    assert (await swift("PUT", f"{URL}/v3/{_q(EURO_MAX)}", token=tok, data=b"x")).status == 201
    on = {"X-Versions-Enabled": "true"}
    assert (await swift("POST", f"{URL}/v3", token=tok, headers=on)).status == 204
    r = await swift("DELETE", f"{URL}/v3/{_q(EURO_MAX)}", token=tok)
    assert r.status == 400, r.body
    assert (await swift("GET", f"{URL}/v3/{_q(EURO_MAX)}", token=tok)).body == b"x"
    off = {"X-Versions-Enabled": "false"}
    assert (await swift("POST", f"{URL}/v3", token=tok, headers=off)).status == 204
    assert (await swift("DELETE", f"{URL}/v3/{_q(EURO_MAX)}", token=tok)).status == 204
    assert await _listing(swift, tok, "v3?format=json") == []
