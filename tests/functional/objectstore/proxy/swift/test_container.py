"""Container requests through the native API on a real cluster."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_cont"


async def test_lifecycle(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("cont")
    assert (await swift("PUT", f"{URL}/box", token=tok)).status == 201
    r = await swift("PUT", f"{URL}/box", token=tok)
    assert r.status == 202 and b"<h1>Accepted</h1>" in r.body
    await swift("PUT", f"{URL}/box/o1", token=tok, data=b"12345")
    r = await swift("HEAD", f"{URL}/box", token=tok)
    assert r.status == 204
    assert r.headers["X-Container-Object-Count"] == "1"
    assert r.headers["X-Container-Bytes-Used"] == "5"
    r = await swift("DELETE", f"{URL}/box", token=tok)
    assert r.status == 409 and b"<h1>Conflict</h1>" in r.body
    assert (await swift("DELETE", f"{URL}/box/o1", token=tok)).status == 204
    assert (await swift("DELETE", f"{URL}/box", token=tok)).status == 204
    r = await swift("DELETE", f"{URL}/box", token=tok)
    assert r.status == 404
    assert r.body == b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
    assert (await swift("HEAD", f"{URL}/box", token=tok)).status == 404
    assert (await swift("GET", f"{URL}/box", token=tok)).status == 404


async def test_put_creates_the_account(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("cont")
    assert not (await cluster.core.head_account("AUTH_cont")).exists
    await swift("PUT", f"{URL}/first", token=tok)
    assert (await cluster.core.head_account("AUTH_cont")).exists


async def test_listing(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("cont")
    await swift("PUT", f"{URL}/l", token=tok)
    names = ["a.txt", "dir/x", "dir/y", "dir/sub/z", "é"]
    for name in names:
        r = await swift("PUT", f"{URL}/l/{name}", token=tok, data=name.encode())
        assert r.status == 201
    r = await swift("GET", f"{URL}/l", token=tok)
    assert r.text.split("\n")[:-1] == sorted(names, key=lambda n: n.encode())
    rows = (await swift("GET", f"{URL}/l?format=json", token=tok)).json()
    row = rows[0]
    assert set(row) == {"name", "hash", "bytes", "content_type", "last_modified"}
    assert (row["name"], row["bytes"], row["content_type"]) == ("a.txt", 5, "text/plain")
    rows = (await swift("GET", f"{URL}/l?format=json&delimiter=/", token=tok)).json()
    assert rows == [rows[0], {"subdir": "dir/"}, rows[2]]
    assert rows[2]["name"] == "é"
    rows = (await swift("GET", f"{URL}/l?format=json&prefix=dir/&delimiter=/", token=tok)).json()
    assert [r.get("name", r.get("subdir")) for r in rows] == ["dir/sub/", "dir/x", "dir/y"]
    r = await swift("GET", f"{URL}/l?path=dir", token=tok)
    assert r.text == "dir/x\ndir/y\n"
    doc = fromstring((await swift("GET", f"{URL}/l?format=xml&delimiter=/", token=tok)).body)
    assert doc.tag == "container" and doc.get("name") == "l"
    assert [e.tag for e in doc] == ["object", "subdir", "object"]
    assert doc[1].get("name") == "dir/"
    r = await swift("GET", f"{URL}/l?limit=2&marker=a.txt&reverse=true", token=tok)
    assert r.text == ""  # nothing sorts before a.txt
    assert (await swift("GET", f"{URL}/l?limit=2", token=tok)).text == "a.txt\ndir/sub/z\n"
    assert (await swift("GET", f"{URL}/l?end_marker=dir", token=tok)).text == "a.txt\n"
    r = await swift("GET", f"{URL}/l?prefix=zzz", token=tok)
    assert r.status == 204
    r = await swift("GET", f"{URL}/l?prefix=zzz&format=json", token=tok)
    assert (r.status, r.json()) == (200, [])


async def test_metadata_and_acls(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("cont", "boss", role="admin")  # ACLs are the project admin's
    r = await swift(
        "PUT",
        f"{URL}/m",
        token=tok,
        headers={"X-Container-Meta-Tag": "one", "X-Container-Read": ".r:*, .rlistings"},
    )
    assert r.status == 201
    r = await swift("HEAD", f"{URL}/m", token=tok)
    assert r.headers["X-Container-Meta-Tag"] == "one"
    assert r.headers["X-Container-Read"] == ".r:*,.rlistings"
    r = await swift(
        "POST",
        f"{URL}/m",
        token=tok,
        headers={"X-Container-Meta-Other": "two", "X-Remove-Container-Meta-Tag": "1"},
    )
    assert r.status == 204
    r = await swift("HEAD", f"{URL}/m", token=tok)
    assert "X-Container-Meta-Tag" not in r.headers
    assert r.headers["X-Container-Meta-Other"] == "two"
    r = await swift("POST", f"{URL}/m", token=tok, headers={"X-Remove-Container-Read": "x"})
    assert "X-Container-Read" not in (await swift("HEAD", f"{URL}/m", token=tok)).headers


async def test_bad_input(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("cont")
    r = await swift("PUT", f"{URL}/{'c' * 257}", token=tok)
    assert (r.status, r.text) == (400, "Container name length of 257 longer than 256")
    r = await swift("PUT", f"{URL}/c", token=tok, headers={"X-Container-Meta-" + "k" * 129: "v"})
    assert r.status == 400
    admin = cluster.token("cont", "boss", role="admin")  # ACLs are the project admin's
    r = await swift("PUT", f"{URL}/c", token=admin, headers={"X-Container-Write": ".r:*"})
    assert (r.status, r.text) == (400, "Referrers not allowed in write ACL: '.r:*'")
    r = await swift("PUT", f"{URL}/c", token=admin, headers={"X-Container-Read": ".bad:x"})
    assert r.status == 400 and "Unknown designator" in r.text
    assert (await swift("HEAD", f"{URL}/c", token=tok)).status == 404  # nothing was made
    r = await swift("PUT", f"{URL}/c%00x", token=tok, raw=True)
    assert (r.status, r.text) == (412, "Invalid UTF8 or contains NULL")
    r = await swift("PUT", f"{URL}/c%FF", token=tok, raw=True)
    assert r.status == 412
    await swift("PUT", f"{URL}/ok", token=tok)
    r = await swift("GET", f"{URL}/ok?delimiter=ab", token=tok)  # Swift takes any delimiter
    assert (r.status, r.text) == (204, "")
    r = await swift("GET", f"{URL}/ok?prefix=%FF", token=tok, raw=True)
    assert (r.status, r.text) == (400, '"prefix" parameter not valid UTF-8')
    assert r.headers["Content-Type"] == "text/plain"  # as Swift labels it
    assert (await swift("PATCH", f"{URL}/ok", token=tok)).status == 405
