"""Object requests through the native API on a real cluster."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from objectstore.proxy.conditional import http_date
from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_obj"


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = cluster.token("obj")
    assert (await swift("PUT", f"{URL}/c", token=token)).status == 201
    return token


async def test_put_get_head_delete(swift: SwiftHTTP, tok: str) -> None:
    data = b"hello object"
    r = await swift(
        "PUT",
        f"{URL}/c/greeting.txt",
        token=tok,
        data=data,
        headers={
            "X-Object-Meta-Color": "blue",
            "Content-Encoding": "identity",
            "Content-Disposition": "attachment; filename=g.txt",
        },
    )
    assert r.status == 201
    assert r.headers["Etag"] == hashlib.md5(data).hexdigest()
    r = await swift("GET", f"{URL}/c/greeting.txt", token=tok)
    assert (r.status, r.body) == (200, data)
    assert r.headers["Content-Type"] == "text/plain"  # guessed from the name
    assert r.headers["X-Object-Meta-Color"] == "blue"
    assert r.headers["Content-Disposition"] == "attachment; filename=g.txt"
    assert r.headers["Content-Encoding"] == "identity"
    assert r.headers["Etag"] == hashlib.md5(data).hexdigest()
    assert r.headers["X-Trans-Id"].startswith("tx")
    r = await swift("HEAD", f"{URL}/c/greeting.txt", token=tok)
    assert r.status == 200 and r.headers["Content-Length"] == str(len(data)) and r.body == b""
    r = await swift("PUT", f"{URL}/c/blob", token=tok, data=b"x")
    assert (await swift("HEAD", f"{URL}/c/blob", token=tok)).headers[
        "Content-Type"
    ] == "application/octet-stream"
    r = await swift(
        "PUT", f"{URL}/c/typed", token=tok, data=b"{}", headers={"Content-Type": "app/x"}
    )
    assert (await swift("HEAD", f"{URL}/c/typed", token=tok)).headers["Content-Type"] == "app/x"
    assert (await swift("DELETE", f"{URL}/c/greeting.txt", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/c/greeting.txt", token=tok)).status == 404
    assert (await swift("DELETE", f"{URL}/c/greeting.txt", token=tok)).status == 404


async def test_large_and_chunked_bodies(swift: SwiftHTTP, tok: str) -> None:
    data = bytes(range(256)) * 12_000  # ~3 MiB: streamed both ways

    async def gen():
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    r = await swift("PUT", f"{URL}/c/chunked", token=tok, data=gen())
    assert r.status == 201 and r.headers["Etag"] == hashlib.md5(data).hexdigest()
    r = await swift("PUT", f"{URL}/c/sized", token=tok, data=data)
    assert r.status == 201
    for name in ("chunked", "sized"):
        r = await swift("GET", f"{URL}/c/{name}", token=tok)
        assert r.body == data


async def test_length_required_and_too_large(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(cluster.url.rsplit(":", 1)[1]))
    writer.write(f"PUT {URL}/c/nolen HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411 ")
    writer.close()
    r = await swift("PUT", f"{URL}/c/huge", token=tok, headers={"Content-Length": str(6 * 1024**3)})
    assert (r.status, r.text) == (413, "Your request is too large.")


async def test_short_body_stores_nothing(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    port = int(cluster.url.rsplit(":", 1)[1])
    for name, announced, sent in (("small", 100, 50), ("large", 2_000_000, 1_000_000)):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"PUT {URL}/c/{name} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n"
                f"Content-Length: {announced}\r\n\r\n"
            ).encode()
            + b"s" * sent
        )
        await writer.drain()
        writer.write_eof()
        await reader.read()  # whatever the proxy says, if anything
        writer.close()
        r = await swift("GET", f"{URL}/c/{name}", token=tok)
        assert r.status == 404, name
    rows = (await swift("GET", f"{URL}/c?format=json", token=tok)).json()
    assert rows == []


async def test_etag_mismatch(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("PUT", f"{URL}/c/e", token=tok, data=b"abc", headers={"ETag": "0" * 32})
    assert r.status == 422
    assert r.body == (
        b"<html><h1>Unprocessable Entity</h1>"
        b"<p>Unable to process the contained instructions</p></html>"
    )
    assert (await swift("HEAD", f"{URL}/c/e", token=tok)).status == 404
    good = hashlib.md5(b"abc").hexdigest()
    r = await swift("PUT", f"{URL}/c/e", token=tok, data=b"abc", headers={"ETag": f'"{good}"'})
    assert r.status == 201


async def test_ranges(swift: SwiftHTTP, tok: str) -> None:
    data = bytes(range(256)) * 4
    await swift("PUT", f"{URL}/c/r", token=tok, data=data, headers={"Content-Type": "text/x"})

    async def get(rng: str):
        return await swift("GET", f"{URL}/c/r", token=tok, headers={"Range": rng})

    r = await get("bytes=10-19")
    assert (r.status, r.body) == (206, data[10:20])
    assert r.headers["Content-Range"] == "bytes 10-19/1024"
    r = await get("bytes=-4")
    assert (r.status, r.body, r.headers["Content-Range"]) == (
        206,
        data[-4:],
        "bytes 1020-1023/1024",
    )
    r = await get("bytes=1000-")
    assert r.body == data[1000:]
    r = await get("bytes=0-1,500-501,2000-3000")
    assert r.status == 206
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges;boundary=")
    boundary = ctype.split("=", 1)[1].encode()
    assert int(r.headers["Content-Length"]) == len(r.body)
    parts = r.body.split(b"--" + boundary)
    assert parts[-1] == b"--"
    assert b"Content-Range: bytes 0-1/1024\r\n\r\n" + data[0:2] + b"\r\n" in parts[1]
    assert b"Content-Type: text/x\r\n" in parts[1]
    assert b"Content-Range: bytes 500-501/1024\r\n\r\n" + data[500:502] + b"\r\n" in parts[2]
    r = await get("bytes=5000-6000")
    assert r.status == 416 and r.headers["Content-Range"] == "bytes */1024"
    r = await get("bytes=junk")
    assert (r.status, r.body) == (200, data)


async def test_range_on_a_large_object(swift: SwiftHTTP, tok: str) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    await swift("PUT", f"{URL}/c/big", token=tok, data=data)
    r = await swift("GET", f"{URL}/c/big", token=tok, headers={"Range": "bytes=1500000-1500099"})
    assert (r.status, r.body) == (206, data[1_500_000:1_500_100])
    r = await swift(
        "GET", f"{URL}/c/big", token=tok, headers={"Range": "bytes=0-9,1999990-1999999"}
    )
    assert data[:10] in r.body and data[1_999_990:2_000_000] in r.body


async def test_conditional_requests(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("PUT", f"{URL}/c/cond", token=tok, data=b"v1")
    etag = r.headers["Etag"]
    lm = (await swift("HEAD", f"{URL}/c/cond", token=tok)).headers["Last-Modified"]

    async def get(headers: dict[str, str], method: str = "GET"):
        return await swift(method, f"{URL}/c/cond", token=tok, headers=headers)

    assert (await get({"If-Match": f'"{etag}"'})).status == 200
    assert (await get({"If-Match": '"nope"'})).status == 412
    r = await get({"If-None-Match": f'"{etag}"'})
    assert r.status == 304 and r.headers["Etag"] == etag and r.body == b""
    assert (await get({"If-None-Match": '"nope"'})).status == 200
    assert (await get({"If-Modified-Since": lm})).status == 304
    assert (await get({"If-Modified-Since": http_date(time.time() - 3600)})).status == 200
    assert (await get({"If-Unmodified-Since": http_date(time.time() - 3600)})).status == 412
    assert (await get({"If-Unmodified-Since": lm})).status == 200
    assert (await get({"If-None-Match": "*"}, "HEAD")).status == 304
    r = await swift("GET", f"{URL}/c/missing", token=tok, headers={"If-Match": "*"})
    assert r.status == 412
    star = {"If-None-Match": "*"}
    assert (await swift("PUT", f"{URL}/c/cond", token=tok, data=b"v2", headers=star)).status == 412
    assert (await swift("GET", f"{URL}/c/cond", token=tok)).body == b"v1"
    assert (await swift("PUT", f"{URL}/c/new", token=tok, data=b"n", headers=star)).status == 201
    r = await swift("PUT", f"{URL}/c/new", token=tok, data=b"n", headers={"If-None-Match": "x"})
    assert r.status == 400


async def test_post_replaces_metadata(swift: SwiftHTTP, tok: str) -> None:
    await swift(
        "PUT",
        f"{URL}/c/p",
        token=tok,
        data=b"x",
        headers={"X-Object-Meta-A": "1", "X-Object-Meta-B": "2", "Content-Type": "text/a"},
    )
    r = await swift("POST", f"{URL}/c/p", token=tok, headers={"X-Object-Meta-C": "3"})
    assert r.status == 202 and b"<h1>Accepted</h1>" in r.body
    r = await swift("HEAD", f"{URL}/c/p", token=tok)
    assert r.headers["X-Object-Meta-C"] == "3"
    assert "X-Object-Meta-A" not in r.headers and r.headers["Content-Type"] == "text/a"
    r = await swift("POST", f"{URL}/c/p", token=tok, headers={"Content-Type": "text/b"})
    assert (await swift("HEAD", f"{URL}/c/p", token=tok)).headers["Content-Type"] == "text/b"
    assert (await swift("POST", f"{URL}/c/none", token=tok)).status == 404
    r = await swift("POST", f"{URL}/c/p", token=tok, headers={"X-Object-Meta-X": "v" * 257})
    assert r.status == 400


async def test_expiry(swift: SwiftHTTP, tok: str) -> None:
    r = await swift(
        "PUT", f"{URL}/c/temp", token=tok, data=b"t", headers={"X-Delete-After": "3600"}
    )
    assert r.status == 201
    r = await swift("HEAD", f"{URL}/c/temp", token=tok)
    assert abs(int(r.headers["X-Delete-At"]) - (time.time() + 3600)) < 60
    r = await swift("PUT", f"{URL}/c/t2", token=tok, data=b"t", headers={"X-Delete-At": "100"})
    assert (r.status, r.text) == (400, "X-Delete-At in past")
    r = await swift("PUT", f"{URL}/c/t2", token=tok, data=b"t", headers={"X-Delete-At": "soon"})
    assert (r.status, r.text) == (400, "Non-integer X-Delete-At")
    # an object whose X-Delete-At passed answers 404 before any expirer runs
    soon = str(int(time.time()) + 1)
    await swift("PUT", f"{URL}/c/t3", token=tok, data=b"t", headers={"X-Delete-At": soon})
    deadline = time.time() + 10
    status = 200
    while status == 200 and time.time() < deadline:
        await asyncio.sleep(0.25)
        status = (await swift("GET", f"{URL}/c/t3", token=tok)).status
    assert status == 404


async def test_copy(swift: SwiftHTTP, tok: str) -> None:
    await swift(
        "PUT",
        f"{URL}/c/src",
        token=tok,
        data=b"copy me",
        headers={"X-Object-Meta-A": "1", "Content-Type": "text/src"},
    )
    await swift("PUT", f"{URL}/d", token=tok)
    r = await swift(
        "COPY",
        f"{URL}/c/src",
        token=tok,
        headers={"Destination": "/d/dst", "X-Object-Meta-B": "2"},
    )
    assert r.status == 201
    assert r.headers["X-Copied-From"] == "c/src"
    r = await swift("GET", f"{URL}/d/dst", token=tok)
    assert r.body == b"copy me" and r.headers["Content-Type"] == "text/src"
    assert (r.headers["X-Object-Meta-A"], r.headers["X-Object-Meta-B"]) == ("1", "2")
    r = await swift(
        "PUT",
        f"{URL}/d/fresh",
        token=tok,
        headers={"X-Copy-From": "c/src", "X-Fresh-Metadata": "true", "X-Object-Meta-C": "3"},
    )
    assert r.status == 201
    r = await swift("HEAD", f"{URL}/d/fresh", token=tok)
    assert "X-Object-Meta-A" not in r.headers and r.headers["X-Object-Meta-C"] == "3"
    r = await swift("COPY", f"{URL}/c/src", token=tok, headers={"Destination": "nodest"})
    assert r.status == 412
    r = await swift("COPY", f"{URL}/c/nothing", token=tok, headers={"Destination": "d/x"})
    assert r.status == 404
    r = await swift("PUT", f"{URL}/d/x", token=tok, data=b"body", headers={"X-Copy-From": "c/src"})
    assert (r.status, r.text) == (400, "Copy requests require a zero byte body")


async def test_ranged_copy(swift: SwiftHTTP, tok: str) -> None:
    """Swift's copy reads its source with the request's Range: only those bytes are copied."""
    data = b"0123456789"
    src = {"Content-Type": "text/x", "X-Object-Meta-A": "1"}
    await swift("PUT", f"{URL}/c/src", token=tok, data=data, headers=src)
    for rng, want in (("bytes=2-4", b"234"), ("bytes=-3", b"789"), ("bytes=8-20", b"89")):
        r = await swift(
            "PUT", f"{URL}/c/part", token=tok, headers={"X-Copy-From": "c/src", "Range": rng}
        )
        assert (r.status, r.headers["Etag"]) == (201, hashlib.md5(want).hexdigest()), rng
        r = await swift("GET", f"{URL}/c/part", token=tok)
        assert (r.body, r.headers["Content-Type"], r.headers["X-Object-Meta-A"]) == (
            want,
            "text/x",
            "1",
        )
        assert r.headers["Etag"] == hashlib.md5(want).hexdigest()
    r = await swift(
        "COPY", f"{URL}/c/src", token=tok, headers={"Destination": "c/cp", "Range": "bytes=1-2"}
    )
    assert r.status == 201
    assert (await swift("GET", f"{URL}/c/cp", token=tok)).body == b"12"
    # A Range that does not parse is ignored (the whole object), as swob does.
    for rng in ("bytes=x", "bytes=5-3", "items=0-1"):
        r = await swift(
            "PUT", f"{URL}/c/all", token=tok, headers={"X-Copy-From": "c/src", "Range": rng}
        )
        assert r.status == 201, rng
        assert (await swift("GET", f"{URL}/c/all", token=tok)).body == data, rng
    # Nothing satisfiable: the source read's 416, with the source's headers; nothing written.
    r = await swift(
        "PUT", f"{URL}/c/none", token=tok, headers={"X-Copy-From": "c/src", "Range": "bytes=20-"}
    )
    assert (r.status, r.headers["Content-Range"], r.headers["Content-Type"]) == (
        416,
        "bytes */10",
        "text/x",
    )
    assert b"Requested Range Not Satisfiable" in r.body
    assert (await swift("HEAD", f"{URL}/c/none", token=tok)).status == 404
    # Several ranges: the copy holds the multipart/byteranges answer a GET gives for them.
    r = await swift(
        "PUT",
        f"{URL}/c/multi",
        token=tok,
        headers={"X-Copy-From": "c/src", "Range": "bytes=0-1,4-5"},
    )
    assert r.status == 201
    r = await swift("GET", f"{URL}/c/multi", token=tok)
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges;boundary=")
    boundary = ctype.split("=", 1)[1]
    assert (
        r.body
        == (
            f"--{boundary}\r\nContent-Type: text/x\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n"
            f"--{boundary}\r\nContent-Type: text/x\r\nContent-Range: bytes 4-5/10\r\n\r\n45\r\n"
            f"--{boundary}--"
        ).encode()
    )
    assert r.headers["Etag"] == hashlib.md5(r.body).hexdigest()


async def test_bad_names_and_metadata(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("PUT", f"{URL}/c/{'o' * 1025}", token=tok, data=b"x")
    assert (r.status, r.text) == (400, "Object name length of 1025 longer than 1024")
    r = await swift("PUT", f"{URL}/c/o", token=tok, data=b"x", headers={"X-Object-Meta-": "v"})
    assert (r.status, r.text) == (400, "Metadata name cannot be empty")
    many = {f"X-Object-Meta-K{i}": "v" for i in range(91)}
    r = await swift("PUT", f"{URL}/c/o", token=tok, data=b"x", headers=many)
    assert (r.status, r.text) == (400, "Too many metadata items; max 90")
    r = await swift("PUT", f"{URL}/c/a%00b", token=tok, data=b"x", raw=True)
    assert r.status == 412
    r = await swift("PUT", f"{URL}/nocontainer/o", token=tok, data=b"x")
    assert r.status == 404
    r = await swift("PUT", f"{URL}/c/ünï/cödé", token=tok, data=b"u")
    assert r.status == 201
    r = await swift("GET", f"{URL}/c/ünï/cödé", token=tok)
    assert r.body == b"u"
    assert (await swift("GET", f"{URL}/c/o", token=tok)).status == 404


async def test_quorum_with_one_node_down(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    await cluster.stop_node(1)
    for name, data in (("small", b"q" * 100), ("large", b"Q" * 1_500_000)):
        r = await swift("PUT", f"{URL}/c/{name}", token=tok, data=data)
        assert r.status == 201, name
        r = await swift("GET", f"{URL}/c/{name}", token=tok)
        assert (r.status, r.body) == (200, data)
    assert (await swift("DELETE", f"{URL}/c/small", token=tok)).status == 204
    await cluster.stop_node(2)
    r = await swift("PUT", f"{URL}/c/x", token=tok, data=b"x")
    assert r.status == 503
    r = await swift("GET", f"{URL}/c/large", token=tok)
    assert r.status == 200  # one replica is enough to read
