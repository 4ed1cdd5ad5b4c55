"""TempURL through the native API on a real cluster, signed as Swift's docs show."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from objectstore.proxy.conditional import http_date
from tests.functional.objectstore.conftest import Cluster, Reply, SwiftHTTP

ACCOUNT = "/v1/AUTH_tu"
OBJ = f"{ACCOUNT}/c/dir/obj one.txt"
INVALID = b"401 Unauthorized: Temp URL invalid\n"


def make_sig(
    key: str,
    method: str,
    expires: int,
    path: str,
    digest: Callable[..., Any] = hashlib.sha256,
    ip_range: str | None = None,
) -> str:
    hmac_body = f"{method}\n{expires}\n{path}"
    if ip_range:
        hmac_body = f"ip={ip_range}\n{hmac_body}"
    return hmac.new(key.encode(), hmac_body.encode(), digest).hexdigest()


def b64_sig(key: str, method: str, expires: int, path: str, digest: Any, name: str) -> str:
    raw = hmac.new(key.encode(), f"{method}\n{expires}\n{path}".encode(), digest).digest()
    return f"{name}:{base64.urlsafe_b64encode(raw).decode()}"


class TempURL:
    """Requests to temp URLs (no token) over plain HTTP."""

    def __init__(self, swift: SwiftHTTP) -> None:
        self.swift = swift

    async def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, str | int],
        *,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Reply:
        url = f"{quote(path)}?{urlencode(query)}"
        return await self.swift(method, url, headers=headers, data=data, raw=True)

    async def signed(
        self,
        method: str,
        path: str,
        key: str = "akey",
        *,
        sign_method: str | None = None,
        expires: int | None = None,
        extra: dict[str, str | int] | None = None,
        **kw: Any,
    ) -> Reply:
        expires = expires or int(time.time() + 60)
        sig = make_sig(key, sign_method or method, expires, path)
        query = {"temp_url_sig": sig, "temp_url_expires": expires, **(extra or {})}
        return await self(method, path, query, **kw)


async def keyed_account(cluster: Cluster, swift: SwiftHTTP, project: str) -> str:
    """A member's token for ``AUTH_<project>``, its account key "akey" and container "c" set."""
    token = cluster.token(project)
    account = f"/v1/AUTH_{project}"
    r = await swift("POST", account, token=token, headers={"X-Account-Meta-Temp-URL-Key": "akey"})
    assert r.status == 204
    assert (await swift("PUT", f"{account}/c", token=token)).status == 201
    return token


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = await keyed_account(cluster, swift, "tu")
    r = await swift(
        "PUT",
        quote(OBJ),
        token=token,
        data=b"hello",
        headers={"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Color": "blue"},
        raw=True,
    )
    assert r.status == 201
    return token


@pytest.fixture
def tu(swift: SwiftHTTP) -> TempURL:
    return TempURL(swift)


async def test_info_sections(swift: SwiftHTTP) -> None:
    info = (await swift("GET", "/info")).json()
    digests = {"allowed_digests": ["sha1", "sha256", "sha512"], "deprecated_digests": ["sha1"]}
    assert info["tempurl"] == {
        "methods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
        "incoming_remove_headers": ["x-timestamp", "x-open-expired"],
        "incoming_allow_headers": [],
        "outgoing_remove_headers": ["x-object-meta-*"],
        "outgoing_allow_headers": ["x-object-meta-public-*"],
        **digests,
    }
    assert info["formpost"] == digests


