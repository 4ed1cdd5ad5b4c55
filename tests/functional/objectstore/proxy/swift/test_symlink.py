"""Symlinks through the native API, answered as Swift 2.38's symlink middleware answers."""

from __future__ import annotations

import hashlib

import pytest

from tests.functional.objectstore.conftest import Cluster, Reply, SwiftHTTP

URL = "/v1/AUTH_sym"
HELLO_ETAG = hashlib.md5(b"hello").hexdigest()
EMPTY_ETAG = hashlib.md5(b"").hexdigest()


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    """An admin of project "sym" with containers l (links) and t (targets, t/obj = hello)."""
    token = cluster.token("sym", "boss", role="admin")
    for cont in ("l", "t"):
        assert (await swift("PUT", f"{URL}/{cont}", token=token)).status == 201
    r = await swift(
        "PUT", f"{URL}/t/obj", token=token, data=b"hello", headers={"Content-Type": "text/x-foo"}
    )
    assert r.status == 201
    return token


async def link(
    swift: SwiftHTTP, tok: str, name: str, target: str, **headers: str
) -> tuple[int, str]:
    hdrs = {"X-Symlink-Target": target, **{k.replace("_", "-"): v for k, v in headers.items()}}
    r = await swift("PUT", f"{URL}/l/{name}", token=tok, data=b"", headers=hdrs)
    return r.status, r.text


async def test_put_refusals(swift: SwiftHTTP, tok: str) -> None:
    r = await swift(
        "PUT", f"{URL}/l/x", token=tok, data=b"x", headers={"X-Symlink-Target": "t/obj"}
    )
    assert (r.status, r.text) == (400, "Symlink requests require a zero byte body")
    assert r.headers["Content-Type"] == "text/plain"
    form = "X-Symlink-Target header must be of the form <container name>/<object name>"
    assert await link(swift, tok, "x", "/t/obj") == (412, form)
    assert await link(swift, tok, "x", "tobj") == (412, form)
    assert await link(swift, tok, "x", "l/x") == (400, "Symlink cannot target itself")
    assert await link(swift, tok, "x", "l/x", X_Symlink_Target_Account="AUTH_sym") == (
        400,
        "Symlink cannot target itself",
    )
    assert await link(swift, tok, "x", "t/obj", X_Symlink_Target_Account="a/b") == (
        412,
        "Account name cannot contain slashes",
    )
    assert await link(swift, tok, "x", "t/obj", X_Symlink_Target_Etag='ab"c') == (
        400,
        "Bad X-Symlink-Target-Etag format",
    )
    r = await swift("POST", f"{URL}/t/obj", token=tok, headers={"X-Symlink-Target": "t/x"})
    assert (r.status, r.text) == (400, "A PUT request is required to set a symlink target")
    assert (await swift("GET", f"{URL}/l?format=json", token=tok)).json() == []


async def test_dynamic_link_followed(swift: SwiftHTTP, tok: str) -> None:
    r = await swift(
        "PUT", f"{URL}/l/dyn", token=tok, data=b"", headers={"X-Symlink-Target": "t/obj"}
    )
    assert r.status == 201 and r.headers["Etag"] == EMPTY_ETAG
    r = await swift("GET", f"{URL}/l/dyn", token=tok)
    assert (r.status, r.body) == (200, b"hello")
    assert r.headers["Content-Type"] == "text/x-foo"
    assert r.headers["Etag"] == HELLO_ETAG
    assert r.headers["Content-Location"] == f"{URL}/t/obj"
    r = await swift("HEAD", f"{URL}/l/dyn", token=tok)
    assert r.status == 200 and r.headers["Content-Length"] == "5"
    assert r.headers["Content-Location"] == f"{URL}/t/obj"
    r = await swift("GET", f"{URL}/l/dyn", token=tok, headers={"Range": "bytes=1-2"})
    assert (r.status, r.body) == (206, b"el")
    # the link itself
    r = await swift("GET", f"{URL}/l/dyn?symlink=get", token=tok)
    assert (r.status, r.body) == (200, b"")
    assert r.headers["X-Symlink-Target"] == "t/obj"
    assert r.headers["Content-Type"] == "application/symlink"
    assert r.headers["Etag"] == EMPTY_ETAG
    assert "X-Symlink-Target-Account" not in r.headers and "Content-Location" not in r.headers
    r = await swift("HEAD", f"{URL}/l/dyn?symlink=get", token=tok)
    assert r.headers["X-Symlink-Target"] == "t/obj" and r.headers["Content-Length"] == "0"
    # a plain object answers ?symlink=get as itself
    r = await swift("GET", f"{URL}/t/obj?symlink=get", token=tok)
    assert r.body == b"hello" and "X-Symlink-Target" not in r.headers
    # DELETE removes the link, not the target
    assert (await swift("DELETE", f"{URL}/l/dyn", token=tok)).status == 204
    assert (await swift("GET", f"{URL}/t/obj", token=tok)).body == b"hello"


