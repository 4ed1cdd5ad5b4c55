"""Core Swift behaviours through unmodified python-swiftclient against `stratus up`:
listings (markers, reverse, multi-character delimiters, byte order, xml), the
limits of /info, Swift's 400 bodies for bad metadata and expiry headers, and
WWW-Authenticate on a 401."""

from __future__ import annotations

import urllib.request

import pytest
from swiftclient.client import ClientException, Connection, get_object

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp


@pytest.fixture
def conn(stratus_up: StratusUp) -> Connection:
    return Connection(authurl=stratus_up.auth_url, user=ADMIN_USER, key=ADMIN_KEY, retries=0)


def _error(call, *args, **kwargs) -> ClientException:
    with pytest.raises(ClientException) as info:
        call(*args, **kwargs)
    return info.value


def test_listings_as_swift_orders_and_rolls_them_up(conn: Connection) -> None:
    conn.put_container("conf-list")
    names = ["B", "a", "a::x", "a::y::z", "b", "~", "é", "😀"]
    for name in names:
        conn.put_object("conf-list", name, b"x")
    ordered = sorted(names, key=lambda n: n.encode())

    def listed(**kwargs) -> list[str]:
        _h, rows = conn.get_container("conf-list", **kwargs)
        return [row.get("name", row.get("subdir")) for row in rows]

    assert listed() == ordered
    assert listed(marker="a") == ordered[2:]
    assert listed(end_marker="b") == ["B", "a", "a::x", "a::y::z"]
    assert listed(query_string="reverse=true&marker=a::y::z") == ["a::x", "a", "B"]
    assert listed(delimiter="::") == ["B", "a", "a::", "b", "~", "é", "😀"]
    assert listed(prefix="a::", delimiter="::") == ["a::x", "a::y::"]
    url, token = conn.get_auth()
    req = urllib.request.Request(
        f"{url}/conf-list?format=xml&limit=1", headers={"X-Auth-Token": token}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/xml; charset=utf-8"
        body = resp.read()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="conf-list">')
    _h, rows = conn.get_container("conf-list", limit=1)
    assert list(rows[0]) == ["bytes", "hash", "name", "content_type", "last_modified"]
    _h, containers = conn.get_account(prefix="conf-list")
    assert list(containers[0]) == ["name", "count", "bytes", "last_modified", "storage_policy"]
    err = _error(conn.get_container, "conf-list", limit=10001)
    assert (err.http_status, err.http_response_content) == (412, b"Maximum limit is 10000")


def test_capabilities_are_swifts_constraints(stratus_up: StratusUp, conn: Connection) -> None:
    info = conn.get_capabilities()
    swift = info["swift"]
    assert swift["max_meta_count"] == 90 and swift["max_object_name_length"] == 1024
    assert swift["container_listing_limit"] == 10000 and swift["max_request_line"] == 8192
    assert "valid_api_versions" not in swift  # Swift's disallowed_sections hides it
    assert {"swift", "tempauth"} <= set(info)  # and the middlewares that work


def test_bad_metadata_and_expiry_get_swifts_400s(conn: Connection) -> None:
    conn.put_container("conf-bad")
    cases = [
        (
            {"X-Object-Meta-" + "n" * 129: "v"},
            b"Metadata name too long: x-object-meta-N" + b"n" * 128,
        ),
        ({"X-Object-Meta-K": "v" * 257}, b"Metadata value longer than 256: x-object-meta-K"),
        ({"X-Delete-After": "0"}, b"X-Delete-After in past"),
        ({"X-Delete-At": "soon"}, b"Non-integer X-Delete-At"),
    ]
    for headers, body in cases:
        err = _error(conn.put_object, "conf-bad", "o", b"x", headers=headers)
        assert (err.http_status, err.http_response_content) == (400, body)
    err = _error(conn.put_object, "conf-bad", "o" * 1025, b"x")
    assert err.http_status == 400
    assert err.http_response_content == b"Object name length of 1025 longer than 1024"
    assert _error(conn.get_object, "conf-bad", "o" * 1025).http_status == 404


def test_401_carries_www_authenticate(conn: Connection) -> None:
    url, _token = conn.get_auth()
    conn.put_container("conf-auth")
    conn.put_object("conf-auth", "o", b"x")
    err = _error(get_object, url, "AUTH_tk_bogus", "conf-auth", "o")
    assert err.http_status == 401
    assert err.http_response_headers["www-authenticate"] == 'Swift realm="AUTH_admin"'


def test_browser_preflight_then_cors_read(conn: Connection) -> None:
    """What a browser does: an OPTIONS preflight without a token, then the read with Origin;
    ranged copies through swiftclient keep only the range."""
    origin = "https://app.example"
    conn.put_container(
        "conf-cors",
        headers={
            "X-Container-Meta-Access-Control-Allow-Origin": origin,
            "X-Container-Meta-Access-Control-Max-Age": "300",
        },
    )
    conn.put_object("conf-cors", "o", b"0123456789", headers={"X-Object-Meta-Kind": "k"})
    url = conn.get_auth()[0]
    preflight = urllib.request.Request(
        f"{url}/conf-cors/o",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-auth-token",
        },
    )
    with urllib.request.urlopen(preflight, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "GET" in resp.headers["Access-Control-Allow-Methods"].split(", ")
        assert resp.headers["Access-Control-Allow-Headers"] == "x-auth-token"
        assert resp.headers["Access-Control-Max-Age"] == "300"
    headers, body = conn.get_object("conf-cors", "o", headers={"Origin": origin})
    assert body == b"0123456789"
    assert headers["access-control-allow-origin"] == origin
    assert "x-object-meta-kind" in headers["access-control-expose-headers"].split(", ")
    conn.copy_object("conf-cors", "o", "/conf-cors/part", headers={"Range": "bytes=3-5"})
    assert conn.get_object("conf-cors", "part")[1] == b"345"
