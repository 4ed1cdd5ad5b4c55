"""Dynamic large objects through the native API on a real cluster (Swift 2.38's answers)."""

from __future__ import annotations

import hashlib

import pytest

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_dlo"
SEGMENTS = [b"seg1-", b"seg2-", b"seg3-"]
WHOLE = b"".join(SEGMENTS)
DLO_ETAG = hashlib.md5("".join(hashlib.md5(s).hexdigest() for s in SEGMENTS).encode()).hexdigest()


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = cluster.token("dlo")
    assert (await swift("PUT", f"{URL}/c", token=token)).status == 201
    for i, data in enumerate(SEGMENTS, 1):
        assert (await swift("PUT", f"{URL}/c/big/p/{i:03}", token=token, data=data)).status == 201
    r = await swift(
        "PUT",
        f"{URL}/c/big",
        token=token,
        data=b"",
        headers={"X-Object-Manifest": "c/big/p/", "Content-Type": "text/x-dlo"},
    )
    assert r.status == 201
    return token


async def test_get_and_head_show_the_whole(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("GET", f"{URL}/c/big", token=tok)
    assert (r.status, r.body) == (200, WHOLE)
    assert r.headers["Etag"] == f'"{DLO_ETAG}"' and r.headers["Content-Type"] == "text/x-dlo"
    assert r.headers["X-Object-Manifest"] == "c/big/p/"
    r = await swift("HEAD", f"{URL}/c/big", token=tok)
    assert r.headers["Content-Length"] == str(len(WHOLE)) and r.headers["Etag"] == f'"{DLO_ETAG}"'
    r = await swift("GET", f"{URL}/c/big", token=tok, headers={"If-None-Match": f'"{DLO_ETAG}"'})
    assert r.status == 304
    # A segment added later is part of the object at once.
    assert (await swift("PUT", f"{URL}/c/big/p/004", token=tok, data=b"!")).status == 201
    assert (await swift("GET", f"{URL}/c/big", token=tok)).body == WHOLE + b"!"


async def test_ranges(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("GET", f"{URL}/c/big", token=tok, headers={"Range": "bytes=3-7"})
    assert (r.status, r.body) == (206, b"1-seg")
    assert r.headers["Content-Range"] == "bytes 3-7/15" and r.headers["Etag"] == f'"{DLO_ETAG}"'
    r = await swift("GET", f"{URL}/c/big", token=tok, headers={"Range": "bytes=-4"})
    assert (r.status, r.body) == (206, WHOLE[-4:])
    # As Swift's dlo: several ranges get the whole object.
    r = await swift("GET", f"{URL}/c/big", token=tok, headers={"Range": "bytes=0-0,-2"})
    assert (r.status, r.body) == (200, WHOLE) and "Content-Range" not in r.headers
    r = await swift("GET", f"{URL}/c/big", token=tok, headers={"Range": "bytes=20-"})
    assert r.status == 416 and r.headers["Content-Range"] == "bytes */15"


async def test_manifest_get_and_copies(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("GET", f"{URL}/c/big?multipart-manifest=get", token=tok)
    assert (r.status, r.body) == (200, b"")
    assert r.headers["Etag"] == hashlib.md5(b"").hexdigest()
    assert r.headers["X-Object-Manifest"] == "c/big/p/"
    r = await swift("COPY", f"{URL}/c/big", token=tok, headers={"Destination": "c/flat"})
    assert r.status == 201 and r.headers["Etag"] == hashlib.md5(WHOLE).hexdigest()
    r = await swift("GET", f"{URL}/c/flat", token=tok)
    assert r.body == WHOLE and "X-Object-Manifest" not in r.headers
    r = await swift("PUT", f"{URL}/c/flat2", token=tok, headers={"X-Copy-From": "c/big"}, data=b"")
    assert r.status == 201 and r.headers["Etag"] == hashlib.md5(WHOLE).hexdigest()
    r = await swift(
        "COPY",
        f"{URL}/c/big?multipart-manifest=get",
        token=tok,
        headers={"Destination": "c/big2"},
    )
    assert r.status == 201 and r.headers["Etag"] == hashlib.md5(b"").hexdigest()
    r = await swift("GET", f"{URL}/c/big2", token=tok)
    assert r.body == WHOLE and r.headers["X-Object-Manifest"] == "c/big/p/"


async def test_post_sets_or_drops_the_manifest(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("POST", f"{URL}/c/big", token=tok, headers={"X-Object-Manifest": "c/big/p/00"})
    assert r.status == 202
    assert (await swift("GET", f"{URL}/c/big", token=tok)).body == WHOLE
    r = await swift("POST", f"{URL}/c/big", token=tok, headers={"X-Object-Meta-A": "b"})
    assert r.status == 202
    r = await swift("GET", f"{URL}/c/big", token=tok)  # as Swift: a POST replaces it
    assert r.body == b"" and "X-Object-Manifest" not in r.headers


@pytest.mark.parametrize("value", ["bad", "c/", "/c/p", "c//p", "c/p?x", "c/p&x"])
async def test_malformed_manifest_header(swift: SwiftHTTP, tok: str, value: str) -> None:
    r = await swift("PUT", f"{URL}/c/x", token=tok, data=b"", headers={"X-Object-Manifest": value})
    assert r.status == 400
    assert r.text == "X-Object-Manifest must be in the format container/prefix"
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"


async def test_empty_and_missing_segment_container(swift: SwiftHTTP, tok: str) -> None:
    hdrs = {"X-Object-Manifest": "c/none/"}
    assert (await swift("PUT", f"{URL}/c/e", token=tok, data=b"", headers=hdrs)).status == 201
    r = await swift("GET", f"{URL}/c/e", token=tok)
    assert (r.status, r.body) == (200, b"")
    assert r.headers["Etag"] == f'"{hashlib.md5(b"").hexdigest()}"'
    hdrs = {"X-Object-Manifest": "nowhere/p"}
    assert (await swift("PUT", f"{URL}/c/n", token=tok, data=b"", headers=hdrs)).status == 201
    assert (await swift("GET", f"{URL}/c/n", token=tok)).status == 404


async def test_segment_container_acl(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    """Anonymous readers need the segment container's listing grant (referrer rules too)."""
    admin = cluster.token("dlo", "boss", role="admin")
    for name, acl in (
        ("pub", ".r:*,.rlistings"),
        ("seg", ".r:*"),
        ("ref", ".r:example.com,.rlistings"),
    ):
        r = await swift("PUT", f"{URL}/{name}", token=admin, headers={"X-Container-Read": acl})
        assert r.status == 201
    for name in ("seg", "ref"):
        assert (await swift("PUT", f"{URL}/{name}/p1", token=tok, data=b"abc")).status == 201
        hdrs = {"X-Object-Manifest": f"{name}/p"}
        r = await swift("PUT", f"{URL}/pub/{name}", token=tok, data=b"", headers=hdrs)
        assert r.status == 201
    r = await swift("GET", f"{URL}/pub/seg")
    assert r.status == 401 and r.headers["Www-Authenticate"] == 'Swift realm="AUTH_dlo"'
    assert (await swift("GET", f"{URL}/pub/ref")).status == 401
    r = await swift("GET", f"{URL}/pub/ref", headers={"Referer": "http://example.com/x"})
    assert (r.status, r.body) == (200, b"abc")
    carol = cluster.token("dlo", "carol", role="acl-only")
    assert (await swift("GET", f"{URL}/pub/seg", token=carol)).status == 403
    assert (await swift("HEAD", f"{URL}/pub/seg", token=carol)).status == 403
    assert (await swift("GET", f"{URL}/pub/seg", token=tok)).body == b"abc"


async def test_info_has_no_dlo_section(swift: SwiftHTTP) -> None:
    assert "dlo" not in (await swift("GET", "/info")).json()  # Swift publishes none