async def test_dangling_and_loops(swift: SwiftHTTP, tok: str) -> None:
    assert (await link(swift, tok, "dang", "t/missing", X_Symlink_Target_Account="AUTH_sym"))[
        0
    ] == 201
    r = await swift("GET", f"{URL}/l/dang", token=tok)
    assert r.status == 404 and r.headers["Content-Location"] == f"{URL}/t/missing"
    assert r.text == "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
    r = await swift("GET", f"{URL}/l/dang?symlink=get", token=tok)
    assert r.status == 200 and r.headers["X-Symlink-Target-Account"] == "AUTH_sym"
    # two links are followed, a third is one too many
    assert (await link(swift, tok, "one", "t/obj"))[0] == 201
    assert (await link(swift, tok, "two", "l/one"))[0] == 201
    assert (await link(swift, tok, "three", "l/two"))[0] == 201
    r = await swift("GET", f"{URL}/l/two", token=tok)
    assert (r.status, r.body) == (200, b"hello")
    assert r.headers["Content-Location"] == f"{URL}/t/obj"
    for method in ("GET", "HEAD"):
        r = await swift(method, f"{URL}/l/three", token=tok)
        assert r.status == 409 and "Content-Location" not in r.headers
    r = await swift("GET", f"{URL}/l/three", token=tok)
    assert r.text == "Too many levels of symbolic links, maximum allowed is 2"
    assert r.headers["Content-Type"] == "text/plain"
    # a link to itself through another: the same
    assert (await link(swift, tok, "a", "l/b"))[0] == 201
    assert (await link(swift, tok, "b", "l/a"))[0] == 201
    assert (await swift("GET", f"{URL}/l/a", token=tok)).status == 409


async def test_static_links(swift: SwiftHTTP, tok: str) -> None:
    assert await link(swift, tok, "st", "t/obj", X_Symlink_Target_Etag="abc") == (
        409,
        f"Object Etag '{HELLO_ETAG}' does not match X-Symlink-Target-Etag header 'abc'",
    )
    r = await swift(
        "PUT",
        f"{URL}/l/st",
        token=tok,
        data=b"",
        headers={"X-Symlink-Target": "t/nope", "X-Symlink-Target-Etag": "abc"},
    )
    assert (r.status, r.text) == (409, "X-Symlink-Target does not exist")
    assert r.headers["Content-Location"] == f"{URL}/t/nope"
    assert (await link(swift, tok, "st", "t/obj", X_Symlink_Target_Etag=f'"{HELLO_ETAG}"'))[
        0
    ] == 201
    r = await swift("HEAD", f"{URL}/l/st?symlink=get", token=tok)
    assert r.headers["X-Symlink-Target-Etag"] == HELLO_ETAG
    assert r.headers["X-Symlink-Target-Bytes"] == "5"
    assert r.headers["Content-Type"] == "text/x-foo"  # the target's, when not given
    assert (await swift("GET", f"{URL}/l/st", token=tok)).body == b"hello"
    # the target changes: the static link refuses to serve it
    await swift("PUT", f"{URL}/t/obj", token=tok, data=b"other")
    r = await swift("GET", f"{URL}/l/st", token=tok)
    other = hashlib.md5(b"other").hexdigest()
    assert r.status == 409
    assert r.text == (
        f"Object Etag '{other}' does not match X-Symlink-Target-Etag header '{HELLO_ETAG}'"
    )
    assert r.headers["Content-Location"] == f"{URL}/t/obj"
    # a static link to a static link: their ETags must agree
    await swift("PUT", f"{URL}/t/obj", token=tok, data=b"hello")
    assert (await link(swift, tok, "st2", "l/st", X_Symlink_Target_Etag=HELLO_ETAG))[0] == 201
    assert (await swift("GET", f"{URL}/l/st2", token=tok)).body == b"hello"
    assert await link(swift, tok, "st3", "l/st", X_Symlink_Target_Etag=EMPTY_ETAG) == (
        409,
        "X-Symlink-Target-Etag headers do not match",
    )
    # a static link to a dynamic one names the link's own (empty) ETag and size
    await link(swift, tok, "dyn", "t/obj")
    assert (await link(swift, tok, "s2d", "l/dyn", X_Symlink_Target_Etag=EMPTY_ETAG))[0] == 201
    assert (await swift("GET", f"{URL}/l/s2d", token=tok)).body == b"hello"
    r = await swift("HEAD", f"{URL}/l/s2d?symlink=get", token=tok)
    assert r.headers["X-Symlink-Target-Bytes"] == "0"
    assert r.headers["Content-Type"] == "application/symlink"
    r = await swift("GET", f"{URL}/l/s2d", token=tok, headers={"If-None-Match": HELLO_ETAG})
    assert r.status == 304  # conditions apply to the object reached


