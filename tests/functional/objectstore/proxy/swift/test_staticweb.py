"""Static web sites from public containers, answered as Swift 2.38's staticweb answers."""

from __future__ import annotations

import pytest

from tests.functional.objectstore.conftest import Cluster, Reply, SwiftHTTP

URL = "/v1/AUTH_web"
NOT_FOUND = "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"


@pytest.fixture
async def tok(cluster: Cluster) -> str:
    return cluster.token("web", "boss", role="admin")


async def get(swift: SwiftHTTP, path: str, **headers: str) -> Reply:
    """An anonymous GET whose redirects are not followed."""
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    async with swift.session.get(swift.base + path, headers=hdrs, allow_redirects=False) as r:
        return Reply(r.status, r.headers, await r.read())


async def site(
    swift: SwiftHTTP,
    tok: str,
    name: str,
    meta: dict[str, str],
    objects: dict[str, tuple[str, bytes]],
) -> None:
    headers = {"X-Container-Read": ".r:*,.rlistings"}
    headers.update({f"X-Container-Meta-Web-{k}": v for k, v in meta.items()})
    assert (await swift("PUT", f"{URL}/{name}", token=tok, headers=headers)).status == 201
    for obj, (ctype, body) in objects.items():
        r = await swift(
            "PUT", f"{URL}/{name}/{obj}", token=tok, data=body, headers={"Content-Type": ctype}
        )
        assert r.status == 201


async def test_index_error_and_redirects(cluster: Cluster, swift: SwiftHTTP, tok: str) -> None:
    await site(
        swift,
        tok,
        "s",
        {"Index": "index.html", "Error": "error.html"},
        {
            "index.html": ("text/html", b"<h1>root</h1>"),
            "sub/index.html": ("text/html", b"<h1>sub</h1>"),
            "404error.html": ("text/html", b"<h1>nope</h1>"),
            "nodir/a.txt": ("text/plain", b"a"),
            "dirmark": ("application/directory", b""),
            "page.html": ("text/html", b"<p>page</p>"),
        },
    )
    r = await get(swift, f"{URL}/s")
    assert r.status == 301 and r.headers["Location"] == f"{cluster.url}{URL}/s/"
    assert (
        r.text
        == "<html><h1>Moved Permanently</h1><p>The resource has moved permanently.</p></html>"
    )
    r = await get(swift, f"{URL}/s/")
    assert (r.status, r.text) == (200, "<h1>root</h1>")
    assert r.headers["Vary"] == "Accept"  # Swift's listing_formats: a container GET
    assert "Vary" not in (await get(swift, f"{URL}/s/?format=json")).headers
    r = await get(swift, f"{URL}/s/sub")
    assert r.status == 301 and r.headers["Location"] == f"{cluster.url}{URL}/s/sub/"
    r = await get(swift, f"{URL}/s/sub/")
    assert (r.status, r.text) == (200, "<h1>sub</h1>")
    assert (await get(swift, f"{URL}/s/page.html")).text == "<p>page</p>"
    # a directory without an index: listings are off, so the error page
    assert (await get(swift, f"{URL}/s/nodir")).status == 301
    for path in ("missing", "nodir/", "dirmark", "nothere/"):
        r = await get(swift, f"{URL}/s/{path}")
        assert (r.status, r.text) == (404, "<h1>nope</h1>"), path
        assert r.headers["Content-Type"] == "text/html"
    async with swift.session.head(swift.base + f"{URL}/s/missing") as resp:
        assert resp.status == 404
    # an owner gets the plain API, unless asking for the web view
    r = await swift("GET", f"{URL}/s/sub", token=tok)
    assert (r.status, r.text) == (404, NOT_FOUND)
    r = await get(swift, f"{URL}/s/sub", X_Auth_Token=tok, X_Web_Mode="true")
    assert r.status == 301
    r = await swift("GET", f"{URL}/s/dirmark", token=tok)
    assert r.status == 200 and r.headers["Content-Type"] == "application/directory"


LISTING = """<!DOCTYPE html>
<html>
 <head>
  <title>Listing of {label}</title>
{style} </head>
 <body>
  <h1 id="title">Listing of {label}</h1>
  <table id="listing">
   <tr id="heading">
    <th class="colname">Name</th>
    <th class="colsize">Size</th>
    <th class="coldate">Date</th>
   </tr>
{rows}  </table>
 </body>
</html>
"""
STYLE = """  <style type="text/css">
   h1 {font-size: 1em; font-weight: bold;}
   th {text-align: left; padding: 0px 1em 0px 1em;}
   td {padding: 0px 1em 0px 1em;}
   a {text-decoration: none;}
  </style>
"""
PARENT = """   <tr id="parent" class="item">
    <td class="colname"><a href="../">../</a></td>
    <td class="colsize">&nbsp;</td>
    <td class="coldate">&nbsp;</td>
   </tr>
"""


def subdir_row(href: str, name: str) -> str:
    return (
        '   <tr class="item subdir">\n'
        f'    <td class="colname"><a href="./{href}">{name}</a></td>\n'
        '    <td class="colsize">&nbsp;</td>\n'
        '    <td class="coldate">&nbsp;</td>\n'
        "   </tr>\n"
    )


