"""Core behaviours of the native API, byte for byte as OpenStack Swift 2.38 answers.

Each expectation comes from Swift's source (proxy controllers, constraints,
listing_formats, swob): statuses, bodies, and the Content-Type of each body
(swob labels a body it was not told the type of ``text/html; charset=UTF-8``).
"""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import quote

import pytest

from objectstore.timestamp import Timestamp
from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_conf"
HTML = "text/html; charset=UTF-8"
PLAIN = "text/plain"  # swob: no charset (seen on Swift 2.38)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{5}0$")


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = cluster.token("conf")
    assert (await swift("PUT", f"{URL}/c", token=token)).status == 201
    return token


async def _put(swift: SwiftHTTP, tok: str, path: str, data: bytes = b"x", **hdrs: str) -> None:
    r = await swift("PUT", f"{URL}/{path}", token=tok, data=data, headers=hdrs)
    assert r.status == 201, (path, r.status, r.text)


# -- listings ---------------------------------------------------------------------------


async def test_format_and_accept_negotiation(swift: SwiftHTTP, tok: str) -> None:
    await _put(swift, tok, "c/o")

    async def get(query: str = "", accept: str | None = None):
        headers = {"Accept": accept} if accept is not None else {}
        return await swift("GET", f"{URL}/c{query}", token=tok, headers=headers)

    cases = [
        ("", None, "text/plain"),
        ("?format=json", "application/xml", "application/json"),
        ("?format=xml", None, "application/xml"),
        ("?format=XML", None, "application/xml"),
        ("?format=bogus", "application/json", "text/plain"),
        ("?format=", "application/json", "application/json"),  # empty: Accept decides
        ("", "application/json;q=0", "application/json"),  # swob: q=0 still matches
        ("", "text/xml", "text/xml"),
        ("", "text/*;q=0.5, application/json;q=0.5", "application/json"),
        ("", "*/*;q=0.5, text/plain;q=0", "text/plain"),
        ("", "", "text/plain"),
    ]
    for query, accept, media in cases:
        r = await get(query, accept)
        assert r.status == 200, (query, accept)
        assert r.headers["Content-Type"] == f"{media}; charset=utf-8", (query, accept)
        # Vary: Accept only when no format= was in the query
        assert (r.headers.get("Vary") == "Accept") == ("format" not in query), (query, accept)
    r = await get(accept="image/png")
    assert (r.status, r.headers["Content-Type"]) == (406, HTML)
    assert r.body == (
        b"<html><h1>Not Acceptable</h1><p>The resource is not available in a format "
        b"acceptable to your browser.</p></html>"
    )
    r = await get(accept="garbage")
    assert (r.status, r.text, r.headers["Content-Type"]) == (400, "Invalid Accept header", HTML)
    # listing_formats runs before Swift's auth: no token, still 406
    r = await swift("GET", f"{URL}/c", headers={"Accept": "image/png"})
    assert r.status == 406
    r = await swift("HEAD", f"{URL}/c", token=tok, headers={"Accept": "application/json"})
    assert r.status == 204 and r.headers["Content-Type"] == "application/json; charset=utf-8"
    r = await swift("GET", f"{URL}/c?format=%FF", token=tok, raw=True)
    assert (r.status, r.text) == (400, '"format" parameter not valid UTF-8')
    assert r.headers["Content-Type"] == PLAIN