async def test_listing_fields(swift: SwiftHTTP, tok: str) -> None:
    await link(swift, tok, "dyn", "t/obj")
    await link(swift, tok, "ext", "t/o%20x", X_Symlink_Target_Account="AUTH_other")
    await link(swift, tok, "st", "t/obj", X_Symlink_Target_Etag=HELLO_ETAG)
    await swift("PUT", f"{URL}/l/plain", token=tok, data=b"x", headers={"Content-Type": "a/b"})
    rows = (await swift("GET", f"{URL}/l?format=json", token=tok)).json()
    by_name = {row.pop("name"): row for row in rows}
    for row in by_name.values():
        row.pop("last_modified")
    assert by_name["dyn"] == {
        "bytes": 0,
        "hash": EMPTY_ETAG,
        "content_type": "application/symlink",
        "symlink_path": f"{URL}/t/obj",
    }
    assert by_name["ext"]["symlink_path"] == "/v1/AUTH_other/t/o%20x"
    assert list(by_name["st"]) == [
        "bytes",
        "hash",
        "content_type",
        "symlink_etag",
        "symlink_bytes",
        "symlink_path",
    ]
    assert by_name["st"]["symlink_etag"] == HELLO_ETAG and by_name["st"]["symlink_bytes"] == 5
    assert by_name["st"]["content_type"] == "text/x-foo"
    assert by_name["plain"] == {
        "bytes": 1,
        "hash": hashlib.md5(b"x").hexdigest(),
        "content_type": "a/b",
    }
    xml = (await swift("GET", f"{URL}/l?format=xml", token=tok)).text
    assert "<name>dyn</name><hash>d41d8cd98f00b204e9800998ecf8427e</hash><bytes>0</bytes>" in xml
    assert "<content_type>application/symlink</content_type>" in xml
    assert "symlink" not in xml.replace("application/symlink", "")


async def post(swift: SwiftHTTP, path: str, tok: str, headers: dict[str, str]) -> Reply:
    """A POST whose redirect is not followed (aiohttp would re-POST to the target)."""
    headers = {**headers, "X-Auth-Token": tok}
    async with swift.session.post(swift.base + path, headers=headers, allow_redirects=False) as r:
        return Reply(r.status, r.headers, await r.read())


async def test_post_redirects(swift: SwiftHTTP, tok: str) -> None:
    assert (await link(swift, tok, "st", "t/obj", X_Symlink_Target_Etag=HELLO_ETAG))[0] == 201
    r = await post(
        swift, f"{URL}/l/st", tok, {"X-Object-Meta-Color": "red", "Content-Type": "text/y"}
    )
    assert r.status == 307
    assert r.text == (
        "The requested POST was applied to a symlink. "
        "POST directly to the target to apply requested metadata."
    )
    assert r.headers["Location"] == f"{URL}/t/obj"
    assert r.headers["X-Symlink-Target-Etag"] == HELLO_ETAG
    r = await swift("HEAD", f"{URL}/l/st?symlink=get", token=tok)
    assert r.headers["X-Object-Meta-Color"] == "red" and r.headers["Content-Type"] == "text/y"
    assert r.headers["X-Symlink-Target"] == "t/obj"  # still a link
    assert "X-Object-Meta-Color" not in (await swift("HEAD", f"{URL}/t/obj", token=tok)).headers
    await link(swift, tok, "dang", "t/missing")
    r = await post(swift, f"{URL}/l/dang", tok, {"X-Object-Meta-A": "b"})
    assert r.status == 307 and r.headers["Location"] == f"{URL}/t/missing"
    assert "X-Symlink-Target-Etag" not in r.headers
    assert (await swift("POST", f"{URL}/t/obj", token=tok)).status == 202


