"""Static large objects through the native API on a real cluster (Swift 2.38's answers)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import pytest

from tests.functional.objectstore.conftest import Cluster, Reply, SwiftHTTP

URL = "/v1/AUTH_slo"


def md5(data: bytes | str) -> str:
    return hashlib.md5(data.encode() if isinstance(data, str) else data).hexdigest()


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = cluster.token("slo")
    assert (await swift("PUT", f"{URL}/c", token=token)).status == 201
    for name, data in (("s1", b"aaaaa"), ("s2", b"bbbbbbb")):
        assert (await swift("PUT", f"{URL}/c/{name}", token=token, data=data)).status == 201
    return token


MANIFEST = [
    {"path": "/c/s1", "etag": md5(b"aaaaa"), "size_bytes": 5},
    {"path": "c/s2"},
    {"data": base64.b64encode(b"XYZ").decode()},
    {"path": "/c/s1", "range": "1-2"},
]
WHOLE = b"aaaaabbbbbbbXYZaa"
SLO_ETAG = md5(md5(b"aaaaa") + md5(b"bbbbbbb") + md5(b"XYZ") + md5(b"aaaaa") + ":1-2;")


async def put_slo(
    swift: SwiftHTTP,
    tok: str,
    data: str | bytes,
    name: str = "m",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> Reply:
    """``PUT ?multipart-manifest=put`` of ``c/<name>``."""
    path = f"{URL}/c/{name}?multipart-manifest=put{query}"
    return await swift("PUT", path, token=tok, data=data, headers=headers)


async def put_manifest(swift: SwiftHTTP, tok: str, name: str = "m", doc: object = None) -> None:
    body = json.dumps(MANIFEST if doc is None else doc)
    headers = {"Content-Type": "text/x-big", "X-Object-Meta-Color": "red"}
    r = await put_slo(swift, tok, body, name, headers=headers)
    assert r.status == 201, r.body


async def test_put_get_head_as_swift(swift: SwiftHTTP, tok: str) -> None:
    r = await put_slo(swift, tok, json.dumps(MANIFEST))
    assert r.status == 201, r.body
    assert r.headers["Etag"] == f'"{SLO_ETAG}"'
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8" and r.body == b""
    r = await swift("GET", f"{URL}/c/m", token=tok)
    assert (r.status, r.body) == (200, WHOLE)
    assert r.headers["X-Static-Large-Object"] == "True"
    assert r.headers["Etag"] == f'"{SLO_ETAG}"'
    assert r.headers["Content-Type"] == "application/octet-stream"
    stored = (await swift("GET", f"{URL}/c/m?multipart-manifest=get", token=tok)).body
    assert r.headers["X-Manifest-Etag"] == md5(stored)
    r = await swift("HEAD", f"{URL}/c/m", token=tok)
    assert r.headers["Content-Length"] == str(len(WHOLE))
    assert r.headers["Etag"] == f'"{SLO_ETAG}"' and r.headers["X-Static-Large-Object"] == "True"


async def test_ranges_and_conditions(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("GET", f"{URL}/c/m", token=tok, headers={"Range": "bytes=3-13"})
    assert (r.status, r.body) == (206, WHOLE[3:14])
    assert r.headers["Content-Range"] == f"bytes 3-13/{len(WHOLE)}"
    r = await swift("GET", f"{URL}/c/m", token=tok, headers={"Range": "bytes=-3"})
    assert (r.status, r.body) == (206, b"Zaa")
    r = await swift("GET", f"{URL}/c/m", token=tok, headers={"Range": "bytes=0-1,12-14"})
    assert r.status == 206
    assert r.headers["Content-Type"].startswith("multipart/byteranges;boundary=")
    assert b"\r\n\r\naa\r\n" in r.body and b"\r\n\r\nXYZ\r\n" in r.body
    assert b"Content-Type: text/x-big" in r.body
    r = await swift("GET", f"{URL}/c/m", token=tok, headers={"Range": "bytes=17-"})
    assert r.status == 416 and r.headers["Content-Range"] == f"bytes */{len(WHOLE)}"
    r = await swift("GET", f"{URL}/c/m", token=tok, headers={"If-Match": f'"{SLO_ETAG}"'})
    assert r.status == 200
    r = await swift("GET", f"{URL}/c/m", token=tok, headers={"If-None-Match": SLO_ETAG})
    assert r.status == 304 and r.headers["Etag"] == f'"{SLO_ETAG}"'
    r = await swift("HEAD", f"{URL}/c/m", token=tok, headers={"If-Match": "nope"})
    assert r.status == 412


async def test_manifest_get_and_raw_format(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("GET", f"{URL}/c/m?multipart-manifest=get", token=tok)
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["X-Static-Large-Object"] == "True"
    assert r.headers["Etag"] == md5(r.body) and "X-Manifest-Etag" not in r.headers
    entries = r.json()
    assert [list(e) for e in entries] == [
        ["name", "bytes", "hash", "content_type", "last_modified"],
        ["name", "bytes", "hash", "content_type", "last_modified"],
        ["data"],
        ["name", "bytes", "hash", "content_type", "last_modified", "range"],
    ]
    assert entries[1] | {"last_modified": ""} == {
        "name": "/c/s2",
        "bytes": 7,
        "hash": md5(b"bbbbbbb"),
        "content_type": "application/octet-stream",
        "last_modified": "",
    }
    assert entries[0]["last_modified"].endswith(".000000")
    assert r.body.startswith(b'[{"name": "/c/s1", "bytes": 5, ')  # json.dumps' separators
    r = await swift("GET", f"{URL}/c/m?multipart-manifest=get&format=raw", token=tok)
    assert r.status == 200 and r.headers["Content-Type"] == "text/x-big"
    assert r.headers["Etag"] == md5(r.body)
    assert r.json() == [
        {"etag": md5(b"aaaaa"), "path": "/c/s1", "size_bytes": 5},
        {"etag": md5(b"bbbbbbb"), "path": "/c/s2", "size_bytes": 7},
        {"data": "WFla"},
        {"etag": md5(b"aaaaa"), "path": "/c/s1", "range": "1-2", "size_bytes": 5},
    ]
    # The raw form PUT back makes the same large object.
    r = await put_slo(swift, tok, r.body, "m2")
    assert r.status == 201 and r.headers["Etag"] == f'"{SLO_ETAG}"'
    r = await swift("GET", f"{URL}/c/plain?multipart-manifest=get", token=tok)
    assert r.status == 404


async def test_listing_shows_whole_size_and_slo_etag(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    manifest_etag = (await swift("HEAD", f"{URL}/c/m", token=tok)).headers["X-Manifest-Etag"]
    rows = (await swift("GET", f"{URL}/c?format=json", token=tok)).json()
    row = next(r for r in rows if r["name"] == "m")
    assert list(row) == ["bytes", "hash", "name", "content_type", "last_modified", "slo_etag"]
    assert row["bytes"] == len(WHOLE) and row["hash"] == manifest_etag
    assert row["content_type"] == "text/x-big" and row["slo_etag"] == f'"{SLO_ETAG}"'
    xml = (await swift("GET", f"{URL}/c?format=xml", token=tok)).text
    assert f"<name>m</name><hash>{manifest_etag}</hash><bytes>{len(WHOLE)}</bytes>" in xml
    assert "<content_type>text/x-big</content_type>" in xml and "slo_etag" not in xml
    # Bytes used count the manifest as stored, not the whole object (as Swift).
    stored = len((await swift("GET", f"{URL}/c/m?multipart-manifest=get", token=tok)).body)
    used = (await swift("HEAD", f"{URL}/c", token=tok)).headers["X-Container-Bytes-Used"]
    assert int(used) == 5 + 7 + stored


async def test_validation_errors_list_each_segment(swift: SwiftHTTP, tok: str) -> None:
    doc = [
        {"path": "/c/s1", "etag": "bad", "size_bytes": 9},
        {"path": "/c/nope"},
        {"path": "/c/s2", "range": "10-20"},
    ]
    r = await put_slo(swift, tok, json.dumps(doc), "bad")
    assert r.status == 400 and r.headers["Content-Type"] == "text/plain"
    assert "Content-Length" not in r.headers  # streamed, as Swift
    # Each path's problems in manifest order; paths in the order their HEADs answered.
    assert r.text.startswith("Errors:\n") and sorted(r.text.splitlines()[1:]) == [
        "/c/nope, 404 Not Found",
        "/c/s1, Etag Mismatch",
        "/c/s1, Size Mismatch",
        "/c/s2, Unsatisfiable Range",
    ]
    assert "/c/s1, Size Mismatch\n/c/s1, Etag Mismatch\n" in r.text
    r = await put_slo(
        swift,
        tok,
        json.dumps(doc),
        "bad",
        headers={"Accept": "application/json"},
    )
    assert r.status == 400 and r.headers["Content-Type"] == "application/json"
    assert sorted(r.json()["Errors"]) == [
        ["/c/nope", "404 Not Found"],
        ["/c/s1", "Etag Mismatch"],
        ["/c/s1", "Size Mismatch"],
        ["/c/s2", "Unsatisfiable Range"],
    ]
    assert (await swift("HEAD", f"{URL}/c/bad", token=tok)).status == 404


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"{", 400, "Manifest must be valid JSON.\n"),
        (b"{}", 400, "Manifest must be a list.\n"),
        (
            json.dumps([{"path": "x"}, 5, {"path": "/a/b", "foo": 1}, {"data": "!!"}]).encode(),
            400,
            "Index 0: path does not refer to an object. Path must be of the form "
            "/container/object.\nIndex 1: not a JSON object\n"
            'Index 2: extraneous keys "foo"\nIndex 3: data must be valid base64\n',
        ),
        (
            json.dumps(
                [
                    {"path": "/c/s1", "size_bytes": 0},
                    {"path": "/c/m", "size_bytes": 1},
                    {"path": "/c/s1", "range": "1-2,4-5"},
                    {"path": "/c/s1", "range": "x"},
                    {"path": "/c/s1", "range": "7-", "size_bytes": 5},
                    {"path": "/c/s1", "size_bytes": "five"},
                ]
            ).encode(),
            400,
            "Index 0: too small; each segment must be at least 1 byte.\n"
            "Index 1: manifest must not include itself as a segment\n"
            "Index 2: multiple ranges (only one allowed)\nIndex 3: invalid range\n"
            "Index 4: unsatisfiable range\nIndex 5: invalid size_bytes\n",
        ),
        (
            json.dumps([{"data": "WFla"}]).encode(),
            400,
            "Inline data segments require at least one object-backed segment.\n",
        ),
    ],
)
async def test_bad_manifests(
    swift: SwiftHTTP, tok: str, body: bytes, status: int, text: str
) -> None:
    r = await put_slo(swift, tok, body)
    assert (r.status, r.text) == (status, text)


async def test_limits_and_reserved_header(swift: SwiftHTTP, tok: str) -> None:
    big = b"[" + b" " * (8 * 1024 * 1024) + b"]"
    r = await put_slo(swift, tok, big)
    assert (r.status, r.text) == (413, "Manifest File > 8388608 bytes")
    many = json.dumps([{"path": "/c/s1"}] * 1001)
    r = await put_slo(swift, tok, many)
    assert (r.status, r.text) == (413, "Number of object-backed segments must be <= 1000")
    r = await swift(
        "PUT", f"{URL}/c/x", token=tok, data=b"", headers={"X-Static-Large-Object": "true"}
    )
    assert r.status == 400 and r.text.startswith("X-Static-Large-Object is a reserved header.")
    r = await put_slo(swift, tok, b"[]", headers={"X-Copy-From": "c/s1"})
    assert (r.status, r.text) == (405, "Multipart Manifest PUTs cannot be COPY requests")
    r = await put_slo(
        swift,
        tok,
        json.dumps(MANIFEST),
        headers={"Etag": '"0123"'},
    )
    assert r.status == 422
    r = await put_slo(
        swift,
        tok,
        json.dumps(MANIFEST),
        headers={"Etag": f'"{SLO_ETAG}"'},
    )
    assert r.status == 201


async def test_heartbeat(swift: SwiftHTTP, tok: str) -> None:
    r = await put_slo(
        swift,
        tok,
        json.dumps(MANIFEST),
        query="&heartbeat=on",
        headers={"Accept": "application/json"},
    )
    assert r.status == 202 and r.headers["Content-Type"] == "application/json"
    assert r.body.startswith(b" \r\n\r\n")
    doc = json.loads(r.body)
    assert doc["Response Status"] == "201 Created" and doc["Errors"] == []
    assert doc["Etag"] == f'"{SLO_ETAG}"' and doc["Response Body"] == ""
    assert doc["Last Modified"].endswith(" GMT")
    r = await put_slo(
        swift,
        tok,
        json.dumps([{"path": "/c/nope"}]),
        query="&heartbeat=on",
    )
    assert r.status == 202 and r.headers["Content-Type"] == "text/plain"
    assert r.text == (
        " \r\n\r\nResponse Body: Bad Request\nThe server could not comply with the request "
        "since it is either malformed or otherwise incorrect.\n"
        "Response Status: 400 Bad Request\nErrors:\n/c/nope, 404 Not Found\n"
    )


async def test_nested_manifests(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok, "inner")
    head = await swift("HEAD", f"{URL}/c/inner", token=tok)
    inner_etag = head.headers["Etag"].strip('"')
    doc = [
        {"path": "/c/inner", "etag": inner_etag, "size_bytes": len(WHOLE)},
        {"path": "/c/inner", "range": "5-11"},
        {"path": "/c/s2"},
    ]
    r = await put_slo(swift, tok, json.dumps(doc), "outer")
    assert r.status == 201, r.body
    whole = WHOLE + WHOLE[5:12] + b"bbbbbbb"
    r = await swift("GET", f"{URL}/c/outer", token=tok)
    assert (r.status, r.body) == (200, whole)
    r = await swift("GET", f"{URL}/c/outer", token=tok, headers={"Range": "bytes=15-25"})
    assert (r.status, r.body) == (206, whole[15:26])
    entries = (await swift("GET", f"{URL}/c/outer?multipart-manifest=get", token=tok)).json()
    assert entries[0]["sub_slo"] is True and entries[0]["hash"] == inner_etag
    assert entries[1]["range"] == "5-11" and entries[1]["bytes"] == len(WHOLE)


async def test_changed_segment_is_a_conflict(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    assert (await swift("PUT", f"{URL}/c/s1", token=tok, data=b"AAAAA")).status == 201
    r = await swift("GET", f"{URL}/c/m", token=tok)
    assert r.status == 409
    assert r.text == (
        "<html><h1>Conflict</h1><p>There was a conflict when trying to complete your "
        "request.</p></html>"
    )
    assert (await swift("HEAD", f"{URL}/c/m", token=tok)).status == 200
    # A body streamed in pieces is checked before its headers go out, too.
    big = [{"path": f"/c/big{i}"} for i in range(2)]
    for i in range(2):
        r = await swift("PUT", f"{URL}/c/big{i}", token=tok, data=bytes([65 + i]) * 40_000)
        assert r.status == 201
    assert (await put_slo(swift, tok, json.dumps(big), "big")).status == 201
    assert len((await swift("GET", f"{URL}/c/big", token=tok)).body) == 80_000
    assert (await swift("DELETE", f"{URL}/c/big0", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/c/big", token=tok)).status == 409


async def test_multipart_delete(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("DELETE", f"{URL}/c/m?multipart-manifest=delete", token=tok)
    assert r.status == 200 and r.headers["Content-Type"] == "text/plain"
    assert r.text == (
        "Number Deleted: 3\nNumber Not Found: 1\nResponse Body: \n"
        "Response Status: 200 OK\nErrors:\n"
    )
    for name in ("m", "s1", "s2"):
        assert (await swift("HEAD", f"{URL}/c/{name}", token=tok)).status == 404
    r = await swift("DELETE", f"{URL}/c/m?multipart-manifest=delete", token=tok)
    assert r.text.startswith("Number Deleted: 0\nNumber Not Found: 1\n")
    assert (await swift("PUT", f"{URL}/c/plain", token=tok, data=b"x")).status == 201
    r = await swift(
        "DELETE",
        f"{URL}/c/plain?multipart-manifest=delete",
        token=tok,
        headers={"Accept": "application/json"},
    )
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {
        "Response Status": "400 Bad Request",
        "Response Body": "",
        "Number Deleted": 0,
        "Number Not Found": 0,
        "Errors": [["/c/plain", "Not an SLO manifest"]],
    }
    r = await swift(
        "DELETE",
        f"{URL}/c/plain?multipart-manifest=delete",
        token=tok,
        headers={"Accept": "application/xml"},
    )
    assert r.text == (
        "<delete>\n<number_deleted>0</number_deleted>\n<number_not_found>0</number_not_found>\n"
        "<response_body></response_body>\n<response_status>400 Bad Request</response_status>\n"
        "<errors>\n<object><name>/c/plain</name><status>Not an SLO manifest</status></object>\n"
        "</errors>\n</delete>\n"
    )


async def test_plain_delete_keeps_segments(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    assert (await swift("DELETE", f"{URL}/c/m", token=tok)).status == 204
    assert (await swift("HEAD", f"{URL}/c/s1", token=tok)).status == 200


async def test_copies(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("COPY", f"{URL}/c/m", token=tok, headers={"Destination": "c/flat"})
    assert r.status == 201 and r.headers["Etag"] == md5(WHOLE)
    r = await swift("GET", f"{URL}/c/flat", token=tok)
    assert r.body == WHOLE and "X-Static-Large-Object" not in r.headers
    assert r.headers["X-Object-Meta-Color"] == "red" and r.headers["Etag"] == md5(WHOLE)
    r = await swift(
        "PUT",
        f"{URL}/c/m2?multipart-manifest=get",
        token=tok,
        headers={"X-Copy-From": "c/m", "Content-Length": "0"},
    )
    assert r.status == 201 and r.headers["Etag"] == f'"{SLO_ETAG}"'
    r = await swift("GET", f"{URL}/c/m2", token=tok)
    assert r.body == WHOLE and r.headers["X-Static-Large-Object"] == "True"
    assert r.headers["Content-Type"] == "text/x-big"
    r = await swift(
        "COPY",
        f"{URL}/c/m?multipart-manifest=get",
        token=tok,
        headers={"Destination": "c/m3", "Content-Type": "text/y"},
    )
    assert r.status == 201
    rows = (await swift("GET", f"{URL}/c?format=json&prefix=m3", token=tok)).json()
    assert rows[0]["bytes"] == len(WHOLE) and rows[0]["content_type"] == "text/y"


async def test_post_keeps_the_large_object(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("POST", f"{URL}/c/m", token=tok, headers={"X-Object-Meta-Shape": "round"})
    assert r.status == 202
    r = await swift("GET", f"{URL}/c/m", token=tok)
    assert r.body == WHOLE and r.headers["X-Object-Meta-Shape"] == "round"
    rows = (await swift("GET", f"{URL}/c?format=json&prefix=m", token=tok)).json()
    assert rows[0]["bytes"] == len(WHOLE) and rows[0]["content_type"] == "text/x-big"
    r = await swift("POST", f"{URL}/c/m", token=tok, headers={"Content-Type": "text/y"})
    assert r.status == 202
    rows = (await swift("GET", f"{URL}/c?format=json&prefix=m", token=tok)).json()
    assert rows[0]["bytes"] == len(WHOLE) and rows[0]["slo_etag"] == f'"{SLO_ETAG}"'
    r = await swift("HEAD", f"{URL}/c/m", token=tok)
    assert r.headers["Content-Type"] == "text/y" and r.headers["Etag"] == f'"{SLO_ETAG}"'
    r = await swift("POST", f"{URL}/c/m", token=tok, headers={"X-Static-Large-Object": "false"})
    assert r.status == 400


async def test_segments_need_read_access(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    other = cluster.token("slo-other")
    assert (await swift("PUT", "/v1/AUTH_slo-other/c", token=other)).status == 201
    doc = [{"path": "/c/s1"}]
    r = await swift(
        "PUT",
        "/v1/AUTH_slo-other/c/m?multipart-manifest=put",
        token=other,
        data=json.dumps(doc),
    )
    assert r.status == 400 and r.text == "Errors:\n/c/s1, 404 Not Found\n"
    r = await put_slo(swift, other, b"[]")
    assert r.status == 403


async def test_info(swift: SwiftHTTP) -> None:
    assert (await swift("GET", "/info")).json()["slo"] == {
        "max_manifest_segments": 1000,
        "max_manifest_size": 8388608,
        "yield_frequency": 10,
        "min_segment_size": 1,
        "allow_async_delete": True,
    }


async def test_part_number(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("GET", f"{URL}/c/m?part-number=2", token=tok)
    assert (r.status, r.body) == (206, b"bbbbbbb")
    assert r.headers["Content-Range"] == "bytes 5-11/17" and r.headers["X-Parts-Count"] == "4"
    assert r.headers["Etag"] == f'"{SLO_ETAG}"'
    r = await swift("HEAD", f"{URL}/c/m?part-number=3", token=tok)
    assert r.status == 206 and r.headers["Content-Length"] == "3"
    assert r.headers["Content-Range"] == "bytes 12-14/17" and r.headers["X-Parts-Count"] == "4"
    r = await swift("GET", f"{URL}/c/m?part-number=9", token=tok)
    assert (r.status, r.text) == (416, "The requested part number is not satisfiable")
    assert r.headers["Content-Range"] == "bytes */17" and r.headers["X-Parts-Count"] == "4"
    assert r.headers["Content-Type"] == "text/x-big"
    r = await swift("GET", f"{URL}/c/m?part-number=x", token=tok)
    assert (r.status, r.text) == (400, "Part number must be an integer greater than 0")
    r = await swift("GET", f"{URL}/c/m?part-number=1", token=tok, headers={"Range": "bytes=0-1"})
    assert (r.status, r.text) == (400, "Range requests are not supported with part number queries")
    r = await swift("GET", f"{URL}/c/s1?part-number=2", token=tok)  # not an SLO: ignored
    assert (r.status, r.body) == (200, b"aaaaa")


async def test_async_delete(swift: SwiftHTTP, tok: str) -> None:
    await put_manifest(swift, tok)
    r = await swift("DELETE", f"{URL}/c/m?multipart-manifest=delete&async=yes", token=tok)
    assert r.status == 204
    assert (await swift("HEAD", f"{URL}/c/m", token=tok)).status == 404
    gone: list[int] = []
    for _ in range(100):  # the segments go after the answer
        gone = [(await swift("HEAD", f"{URL}/c/{n}", token=tok)).status for n in ("s1", "s2")]
        if gone == [404, 404]:
            break
        await asyncio.sleep(0.05)
    assert gone == [404, 404]
    assert (await swift("PUT", f"{URL}/d", token=tok)).status == 201
    assert (await swift("PUT", f"{URL}/d/s3", token=tok, data=b"z")).status == 201
    doc = [{"path": "/c/s9"}, {"path": "/d/s3"}]
    for name in ("s9",):
        assert (await swift("PUT", f"{URL}/c/{name}", token=tok, data=b"q")).status == 201
    assert (await put_slo(swift, tok, json.dumps(doc), "two")).status == 201
    r = await swift("DELETE", f"{URL}/c/two?multipart-manifest=delete&async=on", token=tok)
    assert r.status == 400
    assert r.text.startswith("All segments must be in one container. Found segments in ")
