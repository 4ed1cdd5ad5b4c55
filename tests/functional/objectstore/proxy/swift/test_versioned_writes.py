"""Swift's legacy versioned writes (X-Versions-Location, X-History-Location) on a real cluster.

Expected statuses, headers and bodies are Swift 2.38's answers to the same requests.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_vw"
MARKER = "application/x-deleted;swift_versions_deleted=1"


@pytest.fixture
async def tok(cluster: Cluster) -> str:
    return cluster.token("vw", role="admin")


async def _names(swift: SwiftHTTP, tok: str, container: str) -> list[tuple[str, str]]:
    r = await swift("GET", f"{URL}/{container}?format=json", token=tok)
    return [(x["name"], x["content_type"]) for x in json.loads(r.body)]


async def _put(swift: SwiftHTTP, tok: str, path: str, data: bytes) -> int:
    return (await swift("PUT", f"{URL}/{path}", token=tok, data=data)).status


async def test_stack_mode(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("PUT", f"{URL}/c", token=tok, headers={"X-Versions-Location": "arch"})
    assert r.status == 201
    r = await swift("HEAD", f"{URL}/c", token=tok)
    assert r.headers["X-Versions-Location"] == "arch" and "X-History-Location" not in r.headers
    assert await _put(swift, tok, "c/o", b"one") == 201
    # No archive container yet: the overwrite is refused.
    r = await swift("PUT", f"{URL}/c/o", token=tok, data=b"two")
    assert r.status == 412
    assert (await swift("PUT", f"{URL}/arch", token=tok)).status == 201
    ts1 = (await swift("HEAD", f"{URL}/c/o", token=tok)).headers["X-Timestamp"]
    assert await _put(swift, tok, "c/o", b"two") == 201
    ts2 = (await swift("HEAD", f"{URL}/c/o", token=tok)).headers["X-Timestamp"]
    assert await _put(swift, tok, "c/o", b"three") == 201
    assert [n for n, _ in await _names(swift, tok, "arch")] == [f"001o/{ts1}", f"001o/{ts2}"]
    # Each DELETE pops the newest archived version back.
    assert (await swift("DELETE", f"{URL}/c/o", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/c/o", token=tok)).body == b"two"
    assert [n for n, _ in await _names(swift, tok, "arch")] == [f"001o/{ts1}"]
    assert (await swift("DELETE", f"{URL}/c/o", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/c/o", token=tok)).body == b"one"
    assert (await swift("DELETE", f"{URL}/c/o", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/c/o", token=tok)).status == 404
    assert (await swift("DELETE", f"{URL}/c/o", token=tok)).status == 404
    # The archive is named by length in UTF-8 bytes, in three hex digits.
    assert await _put(swift, tok, "c/\u00e9t\u00e9", b"1") == 201
    assert await _put(swift, tok, "c/\u00e9t\u00e9", b"2") == 201
    assert (await _names(swift, tok, "arch"))[0][0].startswith("005\u00e9t\u00e9/")


async def test_history_mode(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/arch", token=tok)).status == 201
    r = await swift("PUT", f"{URL}/c", token=tok, headers={"X-History-Location": "arch"})
    assert r.status == 201
    r = await swift("HEAD", f"{URL}/c", token=tok)
    assert r.headers["X-History-Location"] == "arch" and "X-Versions-Location" not in r.headers
    assert await _put(swift, tok, "c/o", b"one") == 201
    assert await _put(swift, tok, "c/o", b"two") == 201
    assert (await swift("DELETE", f"{URL}/c/o", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/c/o", token=tok)).status == 404
    kept = await _names(swift, tok, "arch")
    assert [t for _, t in kept] == ["application/octet-stream", "application/octet-stream", MARKER]
    assert all(n.startswith("001o/") for n, _ in kept)
    # A DELETE of nothing still leaves a marker, and answers 404.
    assert (await swift("DELETE", f"{URL}/c/o", token=tok)).status == 404
    assert [t for _, t in await _names(swift, tok, "arch")][-1] == MARKER
    assert len(await _names(swift, tok, "arch")) == 4


async def test_container_headers(swift: SwiftHTTP, tok: str) -> None:
    both = {"X-Versions-Location": "a", "X-History-Location": "b"}
    r = await swift("PUT", f"{URL}/c", token=tok, headers=both)
    assert (r.status, r.headers["Content-Type"], r.body) == (
        400,
        "text/plain",
        b"Only one of x-versions-location or x-history-location may be specified",
    )
    # An empty one of the two gives way to the other.
    r = await swift(
        "PUT", f"{URL}/c", token=tok, headers={"X-Versions-Location": "", "X-History-Location": "b"}
    )
    assert r.status == 201
    assert (await swift("HEAD", f"{URL}/c", token=tok)).headers["X-History-Location"] == "b"
    r = await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Location": "a/b"})
    assert (r.status, r.body) == (412, b"Container name cannot contain slashes")
    r = await swift("POST", f"{URL}/c", token=tok, headers={"X-Remove-History-Location": "x"})
    assert r.status == 204
    r = await swift("HEAD", f"{URL}/c", token=tok)
    assert "X-History-Location" not in r.headers and "X-Versions-Location" not in r.headers
    await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Location": "a"})
    r = await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Location": ""})
    assert r.status == 204
    assert "X-Versions-Location" not in (await swift("HEAD", f"{URL}/c", token=tok)).headers
    # A legacy container cannot take the new kind of versioning.
    await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Location": "a"})
    r = await swift("POST", f"{URL}/c", token=tok, headers={"X-Versions-Enabled": "true"})
    assert (r.status, r.body) == (
        400,
        b"Cannot enable object versioning on a container that is already using "
        b"the legacy versioned writes feature.",
    )


async def test_write_access(swift: SwiftHTTP, cluster: Cluster, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/arch", token=tok)).status == 201
    r = await swift(
        "PUT",
        f"{URL}/c",
        token=tok,
        headers={"X-Versions-Location": "arch", "X-Container-Write": "guest:*"},
    )
    assert r.status == 201
    assert await _put(swift, tok, "c/o", b"one") == 201
    # A writer of the container archives into the archive it cannot itself write.
    guest = cluster.token("guest")
    r = await swift("PUT", f"{URL}/c/o", token=guest, data=b"two")
    assert r.status == 201
    assert len(await _names(swift, tok, "arch")) == 1
    # Anyone else is refused before anything is archived.
    stranger = cluster.token("stranger")
    r = await swift("PUT", f"{URL}/c/o", token=stranger, data=b"three")
    assert r.status == 403
    assert (await swift("DELETE", f"{URL}/c/o", token=stranger)).status == 403
    assert len(await _names(swift, tok, "arch")) == 1
    assert (await swift("DELETE", f"{URL}/c/o", token=guest)).status == 204
    assert (await swift("GET", f"{URL}/c/o", token=tok)).body == b"one"


async def test_copy_into_versioned_container(swift: SwiftHTTP, tok: str) -> None:
    assert (await swift("PUT", f"{URL}/arch", token=tok)).status == 201
    r = await swift("PUT", f"{URL}/c", token=tok, headers={"X-Versions-Location": "arch"})
    assert await _put(swift, tok, "c/o", b"one") == 201
    assert await _put(swift, tok, "c/src", b"new") == 201
    r = await swift("COPY", f"{URL}/c/src", token=tok, headers={"Destination": "c/o"})
    assert r.status == 201
    assert (await swift("GET", f"{URL}/c/o", token=tok)).body == b"new"
    assert len(await _names(swift, tok, "arch")) == 1


async def test_concurrent_overwrites_archive_every_version(swift: SwiftHTTP, tok: str) -> None:
    """Eight overwrites at once in history mode: each one archives the version it replaced,
    so the archive holds all but the last (objectstore/proxy/turns.py)."""
    r = await swift("PUT", f"{URL}/hc", token=tok, headers={"X-History-Location": "harch"})
    assert r.status == 201
    assert (await swift("PUT", f"{URL}/harch", token=tok)).status == 201
    statuses = await asyncio.gather(*(_put(swift, tok, "hc/o", b"%d" % i) for i in range(8)))
    assert statuses == [201] * 8
    assert len(await _names(swift, tok, "harch")) == 7