async def test_container_listing_bodies(swift: SwiftHTTP, tok: str) -> None:
    await _put(swift, tok, "c/a%3C%26%3E", b"abc", **{"Content-Type": "text/x"})
    await _put(swift, tok, "c/%C3%A9", b"")
    head = await swift("HEAD", f"{URL}/c/a%3C%26%3E", token=tok)
    etag, stamp = head.headers["Etag"], Timestamp(head.headers["X-Timestamp"])
    stamp2 = Timestamp((await swift("HEAD", f"{URL}/c/%C3%A9", token=tok)).headers["X-Timestamp"])
    r = await swift("GET", f"{URL}/c?format=json", token=tok)
    assert (
        r.body
        == (
            f'[{{"bytes": 3, "hash": "{etag}", "name": "a<&>", "content_type": "text/x", '
            f'"last_modified": "{stamp.isoformat}"}}, {{"bytes": 0, '
            f'"hash": "d41d8cd98f00b204e9800998ecf8427e", "name": "\\u00e9", '
            f'"content_type": "application/octet-stream", "last_modified": "{stamp2.isoformat}"}}]'
        ).encode()
    )
    assert ISO.match(r.json()[0]["last_modified"])
    r = await swift("GET", f"{URL}/c?format=xml&limit=1", token=tok)
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert (
        r.body
        == (
            '<?xml version="1.0" encoding="UTF-8"?>\n<container name="c"><object>'
            f"<name>a&lt;&amp;&gt;</name><hash>{etag}</hash><bytes>3</bytes>"
            f"<content_type>text/x</content_type><last_modified>{stamp.isoformat}</last_modified>"
            "</object></container>"
        ).encode()
    )
    r = await swift("GET", f"{URL}/c?format=xml&prefix=zz", token=tok)
    assert (r.status, r.body) == (
        200,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c" />',
    )
    r = await swift("GET", f"{URL}/c?prefix=zz", token=tok)  # an empty plain listing
    assert (r.status, r.body) == (204, b"")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_markers_reverse_delimiters_and_byte_order(swift: SwiftHTTP, tok: str) -> None:
    names = ["B", "a", "a-b", "a::x", "a::y::z", "a::~", "b", "é", "ÿ", "ﬀ", "😀", "~"]
    for name in names:
        await _put(swift, tok, f"c/{quote(name)}")

    async def plain(query: str) -> list[str]:
        r = await swift("GET", f"{URL}/c?{query}", token=tok)
        return r.text.split("\n")[:-1] if r.status == 200 else []

    ordered = sorted(names, key=lambda n: n.encode())  # UTF-8 byte order
    assert await plain("") == ordered
    assert await plain("marker=a") == ordered[2:]  # markers are exclusive
    assert await plain("end_marker=b") == ordered[:6]
    assert await plain("marker=a&end_marker=a::y::z") == ["a-b", "a::x"]
    # reverse: Swift swaps marker and end_marker; both stay exclusive
    assert await plain("reverse=true") == ordered[::-1]
    assert await plain("reverse=true&marker=a::x") == ["a-b", "a", "B"]
    assert await plain("reverse=on&marker=b&end_marker=a::x") == ["a::~", "a::y::z"]
    assert await plain("reverse=yes&limit=2") == ["😀", "ﬀ"]
    # a multi-character delimiter rolls names up into subdirs
    assert await plain("delimiter=::") == ["B", "a", "a-b", "a::", "b", "~", "é", "ÿ", "ﬀ", "😀"]
    assert await plain("prefix=a::&delimiter=::") == ["a::x", "a::y::", "a::~"]
    r = await swift("GET", f"{URL}/c?format=json&prefix=a::&delimiter=::", token=tok)
    assert [row.get("subdir", row.get("name")) for row in r.json()] == ["a::x", "a::y::", "a::~"]
    assert r.json()[1] == {"subdir": "a::y::"}
    r = await swift("GET", f"{URL}/c?format=xml&prefix=a::y&delimiter=::", token=tok)
    assert r.body.endswith(b'<subdir name="a::y::"><name>a::y::</name></subdir></container>')
    assert await plain("delimiter=::&reverse=true&marker=b") == ["a::", "a-b", "a", "B"]
    for long_delim in ("-" * 40, "-" * 2000):
        r = await swift("GET", f"{URL}/c?delimiter={long_delim}&limit=1", token=tok)
        assert (r.status, r.text) == (200, "B\n")