async def test_get_and_head(tu: TempURL, tok: str) -> None:
    expires = int(time.time() + 60)
    r = await tu.signed("GET", OBJ, expires=expires)
    assert (r.status, r.body) == (200, b"hello")
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"obj one.txt\"; filename*=UTF-8''obj%20one.txt"
    )
    assert r.headers["Expires"] == http_date(expires)
    assert "X-Object-Meta-Secret" not in r.headers  # outgoing_remove_headers
    assert r.headers["X-Object-Meta-Public-Color"] == "blue"  # outgoing_allow_headers
    for signed_as in ("GET", "HEAD", "PUT", "POST"):  # HEAD rides on any of these
        r = await tu.signed("HEAD", OBJ, sign_method=signed_as)
        assert (r.status, r.headers["Content-Length"]) == (200, "5"), signed_as
        assert "Content-Disposition" in r.headers and "Expires" in r.headers
    r = await tu.signed("HEAD", OBJ, sign_method="DELETE")
    assert (r.status, r.body) == (401, b"")
    assert r.headers["Www-Authenticate"] == 'Swift realm="unknown"'
    r = await tu.signed("GET", f"{ACCOUNT}/c/dir/missing")
    assert r.status == 404
    assert "Content-Disposition" not in r.headers


async def test_invalid_requests_are_401(tu: TempURL, tok: str) -> None:
    now = int(time.time())
    good = make_sig("akey", "GET", now + 60, OBJ)
    past = make_sig("akey", "GET", now - 1, OBJ)
    cases: list[tuple[str, str, dict[str, str | int]]] = [
        ("GET", OBJ, {"temp_url_sig": good[:-1] + "0", "temp_url_expires": now + 60}),
        ("GET", OBJ, {"temp_url_sig": past, "temp_url_expires": now - 1}),  # expired
        ("GET", OBJ, {"temp_url_sig": good}),  # no expiry
        ("GET", OBJ, {"temp_url_expires": now + 60}),  # no signature
        ("GET", OBJ, {"temp_url_sig": good, "temp_url_expires": "soon"}),
        ("GET", OBJ, {"temp_url_sig": good.upper(), "temp_url_expires": now + 60}),
        ("GET", OBJ, {"temp_url_sig": "md5:" + "A" * 24, "temp_url_expires": now + 60}),
        ("GET", OBJ, {"temp_url_sig": "sha256:%%%", "temp_url_expires": now + 60}),
        ("GET", OBJ, {"temp_url_sig": good[:50], "temp_url_expires": now + 60}),  # bad length
        ("GET", OBJ + "x", {"temp_url_sig": good, "temp_url_expires": now + 60}),  # other path
        ("PUT", OBJ, {"temp_url_sig": good, "temp_url_expires": now + 60}),  # other method
        ("DELETE", OBJ, {"temp_url_sig": good, "temp_url_expires": now + 60}),
        ("COPY", OBJ, {"temp_url_sig": good, "temp_url_expires": now + 60}),  # not a method
        ("GET", f"{ACCOUNT}/c", {"temp_url_sig": good, "temp_url_expires": now + 60}),
        ("GET", ACCOUNT, {"temp_url_sig": good, "temp_url_expires": now + 60}),
    ]
    for method, path, query in cases:
        r = await tu(method, path, query)
        assert (r.status, r.body) == (401, INVALID), (method, path, query)
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    # A container root with temp_url_prefix= is no listing (Swift: staticweb answers only).
    sig = make_sig("akey", "GET", now + 60, f"prefix:{ACCOUNT}/c/")
    q: dict[str, str | int] = {"temp_url_sig": sig, "temp_url_expires": now + 60}
    r = await tu("GET", f"{ACCOUNT}/c", {**q, "temp_url_prefix": ""})
    assert (r.status, r.body) == (401, INVALID)


async def test_expiry_in_iso8601(tu: TempURL, tok: str) -> None:
    expires = int(time.time() + 60)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    sig = make_sig("akey", "GET", expires, OBJ)  # signed with the Unix time
    r = await tu("GET", OBJ, {"temp_url_sig": sig, "temp_url_expires": iso})
    assert (r.status, r.body) == (200, b"hello")
    gone = "2001-01-01T00:00:00Z"
    sig = make_sig("akey", "GET", 978307200, OBJ)
    r = await tu("GET", OBJ, {"temp_url_sig": sig, "temp_url_expires": gone})
    assert r.status == 401