async def test_copy(swift: SwiftHTTP, tok: str) -> None:
    await link(swift, tok, "dyn", "t/obj")
    await link(swift, tok, "two", "l/dyn")
    r = await swift("COPY", f"{URL}/l/dyn", token=tok, headers={"Destination": "l/copied"})
    assert r.status == 201 and r.headers["Etag"] == HELLO_ETAG
    assert r.headers["X-Copied-From"] == "l/dyn"
    assert r.headers["X-Copied-From-Account"] == "AUTH_sym"
    r = await swift("GET", f"{URL}/l/copied?symlink=get", token=tok)
    assert r.body == b"hello" and "X-Symlink-Target" not in r.headers
    assert r.headers["Content-Type"] == "text/x-foo"
    r = await swift(
        "PUT", f"{URL}/l/copied2", token=tok, data=b"", headers={"X-Copy-From": "l/two"}
    )
    assert r.status == 201 and r.headers["X-Copied-From"] == "l/two"
    assert (await swift("GET", f"{URL}/l/copied2?symlink=get", token=tok)).body == b"hello"
    # ?symlink=get copies the link itself
    r = await swift(
        "COPY", f"{URL}/l/dyn?symlink=get", token=tok, headers={"Destination": "l/linkcopy"}
    )
    assert r.status == 201 and r.headers["Etag"] == EMPTY_ETAG
    r = await swift("GET", f"{URL}/l/linkcopy?symlink=get", token=tok)
    assert r.headers["X-Symlink-Target"] == "t/obj"
    rows = (await swift("GET", f"{URL}/l?format=json&prefix=linkcopy", token=tok)).json()
    assert rows[0]["symlink_path"] == f"{URL}/t/obj"
    # a dangling source and a loop
    await link(swift, tok, "dang", "t/missing")
    r = await swift("COPY", f"{URL}/l/dang", token=tok, headers={"Destination": "l/c3"})
    assert r.status == 404 and r.headers["Content-Location"] == f"{URL}/t/missing"
    await link(swift, tok, "three", "l/two")
    r = await swift("COPY", f"{URL}/l/three", token=tok, headers={"Destination": "l/c3"})
    assert (r.status, r.text) == (409, "Too many levels of symbolic links, maximum allowed is 2")


async def test_target_needs_read_access(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    """Each container a link passes must let the reader in (its own ACLs)."""
    carol = cluster.token("sym", "carol", role="acl-only")
    r = await swift("POST", f"{URL}/l", token=tok, headers={"X-Container-Read": ".r:*,sym:carol"})
    assert r.status == 204
    await link(swift, tok, "dyn", "t/obj")
    r = await swift("GET", f"{URL}/l/dyn", token=carol)
    assert r.status == 403 and r.headers["Content-Location"] == f"{URL}/t/obj"
    r = await swift("GET", f"{URL}/l/dyn")
    assert r.status == 401 and r.headers["Content-Location"] == f"{URL}/t/obj"
    r = await swift("GET", f"{URL}/l/dyn?symlink=get")
    assert r.status == 200 and r.headers["X-Symlink-Target"] == "t/obj"
    # a static link is checked with the writer's rights, before the write's own
    r = await swift(
        "PUT",
        f"{URL}/l/x",
        data=b"",
        headers={"X-Symlink-Target": "t/obj", "X-Symlink-Target-Etag": "abc"},
    )
    assert r.status == 401 and "Content-Location" not in r.headers
    await swift("POST", f"{URL}/t", token=tok, headers={"X-Container-Read": "sym:carol"})
    r = await swift("GET", f"{URL}/l/dyn", token=carol)
    assert (r.status, r.body) == (200, b"hello")
    assert (await swift("GET", f"{URL}/l/dyn")).status == 401


async def test_info(swift: SwiftHTTP) -> None:
    info = (await swift("GET", "/info")).json()
    assert info["symlink"] == {"symloop_max": 2, "static_links": True}
