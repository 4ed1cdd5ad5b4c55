"""Account requests through the native API on a real cluster."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

from tests.functional.objectstore.conftest import Cluster, SwiftHTTP

URL = "/v1/AUTH_acct"


async def test_empty_account(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("acct")
    r = await swift("HEAD", URL, token=tok)
    assert r.status == 204
    assert r.headers["X-Account-Container-Count"] == "0"
    assert r.headers["X-Account-Object-Count"] == "0"
    assert r.headers["X-Account-Bytes-Used"] == "0"
    r = await swift("GET", URL, token=tok)
    assert r.status == 204 and r.body == b""
    r = await swift("GET", URL + "?format=json", token=tok)
    assert (r.status, r.json()) == (200, [])


async def test_listing_formats_and_params(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("acct")
    names = ["a", "b-1", "b-2", "c"]
    for name in names:
        assert (await swift("PUT", f"{URL}/{name}", token=tok)).status == 201
    r = await swift("GET", URL, token=tok)
    assert r.status == 200 and r.text == "a\nb-1\nb-2\nc\n"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["X-Account-Container-Count"] == "4"
    rows = (await swift("GET", URL + "?format=json", token=tok)).json()
    assert [row["name"] for row in rows] == names
    assert list(rows[0]) == ["name", "count", "bytes", "last_modified", "storage_policy"]
    r = await swift("GET", URL, token=tok, headers={"Accept": "application/xml"})
    doc = fromstring(r.body)
    assert doc.tag == "account" and doc.get("name") == "AUTH_acct"
    assert [c.find("name").text for c in doc.findall("container")] == names

    async def plain(query: str) -> list[str]:
        return (await swift("GET", f"{URL}?{query}", token=tok)).text.split()

    assert await plain("limit=2") == ["a", "b-1"]
    assert await plain("marker=b-1") == ["b-2", "c"]
    assert await plain("end_marker=b-2") == ["a", "b-1"]
    assert await plain("prefix=b-") == ["b-1", "b-2"]
    assert await plain("delimiter=-") == ["a", "b-", "c"]
    assert await plain("reverse=on") == ["c", "b-2", "b-1", "a"]
    r = await swift("GET", URL + "?limit=10001", token=tok)
    assert (r.status, r.text) == (412, "Maximum limit is 10000")
    r = await swift("GET", URL, token=tok, headers={"Accept": "image/png"})
    assert r.status == 406


async def test_metadata(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("acct")
    r = await swift("POST", URL, token=tok, headers={"X-Account-Meta-Color": "blue"})
    assert r.status == 204
    r = await swift("HEAD", URL, token=tok)
    assert r.headers["X-Account-Meta-Color"] == "blue"
    await swift("POST", URL, token=tok, headers={"X-Account-Meta-Shape": "round"})
    r = await swift("POST", URL, token=tok, headers={"X-Remove-Account-Meta-Color": "x"})
    r = await swift("HEAD", URL, token=tok)
    assert "X-Account-Meta-Color" not in r.headers
    assert r.headers["X-Account-Meta-Shape"] == "round"
    r = await swift("POST", URL, token=tok, headers={"X-Account-Meta-" + "n" * 129: "v"})
    assert r.status == 400 and r.text.startswith("Metadata name too long")
    r = await swift("POST", URL, token=tok, headers={"X-Account-Meta-Big": "v" * 257})
    assert r.status == 400


async def test_account_put_delete_not_allowed(cluster: Cluster, swift: SwiftHTTP) -> None:
    tok = cluster.token("acct")
    for method in ("PUT", "DELETE"):
        r = await swift(method, URL, token=tok)
        assert r.status == 405
        assert b"<h1>Method Not Allowed</h1>" in r.body


async def test_reader_reads_but_cannot_write(cluster: Cluster, swift: SwiftHTTP) -> None:
    owner = cluster.token("acct")
    await swift("PUT", f"{URL}/c", token=owner)
    reader = cluster.token("acct", "viewer", role="reader")
    assert (await swift("GET", URL, token=reader)).text == "c\n"
    assert (await swift("POST", URL, token=reader, headers={"X-Account-Meta-A": "1"})).status == 403
    assert (await swift("PUT", f"{URL}/d", token=reader)).status == 403
    assert (await swift("PUT", f"{URL}/c/o", token=reader, data=b"x")).status == 403