async def test_digests_hex_and_base64(tu: TempURL, tok: str) -> None:
    expires = int(time.time() + 60)
    for digest in (hashlib.sha1, hashlib.sha256, hashlib.sha512):
        sig = make_sig("akey", "GET", expires, OBJ, digest)
        r = await tu("GET", OBJ, {"temp_url_sig": sig, "temp_url_expires": expires})
        assert r.status == 200, digest
    for digest, name in ((hashlib.sha256, "sha256"), (hashlib.sha512, "sha512")):
        sig = b64_sig("akey", "GET", expires, OBJ, digest, name)
        r = await tu("GET", OBJ, {"temp_url_sig": sig, "temp_url_expires": expires})
        assert r.status == 200, name
        standard = sig.replace("-", "+").replace("_", "/").rstrip("=")  # standard, unpadded
        r = await tu("GET", OBJ, {"temp_url_sig": standard, "temp_url_expires": expires})
        assert r.status == 200, name
    sig = b64_sig("akey", "GET", expires, OBJ, hashlib.sha256, "sha512")  # wrong name
    r = await tu("GET", OBJ, {"temp_url_sig": sig, "temp_url_expires": expires})
    assert r.status == 401


async def test_put_post_delete(swift: SwiftHTTP, tu: TempURL, tok: str) -> None:
    path = f"{ACCOUNT}/c/upload"
    r = await tu.signed("PUT", path, data=b"uploaded", headers={"X-Object-Meta-Who": "tu"})
    assert r.status == 201
    r = await swift("GET", path, token=tok)
    assert (r.body, r.headers["X-Object-Meta-Who"]) == (b"uploaded", "tu")
    r = await tu.signed("GET", path, sign_method="PUT")  # a PUT signature does not GET
    assert r.status == 401
    for header in ("X-Object-Manifest", "X-Symlink-Target", "X-Copy-From"):
        r = await tu.signed("PUT", path, data=b"x", headers={header: "c/other"})
        assert r.status == 400
        assert r.body == f"The header {header!r} is not allowed in this tempurl".encode()
    r = await tu.signed("POST", path, headers={"X-Object-Meta-Who": "post"})
    assert r.status == 202
    r = await swift("HEAD", path, token=tok)
    assert r.headers["X-Object-Meta-Who"] == "post"
    r = await tu.signed("DELETE", path)
    assert r.status == 204
    assert (await swift("HEAD", path, token=tok)).status == 404


async def test_key_rotation_with_key_2(swift: SwiftHTTP, tu: TempURL, tok: str) -> None:
    r = await swift("POST", ACCOUNT, token=tok, headers={"X-Account-Meta-Temp-URL-Key-2": "k2"})
    assert r.status == 204
    assert (await tu.signed("GET", OBJ, "akey")).status == 200
    assert (await tu.signed("GET", OBJ, "k2")).status == 200
    r = await swift("POST", ACCOUNT, token=tok, headers={"X-Remove-Account-Meta-Temp-URL-Key": "x"})
    assert r.status == 204
    assert (await tu.signed("GET", OBJ, "akey")).status == 401  # revoked at once
    assert (await tu.signed("GET", OBJ, "k2")).status == 200
    await swift("POST", ACCOUNT, token=tok, headers={"X-Remove-Account-Meta-Temp-URL-Key-2": "x"})
    assert (await tu.signed("GET", OBJ, "k2")).status == 401  # no keys at all


async def test_container_keys(swift: SwiftHTTP, tu: TempURL, tok: str) -> None:
    for cont, key in (("ck", "ckey"), ("ck2", "other")):
        hdrs = {"X-Container-Meta-Temp-URL-Key-2": key}
        assert (await swift("PUT", f"{ACCOUNT}/{cont}", token=tok, headers=hdrs)).status == 201
        r = await swift("PUT", f"{ACCOUNT}/{cont}/o", token=tok, data=cont.encode())
        assert r.status == 201
    r = await tu.signed("GET", f"{ACCOUNT}/ck/o", "ckey")
    assert (r.status, r.body) == (200, b"ck")
    assert (await tu.signed("GET", f"{ACCOUNT}/ck2/o", "ckey")).status == 401
    assert (await tu.signed("GET", f"{ACCOUNT}/ck2/o", "other")).status == 200
    assert (await tu.signed("GET", f"{ACCOUNT}/ck/o", "akey")).status == 200  # account key too