async def test_limits(swift: SwiftHTTP, tok: str) -> None:
    for path in (URL, f"{URL}/c"):
        r = await swift("GET", f"{path}?limit=10001", token=tok)
        assert (r.status, r.text) == (412, "Maximum limit is 10000")
        assert r.headers["Content-Type"] == HTML
        assert (await swift("GET", f"{path}?limit=10000", token=tok)).status in (200, 204)
        assert (await swift("GET", f"{path}?limit=x", token=tok)).status in (200, 204)


async def test_account_listing_rows(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    await _put(swift, tok, "c/one", b"12345")
    await _put(swift, tok, "c/two", b"123")
    await swift("PUT", f"{URL}/d::x", token=tok)
    deadline = time.monotonic() + 10
    while True:
        rows = (await swift("GET", f"{URL}?format=json", token=tok)).json()
        if rows[0]["count"] == 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    put_ts = Timestamp((await swift("HEAD", f"{URL}/c", token=tok)).headers["X-Put-Timestamp"])
    assert rows[0] == {
        "name": "c",
        "count": 2,
        "bytes": 8,
        "last_modified": put_ts.isoformat,
        "storage_policy": "Policy-0",
    }
    r = await swift("GET", f"{URL}?format=xml&limit=1", token=tok)
    assert (
        r.body
        == (
            '<?xml version="1.0" encoding="UTF-8"?>\n<account name="AUTH_conf">\n<container>'
            f"<name>c</name><count>2</count><bytes>8</bytes><last_modified>{put_ts.isoformat}"
            "</last_modified><storage_policy>Policy-0</storage_policy></container>\n</account>"
        ).encode()
    )
    r = await swift("GET", f"{URL}?format=xml&delimiter=::", token=tok)
    assert r.body.endswith(b'</container>\n<subdir name="d::" />\n</account>')
    r = await swift("GET", f"{URL}?delimiter=::&reverse=1", token=tok)
    assert r.text == "d::\nc\n"
    assert r.headers["Vary"] == "Accept"


# -- paths ------------------------------------------------------------------------------


async def test_paths(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    for path in ("/v1", "/v1/", "/nothing"):
        for token in (tok, None):
            r = await swift("GET", path, token=token)
            assert (r.status, r.text, r.headers["Content-Type"]) == (412, "Bad URL", HTML)
    r = await swift("GET", "/v2/AUTH_conf", token=tok)
    assert (r.status, r.headers["Content-Type"]) == (400, HTML)
    assert r.body == (
        b"<html><h1>Bad Request</h1><p>The server could not comply with the request since "
        b"it is either malformed or otherwise incorrect.</p></html>"
    )
    for path in ("/v1//c", f"{URL}//o"):
        r = await swift("GET", path, token=tok, raw=True)
        assert (r.status, r.headers["Content-Type"]) == (404, HTML)
    for path in (f"{URL}/c/%FF", f"{URL}/c/a%00b", f"{URL}/%C0%AF"):
        r = await swift("GET", path, token=tok, raw=True)
        assert (r.status, r.text) == (412, "Invalid UTF8 or contains NULL")
        assert r.headers["Content-Type"] == HTML


async def test_overlong_names(swift: SwiftHTTP, tok: str) -> None:
    long_c, long_o = "c" * 257, "o" * 1025
    r = await swift("PUT", f"{URL}/{long_c}", token=tok)
    assert (r.status, r.text) == (400, "Container name length of 257 longer than 256")
    assert r.headers["Content-Type"] == HTML
    for method in ("GET", "HEAD", "POST", "DELETE"):  # Swift checks the length on PUT only
        assert (await swift(method, f"{URL}/{long_c}", token=tok)).status == 404, method
    r = await swift("PUT", f"{URL}/c/{long_o}", token=tok, data=b"x")
    assert (r.status, r.text) == (400, "Object name length of 1025 longer than 1024")
    assert r.headers["Content-Type"] == PLAIN
    r = await swift("PUT", f"{URL}/missing/{long_o}", token=tok, data=b"x")
    assert r.status == 404  # the container is looked up first
    for method in ("GET", "HEAD", "POST", "DELETE"):
        assert (await swift(method, f"{URL}/c/{long_o}", token=tok)).status == 404, method
    r = await swift("GET", f"/v1/AUTH_{'a' * 252}", token=tok)
    assert (r.status, r.text) == (400, "Account name length of 257 longer than 256")
    assert r.headers["Content-Type"] == HTML
    r = await swift("GET", f"{URL}/{long_c}")  # no token: denied before anything is looked up
    assert (r.status, r.headers["Www-Authenticate"]) == (401, 'Swift realm="AUTH_conf"')


# -- objects ----------------------------------------------------------------------------


async def test_metadata_limits(swift: SwiftHTTP, tok: str) -> None:
    cases = [
        ({"X-Object-Meta-": "v"}, "Metadata name cannot be empty"),
        (
            {"X-Object-Meta-" + "n" * 129: "v"},
            "Metadata name too long: x-object-meta-N" + "n" * 128,
        ),
        ({"X-Object-Meta-Big": "v" * 257}, "Metadata value longer than 256: x-object-meta-Big"),
        (
            {"x-object-meta-my-key": "v" * 257},
            "Metadata value longer than 256: x-object-meta-My-Key",
        ),
        ({f"X-Object-Meta-K{i}": "v" for i in range(91)}, "Too many metadata items; max 90"),
        (
            {f"X-Object-Meta-K{i}": "v" * 250 for i in range(17)},
            "Total metadata too large; max 4096",
        ),
    ]
    for headers, body in cases:
        for method in ("PUT", "POST"):
            r = await swift(method, f"{URL}/c/o", token=tok, data=b"x", headers=headers)
            assert (r.status, r.text, r.headers["Content-Type"]) == (400, body, PLAIN), method
    ok = {"X-Object-Meta-" + "n" * 128: "v" * 256}
    await _put(swift, tok, "c/o", **ok)
    cont = {"X-Container-Meta-" + "n" * 129: "v"}
    r = await swift("POST", f"{URL}/c", token=tok, headers=cont)
    assert (r.status, r.text) == (400, "Metadata name too long: x-container-meta-N" + "n" * 128)


async def test_put_checks(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    port = int(cluster.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"PUT {URL}/c/nolen HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = int(re.search(r"Content-Length: (\d+)", head).group(1))
    body = await reader.readexactly(length)
    writer.close()
    assert head.startswith("HTTP/1.1 411 Length Required\r\n")
    assert f"Content-Type: {PLAIN}\r\n" in head
    assert body == b"Missing Content-Length header."
    r = await swift("PUT", f"{URL}/c/o", token=tok, data=b"x", headers={"If-None-Match": "abc"})
    assert (r.status, r.text) == (400, "If-None-Match only supports *")
    await _put(swift, tok, "c/o", **{"If-None-Match": '"abc", *'})
    r = await swift("PUT", f"{URL}/c/o", token=tok, data=b"x", headers={"If-None-Match": "*"})
    assert r.status == 412
    r = await swift(
        "PUT", f"{URL}/c/t", token=tok, data=b"x", headers={"Content-Type": "a/b; swift_x=1"}
    )
    assert (r.status, r.text) == (
        400,
        "Invalid Content-Type, swift_* is not a valid parameter name.",
    )
    assert r.headers["Content-Type"] == HTML


async def test_expiry_headers(swift: SwiftHTTP, tok: str) -> None:
    past = str(int(time.time()) - 10)
    cases = [
        ({"X-Delete-After": "0"}, "X-Delete-After in past"),
        ({"X-Delete-After": "-5"}, "X-Delete-After in past"),
        ({"X-Delete-After": "1.5"}, "Non-integer X-Delete-After"),
        ({"X-Delete-After": "soon"}, "Non-integer X-Delete-After"),
        ({"X-Delete-At": past}, "X-Delete-At in past"),
        ({"X-Delete-At": "-1"}, "X-Delete-At in past"),
        ({"X-Delete-At": "12.5"}, "Non-integer X-Delete-At"),
    ]
    await _put(swift, tok, "c/e")
    for headers, body in cases:
        for method in ("PUT", "POST"):
            r = await swift(method, f"{URL}/c/e", token=tok, data=b"x", headers=headers)
            assert (r.status, r.text, r.headers["Content-Type"]) == (400, body, PLAIN), method
    await _put(swift, tok, "c/far", **{"X-Delete-At": "99999999999"})
    r = await swift("HEAD", f"{URL}/c/far", token=tok)
    assert r.headers["X-Delete-At"] == "9999999999"  # clamped as Swift does


async def test_www_authenticate(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    for path in (URL, f"{URL}/c", f"{URL}/c/o"):
        r = await swift("GET", path)
        assert r.status == 401
        assert r.headers["Www-Authenticate"] == 'Swift realm="AUTH_conf"'
        assert r.headers["Content-Type"] == HTML
        r = await swift("GET", path, token="AUTH_tk_not_a_token")
        assert (r.status, r.headers["Www-Authenticate"]) == (401, 'Swift realm="AUTH_conf"')
    other = cluster.token("conf-other")
    r = await swift("GET", f"{URL}/c", token=other)
    assert r.status == 403 and "Www-Authenticate" not in r.headers


async def test_multi_range_body(swift: SwiftHTTP, tok: str) -> None:
    data = bytes(range(100))
    await _put(swift, tok, "c/r", data, **{"Content-Type": "text/x"})
    r = await swift("GET", f"{URL}/c/r", token=tok, headers={"Range": "bytes=0-1,-3"})
    assert r.status == 206
    boundary = r.headers["Content-Type"].removeprefix("multipart/byteranges;boundary=")
    assert re.fullmatch(r"[0-9a-f]{32}", boundary)
    assert r.body == (
        f"--{boundary}\r\nContent-Type: text/x\r\nContent-Range: bytes 0-1/100\r\n\r\n".encode()
        + data[:2]
        + f"\r\n--{boundary}\r\nContent-Type: text/x\r\nContent-Range: bytes 97-99/100"
        "\r\n\r\n".encode()
        + data[97:]
        + f"\r\n--{boundary}--".encode()
    )
    assert int(r.headers["Content-Length"]) == len(r.body)
    assert "Content-Range" not in r.headers


# -- /info ------------------------------------------------------------------------------


async def test_info_swift_section(swift: SwiftHTTP) -> None:
    r = await swift("GET", "/info")
    assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
    info = r.json()
    assert {"swift", "tempauth"} <= set(info)  # the middlewares: test_swift_compat.py
    section = dict(info["swift"])
    assert section.pop("version")
    assert section == {
        "strict_cors_mode": True,
        "policies": [{"name": "Policy-0", "aliases": "Policy-0", "default": True}],
        "allow_account_management": False,
        "account_autocreate": True,
        "allow_open_expired": False,
        "max_file_size": 5368709122,
        "max_meta_name_length": 128,
        "max_meta_value_length": 256,
        "max_meta_count": 90,
        "max_meta_overall_size": 4096,
        "max_header_size": 8192,
        "max_request_line": 8192,
        "max_object_name_length": 1024,
        "container_listing_limit": 10000,
        "account_listing_limit": 10000,
        "max_account_name_length": 256,
        "max_container_name_length": 256,
        "extra_header_count": 0,
    }
    assert info["tempauth"] == {"account_acls": False}
    r = await swift("GET", "/info", headers={"Origin": "http://example.com"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert r.headers["Access-Control-Expose-Headers"] == "x-trans-id"
    r = await swift("OPTIONS", "/info")
    assert (r.status, r.headers["Allow"]) == (200, "HEAD, GET, OPTIONS")
    assert (await swift("GET", "/info?swiftinfo_sig=x&swiftinfo_expires=1")).status == 403


# -- what the side-by-side check found (bench/swift_conformance.py) ----------------------


async def _raw(cluster: Cluster, request: bytes) -> tuple[str, str, bytes]:
    """(status line, header block, body) of one request written byte for byte."""
    port = int(cluster.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        match = re.search(r"(?i)content-length: (\d+)", head)
        body = await reader.readexactly(int(match.group(1))) if match else b""
    finally:
        writer.close()
    status, _, headers = head.partition("\r\n")
    return status, headers, body


async def test_request_and_header_line_limits(cluster: Cluster) -> None:
    """eventlet's limits under Swift: a request line (CRLF included) of 8192 bytes or
    more is 414, a header line of 8192 or more 400 "Header Line Too Long", over 64 KiB of
    headers 400 "Headers Too Large"; empty bodies, the connection closed."""

    def request_line(total: int) -> bytes:
        fixed = len(f"GET {URL}/c/ HTTP/1.1\r\n")
        return f"GET {URL}/c/{'o' * (total - fixed)} HTTP/1.1\r\n".encode()

    assert len(request_line(8192)) == 8192
    status, headers, body = await _raw(cluster, request_line(8192) + b"Host: x\r\n\r\n")
    assert status == "HTTP/1.1 414 Request URI Too Long" and body == b""
    assert "Connection: close" in headers and "Content-Length: 0" in headers
    status, _h, _b = await _raw(cluster, request_line(20000) + b"Host: x\r\n\r\n")
    assert status == "HTTP/1.1 414 Request URI Too Long"
    status, _h, _b = await _raw(cluster, request_line(8191) + b"Host: x\r\n\r\n")
    assert status == "HTTP/1.1 401 Unauthorized"  # within the limit: on to auth
    start = f"GET {URL}/c/o HTTP/1.1\r\nHost: x\r\n".encode()
    line = b"X-Long: " + b"v" * (8192 - len(b"X-Long: \r\n")) + b"\r\n"
    assert len(line) == 8192
    status, headers, body = await _raw(cluster, start + line + b"\r\n")
    assert (status, body) == ("HTTP/1.1 400 Header Line Too Long", b"")
    assert "Connection: close" in headers
    status, _h, _b = await _raw(cluster, start + line[:-3] + b"\r\n\r\n")
    assert status == "HTTP/1.1 401 Unauthorized"
    many = b"".join(f"X-H{i}: {'v' * 8000}\r\n".encode() for i in range(9))
    status, _h, body = await _raw(cluster, start + many + b"\r\n")
    assert (status, body) == ("HTTP/1.1 400 Headers Too Large", b"")


async def test_auth_realm_names_the_account(cluster: Cluster, swift: SwiftHTTP) -> None:
    """tempauth challenges with the account of X-Auth-User, "unknown" without one."""
    cluster.token("conf")
    cases = [
        ({"X-Auth-User": "conf:user", "X-Auth-Key": "wrong"}, "conf"),
        ({"X-Auth-User": "conf:nobody", "X-Auth-Key": "x"}, "conf"),
        ({"X-Auth-User": "conf:user"}, "conf"),
        ({"X-Auth-User": "conf", "X-Auth-Key": "x"}, "unknown"),
        ({}, "unknown"),
    ]
    for headers, realm in cases:
        r = await swift("GET", "/auth/v1.0", headers=headers)
        assert r.status == 401, headers
        assert r.headers["Www-Authenticate"] == f'Swift realm="{realm}"', headers
        assert r.headers["Content-Type"] == HTML


async def test_invalid_utf8_metadata(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    """Swift stores an object's non-UTF-8 metadata; accounts and containers refuse it."""
    bad = b"X-Object-Meta-Bad: a\xffb\r\n"
    status, _h, _b = await _raw(
        cluster,
        f"PUT {URL}/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n".encode()
        + bad
        + b"Content-Length: 1\r\n\r\nx",
    )
    assert status == "HTTP/1.1 201 Created"
    status, _h, _b = await _raw(
        cluster,
        f"POST {URL}/c/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n".encode()
        + bad
        + b"Content-Length: 0\r\n\r\n",
    )
    assert status == "HTTP/1.1 202 Accepted"
    r = await swift("HEAD", f"{URL}/c/o", token=tok)
    # Swift sends the byte back as stored; Stratus stores U+FFFD in its place
    assert r.status == 200 and r.headers["X-Object-Meta-Bad"] == "a\ufffdb"
    for path, target in ((f"{URL}/c", "Container"), (URL, "Account")):
        status, headers, body = await _raw(
            cluster,
            f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {tok}\r\n".encode()
            + f"X-{target}-Meta-Bad: a".encode()
            + b"\xffb\r\nContent-Length: 0\r\n\r\n",
        )
        assert (status, body) == ("HTTP/1.1 400 Bad Request", b"Metadata must be valid UTF-8")
        assert f"Content-Type: {PLAIN}\r\n" in headers + "\r\n"


async def test_range_limits_as_swob(swift: SwiftHTTP, tok: str) -> None:
    """swob's limits on ranges: more than 50, more than two overlapping pairs (strictly:
    equal ranges do not overlap), eight or more out of order; its 416 keeps the object's
    headers."""
    data = b"0123456789abcdefghij"
    await _put(swift, tok, "c/r", data, **{"Content-Type": "text/x", "X-Object-Meta-A": "1"})

    async def get(spec: str):
        return await swift("GET", f"{URL}/c/r", token=tok, headers={"Range": "bytes=" + spec})

    r = await get(",".join(["0-0"] * 50))
    assert r.status == 206 and r.body.count(b"Content-Range: bytes 0-0/20") == 50
    r = await get(",".join(["0-5"] * 4))
    assert r.status == 206 and r.body.count(b"\r\n012345\r\n") == 4
    for refused in (
        ",".join(["0-0"] * 51),
        "0-5,2-8,3-9,4-10",
        ",".join(f"{i}-{i}" for i in range(8, 0, -1)),
        "20-",
    ):
        r = await get(refused)
        assert r.status == 416, refused
        assert r.headers["Content-Range"] == "bytes */20"
        assert r.headers["Content-Type"] == "text/x"  # the object's, as swob keeps it
        assert r.headers["Etag"] == "644be06dfc54061fd1e67f5ebbabcd58"
        assert r.headers["X-Object-Meta-A"] == "1" and r.headers["Accept-Ranges"] == "bytes"
        assert r.body == (
            b"<html><h1>Requested Range Not Satisfiable</h1>"
            b"<p>The Range requested is not available.</p></html>"
        )
    r = await get(",".join(f"{i}-{i}" for i in range(7, 0, -1)))
    assert r.status == 206


async def test_conditional_answers_carry_the_objects_headers(swift: SwiftHTTP, tok: str) -> None:
    """The object server's 412 has no body but the validators; its 304 the content type."""
    await _put(swift, tok, "c/p", b"hello", **{"Content-Type": "text/x"})
    etag = "5d41402abc4b2a76b9719d911017c592"
    for method in ("GET", "HEAD"):
        r = await swift(method, f"{URL}/c/p", token=tok, headers={"If-Match": '"nope"'})
        assert (r.status, r.body) == (412, b"")
        assert r.headers["Etag"] == etag and r.headers["Content-Type"] == HTML
        assert "Last-Modified" in r.headers and "X-Timestamp" in r.headers
    r = await swift("GET", f"{URL}/c/p", token=tok, headers={"If-None-Match": f'"{etag}"'})
    assert r.status == 304 and r.headers["Content-Type"] == "text/x"
    assert r.headers["Etag"] == etag