def object_row(classes: str, href: str, name: str, size: str, date: str) -> str:
    return (
        f'   <tr class="item {classes}">\n'
        f'    <td class="colname"><a href="./{href}">{name}</a></td>\n'
        f'    <td class="colsize">{size}</td>\n'
        f'    <td class="coldate">{date}</td>\n'
        "   </tr>\n"
    )


async def test_listings(swift: SwiftHTTP, tok: str) -> None:
    await site(
        swift,
        tok,
        "l",
        {"Listings": "true"},
        {
            "a.txt": ("text/plain", b"hello world"),
            "sub dir/b.v1.txt": ("text/plain;charset=utf-8", b"b"),
            "sub dir/c<>.bin": ("application/octet-stream", b"c" * 2000),
        },
    )
    dates = {
        row["name"]: row["last_modified"].split(".")[0].replace("T", " ")
        for row in (await swift("GET", f"{URL}/l?format=json", token=tok)).json()
    }
    r = await get(swift, f"{URL}/l/")
    assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=UTF-8"
    rows = subdir_row("sub%20dir/", "sub dir/") + object_row(
        "type-text type-plain", "a%2Etxt", "a.txt", "11", dates["a.txt"]
    )
    assert r.text == LISTING.format(label=f"{URL}/l/", style=STYLE, rows=rows)
    assert r.headers["Vary"] == "Accept"  # a container GET, as Swift's listing_formats sees it
    async with swift.session.head(swift.base + f"{URL}/l/") as head:
        assert head.status == 200 and head.headers["Content-Length"] == str(len(r.body))
    r = await get(swift, f"{URL}/l/sub%20dir/")
    rows = (
        PARENT
        + object_row(
            "type-text type-plain;charset=utf-8",
            "b%2Ev1%2Etxt",
            "b.v1.txt",
            "1",
            dates["sub dir/b.v1.txt"],
        )
        + object_row(
            "type-application type-octet-stream",
            "c%3C%3E%2Ebin",
            "c&lt;&gt;.bin",
            "2Ki",
            dates["sub dir/c<>.bin"],
        )
    )
    assert r.text == LISTING.format(label=f"{URL}/l/sub dir/", style=STYLE, rows=rows)
    r = await get(swift, f"{URL}/l/sub%20dir")
    assert r.status == 301 and r.headers["Location"].endswith(f"{URL}/l/sub%20dir/")
    assert (await get(swift, f"{URL}/l/nothere/")).text == NOT_FOUND
    # a style sheet and a label
    meta = {"X-Container-Meta-Web-Listings-CSS": "listing.css"}
    meta["X-Container-Meta-Web-Listings-Label"] = "example.com"
    assert (await swift("POST", f"{URL}/l", token=tok, headers=meta)).status == 204
    text = (await get(swift, f"{URL}/l/sub%20dir/")).text
    assert '  <link rel="stylesheet" type="text/css" href="../listing.css" />\n' in text
    assert "<title>Listing of example.com/sub dir/</title>" in text
    root = (await get(swift, f"{URL}/l/")).text
    assert 'href="listing.css"' in root and "<title>Listing of example.com/</title>" in root


async def test_listings_off_and_acls(swift: SwiftHTTP, tok: str) -> None:
    await site(swift, tok, "n", {"Index": "index.html"}, {"x/y": ("text/plain", b"y")})
    r = await get(swift, f"{URL}/n/")
    assert r.status == 404
    assert "<h1>Web Listing Disabled</h1>" in r.text
    assert "<b>X-Container-Meta-Web-Index: index.html</b>" in r.text
    # .r:* without .rlistings: objects are public, the container is not
    await swift("POST", f"{URL}/n", token=tok, headers={"X-Container-Read": ".r:*"})
    assert (await get(swift, f"{URL}/n/")).status == 401
    assert (await get(swift, f"{URL}/n/x/y")).text == "y"
    # no web metadata: the plain API answers
    await site(swift, tok, "plain", {}, {"o": ("text/plain", b"o")})
    r = await get(swift, f"{URL}/plain")
    assert r.status == 200 and r.text == "o\n"
    r = await get(swift, f"{URL}/plain", X_Auth_Token=tok, X_Web_Mode="true")
    assert (r.status, r.text) == (404, NOT_FOUND)


async def test_directory_type(swift: SwiftHTTP, tok: str) -> None:
    await site(
        swift,
        tok,
        "d",
        {"Listings": "true", "Directory-Type": "text/directory"},
        {
            "dir": ("text/directory", b""),
            "dir/f": ("text/plain", b"f"),
            "am": ("application/directory", b""),
        },
    )
    r = await get(swift, f"{URL}/d/dir")
    assert r.status == 301
    assert (await get(swift, f"{URL}/d/am")).status == 200  # not this site's type


async def test_info(swift: SwiftHTTP) -> None:
    assert (await swift("GET", "/info")).json()["staticweb"] == {}