async def test_prefix(swift: SwiftHTTP, tu: TempURL, tok: str) -> None:
    r = await swift("PUT", f"{ACCOUNT}/c/dir/sub/two", token=tok, data=b"two")
    assert r.status == 201
    expires = int(time.time() + 60)
    sig = make_sig("akey", "GET", expires, f"prefix:{ACCOUNT}/c/dir/")
    q: dict[str, str | int] = {
        "temp_url_sig": sig,
        "temp_url_expires": expires,
        "temp_url_prefix": "dir/",
    }
    assert (await tu("GET", OBJ, q)).status == 200
    r = await tu("GET", f"{ACCOUNT}/c/dir/sub/two", q)
    assert (r.status, r.body) == (200, b"two")
    assert (await tu("GET", f"{ACCOUNT}/c/elsewhere", q)).status == 401
    assert (await tu("GET", OBJ, {**q, "temp_url_prefix": "dir/sub"})).status == 401
    del q["temp_url_prefix"]
    assert (await tu("GET", OBJ, q)).status == 401  # a prefix signature names no object


async def test_ip_range(tu: TempURL, tok: str) -> None:
    expires = int(time.time() + 60)
    for ip_range, status in (
        ("127.0.0.1", 200),
        ("127.0.0.0/8", 200),
        ("10.0.0.0/8", 401),
        ("127.0.0.1/8", 401),  # host bits set: not a network
        ("not-an-ip", 401),
    ):
        sig = make_sig("akey", "GET", expires, OBJ, ip_range=ip_range)
        query = {"temp_url_sig": sig, "temp_url_expires": expires, "temp_url_ip_range": ip_range}
        assert (await tu("GET", OBJ, query)).status == status, ip_range
    plain = make_sig("akey", "GET", expires, OBJ)  # the range must be signed
    query = {"temp_url_sig": plain, "temp_url_expires": expires, "temp_url_ip_range": "127.0.0.1"}
    assert (await tu("GET", OBJ, query)).status == 401


async def test_content_disposition(swift: SwiftHTTP, tu: TempURL, tok: str) -> None:
    async def disposition(extra: dict[str, str | int], path: str = OBJ) -> str:
        r = await tu.signed("GET", path, extra=extra)
        assert r.status == 200
        return r.headers["Content-Disposition"]

    assert await disposition({"inline": ""}) == "inline"
    name = 'My Test "File"é.pdf'
    encoded = "My%20Test%20%22File%22%C3%A9.pdf"
    assert await disposition({"inline": "", "filename": name}) == (
        f"inline; filename=\"My Test %22File%22%C3%A9.pdf\"; filename*=UTF-8''{encoded}"
    )
    assert await disposition({"filename": "x.pdf"}) == (
        "attachment; filename=\"x.pdf\"; filename*=UTF-8''x.pdf"
    )
    own = f"{ACCOUNT}/c/own"
    hdrs = {"Content-Disposition": "attachment; filename=kept.bin"}
    assert (await swift("PUT", own, token=tok, data=b"x", headers=hdrs)).status == 201
    assert await disposition({}, own) == "attachment; filename=kept.bin"
    assert await disposition({"inline": ""}, own) == "inline"


async def test_token_is_not_used(cluster: Cluster, tu: TempURL, tok: str) -> None:
    """A signed request acts for nobody: a reader's token neither helps nor hurts."""
    reader = cluster.token("tu", "viewer", role="reader")
    path = f"{ACCOUNT}/c/by-reader"
    r = await tu.signed("PUT", path, data=b"r", headers={"X-Auth-Token": reader})
    assert r.status == 201
    # A bad or expired token neither: Swift's tempurl drops it before tempauth sees it.
    r = await tu.signed("GET", path, headers={"X-Auth-Token": "AUTH_tk-not-a-token"})
    assert (r.status, r.body) == (200, b"r")


async def test_keys_only_for_the_owner(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    admin = cluster.token("tu", "boss", role="admin")  # only an admin sets ACLs
    hdrs = {"X-Container-Meta-Temp-URL-Key": "ckey", "X-Container-Read": "other:*"}
    assert (await swift("POST", f"{ACCOUNT}/c", token=admin, headers=hdrs)).status == 204
    r = await swift("HEAD", ACCOUNT, token=tok)
    assert r.headers["X-Account-Meta-Temp-Url-Key"] == "akey"
    for method in ("HEAD", "GET"):
        r = await swift(method, f"{ACCOUNT}/c", token=tok)
        assert r.headers["X-Container-Meta-Temp-Url-Key"] == "ckey"
    reader = cluster.token("tu", "viewer", role="reader")  # owner's project, may not set them
    r = await swift("HEAD", ACCOUNT, token=reader)
    assert r.status == 204 and "X-Account-Meta-Temp-Url-Key" not in r.headers
    stranger = cluster.token("other")  # reads through the container ACL alone
    for token in (reader, stranger):
        for method in ("HEAD", "GET"):
            r = await swift(method, f"{ACCOUNT}/c", token=token)
            assert r.status in (200, 204), (method, r.status)
            assert "X-Container-Meta-Temp-Url-Key" not in r.headers
    assert (await swift("HEAD", ACCOUNT, token=stranger)).status == 403


async def test_container_key_reaches_its_container_only(
    swift: SwiftHTTP, tu: TempURL, tok: str
) -> None:
    """A container key's URL follows a symlink within its container, not out of it."""
    hdrs = {"X-Container-Meta-Temp-URL-Key": "ckey"}
    assert (await swift("PUT", f"{ACCOUNT}/sa", token=tok, headers=hdrs)).status == 201
    assert (await swift("PUT", f"{ACCOUNT}/sb", token=tok)).status == 201
    for path, data in ((f"{ACCOUNT}/sa/o", b"local"), (f"{ACCOUNT}/sb/o", b"target")):
        assert (await swift("PUT", path, token=tok, data=data)).status == 201
    for name, target in (("in", "sa/o"), ("out", "sb/o")):
        hdrs = {"X-Symlink-Target": target}
        r = await swift("PUT", f"{ACCOUNT}/sa/{name}", token=tok, data=b"", headers=hdrs)
        assert r.status == 201
    r = await tu.signed("GET", f"{ACCOUNT}/sa/in", "ckey")
    assert (r.status, r.body) == (200, b"local")
    r = await tu.signed("GET", f"{ACCOUNT}/sa/out", "ckey")
    assert r.status == 401
    r = await tu.signed("GET", f"{ACCOUNT}/sa/out", "akey")  # an account key reaches it
    assert (r.status, r.body) == (200, b"target")


async def test_container_root_serves_staticweb_listings_only(
    swift: SwiftHTTP, tu: TempURL, tok: str
) -> None:
    hdrs = {"X-Container-Meta-Web-Listings": "true"}
    assert (await swift("PUT", f"{ACCOUNT}/web", token=tok, headers=hdrs)).status == 201
    assert (await swift("PUT", f"{ACCOUNT}/web/a.txt", token=tok, data=b"a")).status == 201
    expires = int(time.time() + 60)
    for cont, status in (("web", 200), ("c", 401)):
        sig = make_sig("akey", "GET", expires, f"prefix:{ACCOUNT}/{cont}/")
        q: dict[str, str | int] = {
            "temp_url_sig": sig,
            "temp_url_expires": expires,
            "temp_url_prefix": "",
        }
        r = await tu("GET", f"{ACCOUNT}/{cont}/", q)
        assert r.status == status, cont
        if status == 200:
            assert b"Listing of /v1/AUTH_tu/web/" in r.body
            assert r.headers["Content-Disposition"] == "inline"
        else:
            assert r.body == INVALID
