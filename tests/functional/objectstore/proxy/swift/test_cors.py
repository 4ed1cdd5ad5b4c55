"""CORS through the native API, as Swift's proxy answers it (checked against Swift 2.38)."""

from __future__ import annotations

import aiohttp
import pytest

from objectstore.proxy.swift import cors
from tests.functional.objectstore.conftest import Cluster, ClusterFactory, SwiftHTTP
from tests.functional.objectstore.conftest import _start_proxy as start_proxy

URL = "/v1/AUTH_cors"
GOOD = "http://good.example"
SWIFT_EXPOSED = set(cors.EXPOSE_ALWAYS)  # the recorded comparison checks it is Swift's
METHODS = "DELETE, OPTIONS, GET, HEAD, PUT, POST"


@pytest.fixture
async def tok(cluster: Cluster, swift: SwiftHTTP) -> str:
    token = cluster.token("cors")
    cors = {
        "X-Container-Meta-Access-Control-Allow-Origin": f"{GOOD} http://other.example",
        "X-Container-Meta-Access-Control-Expose-Headers": "X-Object-Meta-A  x-custom",
        "X-Container-Meta-Access-Control-Max-Age": "60",
    }
    assert (await swift("PUT", f"{URL}/c", token=token, headers=cors)).status == 201
    r = await swift("PUT", f"{URL}/c/o", token=token, data=b"x", headers={"X-Object-Meta-A": "1"})
    assert r.status == 201
    star = {"X-Container-Meta-Access-Control-Allow-Origin": "*"}
    assert (await swift("PUT", f"{URL}/star", token=token, headers=star)).status == 201
    assert (await swift("PUT", f"{URL}/plain", token=token)).status == 201
    return token


def exposed(value: str) -> set[str]:
    return {h.strip() for h in value.split(",")}


async def test_preflight_allowed(swift: SwiftHTTP, tok: str) -> None:
    """No token needed: the container's settings decide; the object's methods add COPY."""
    asked = {"Origin": GOOD, "Access-Control-Request-Method": "GET"}
    r = await swift("OPTIONS", f"{URL}/c/o", headers=asked)
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == GOOD
    assert r.headers["Access-Control-Allow-Methods"] == f"{METHODS}, COPY"
    assert r.headers["Allow"] == f"{METHODS}, COPY"
    assert (r.headers["Access-Control-Max-Age"], r.headers["Vary"]) == ("60", "Origin")
    assert "Access-Control-Allow-Headers" not in r.headers and "Content-Type" not in r.headers
    assert r.headers["Content-Length"] == "0" and r.body == b""
    # The requested headers are allowed as asked (deduplicated), the container too.
    hdrs = {**asked, "Access-Control-Request-Method": "PUT"}
    hdrs["Access-Control-Request-Headers"] = "x-auth-token, content-type,x-auth-token"
    r = await swift("OPTIONS", f"{URL}/c", headers=hdrs)
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Headers"] == "x-auth-token, content-type"
    assert r.headers["Vary"] == "Origin, Access-Control-Request-Headers"
    assert r.headers["Allow"] == r.headers["Access-Control-Allow-Methods"] == METHODS
    # Any origin: "*", no Vary; no Max-Age unless set.
    r = await swift("OPTIONS", f"{URL}/star/x", headers={**asked, "Origin": "http://z.example"})
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in r.headers and "Access-Control-Max-Age" not in r.headers


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("c/o", {"Origin": "http://bad.example", "Access-Control-Request-Method": "GET"}),
        ("c/o", {"Origin": GOOD}),  # no method asked
        ("c/o", {"Origin": GOOD, "Access-Control-Request-Method": "COPY"}),  # not the proxy's
        ("c/o", {"Origin": GOOD, "Access-Control-Request-Method": "get"}),
        ("plain/o", {"Origin": GOOD, "Access-Control-Request-Method": "GET"}),
        ("missing/o", {"Origin": GOOD, "Access-Control-Request-Method": "GET"}),
        ("missing", {"Origin": GOOD, "Access-Control-Request-Method": "GET"}),
    ],
)
async def test_preflight_refused(
    swift: SwiftHTTP, tok: str, path: str, headers: dict[str, str]
) -> None:
    """401 with the controller's Allow (no COPY: the copy filter adds it to successes only)."""
    r = await swift("OPTIONS", f"{URL}/{path}", headers=headers)
    assert r.status == 401
    assert r.headers["Allow"] == METHODS
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert b"<h1>Unauthorized</h1>" in r.body
    assert "Www-Authenticate" not in r.headers
    assert not any(h.startswith("Access-Control") for h in r.headers)


async def test_options_without_origin(swift: SwiftHTTP, tok: str) -> None:
    """Swift answers every OPTIONS with the methods (the account too, with or without Origin)."""
    for path, allow in (("c/o", f"{METHODS}, COPY"), ("c", METHODS), ("", METHODS)):
        r = await swift("OPTIONS", f"{URL}/{path}".rstrip("/"))
        assert (r.status, r.headers["Allow"], r.body) == (200, allow, b""), path
        assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    asked = {"Origin": GOOD, "Access-Control-Request-Method": "GET"}
    r = await swift("OPTIONS", URL, headers=asked)  # no CORS for the account itself
    assert (r.status, r.headers["Allow"]) == (200, METHODS)
    assert "Access-Control-Allow-Origin" not in r.headers
    # A bad token is refused before (tempauth), with its challenge.
    r = await swift("OPTIONS", f"{URL}/c/o", token="AUTH_tkbad", headers=asked)
    assert r.status == 401 and "Www-Authenticate" in r.headers


async def test_actual_requests(swift: SwiftHTTP, tok: str) -> None:
    r = await swift("GET", f"{URL}/c/o", token=tok, headers={"Origin": GOOD})
    assert (r.status, r.body) == (200, b"x")
    assert (r.headers["Access-Control-Allow-Origin"], r.headers["Vary"]) == (GOOD, "Origin")
    assert exposed(r.headers["Access-Control-Expose-Headers"]) == SWIFT_EXPOSED | {
        "x-object-meta-a",
        "x-custom",
    }
    # The container's own metadata is exposed on its answers; listings vary on Accept too.
    r = await swift("HEAD", f"{URL}/c", token=tok, headers={"Origin": GOOD})
    assert r.status == 204 and r.headers["Vary"] == "Origin, Accept"
    assert exposed(r.headers["Access-Control-Expose-Headers"]) == SWIFT_EXPOSED | {
        "x-object-meta-a",
        "x-custom",
        "x-container-meta-access-control-allow-origin",
        "x-container-meta-access-control-expose-headers",
        "x-container-meta-access-control-max-age",
    }
    r = await swift("GET", f"{URL}/c?format=json", token=tok, headers={"Origin": GOOD})
    assert r.status == 200 and r.headers["Vary"] == "Origin"
    # Writes, errors and a denied anonymous read are stamped too.
    r = await swift("PUT", f"{URL}/star/y", token=tok, data=b"y", headers={"Origin": "http://z"})
    assert r.status == 201 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in r.headers
    r = await swift("GET", f"{URL}/c/missing", token=tok, headers={"Origin": GOOD})
    assert r.status == 404 and r.headers["Access-Control-Allow-Origin"] == GOOD
    r = await swift("GET", f"{URL}/c/o", headers={"Origin": GOOD})
    assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == GOOD
    assert r.headers["Www-Authenticate"] == 'Swift realm="AUTH_cors"'
    r = await swift("DELETE", f"{URL}/star/y", token=tok, headers={"Origin": "http://z"})
    assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "*"


async def test_not_stamped(swift: SwiftHTTP, tok: str) -> None:
    """strict_cors_mode: an origin not allowed gets no CORS headers; nor does the account,
    nor an answer given before the controllers (the copy filter's 412)."""
    r = await swift("GET", f"{URL}/c/o", token=tok, headers={"Origin": "http://bad.example"})
    assert r.status == 200 and not any(h.startswith("Access-Control") for h in r.headers)
    r = await swift("GET", f"{URL}/plain", token=tok, headers={"Origin": GOOD})
    assert r.status == 204 and "Access-Control-Allow-Origin" not in r.headers
    r = await swift("GET", URL, token=tok, headers={"Origin": GOOD})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
    r = await swift("GET", f"{URL}/c/o", token=tok)
    assert "Access-Control-Allow-Origin" not in r.headers
    bad = {"Origin": GOOD, "X-Copy-From": "nocontainer"}
    r = await swift("PUT", f"{URL}/c/cp", token=tok, headers=bad)
    assert r.status == 412 and "Access-Control-Allow-Origin" not in r.headers
    r = await swift("COPY", f"{URL}/c/o", token=tok, headers={"Origin": GOOD})
    assert r.status == 412 and "Access-Control-Allow-Origin" not in r.headers
    # ...but the copy's source read and its write are the proxy's: stamped.
    r = await swift("PUT", f"{URL}/c/cp", token=tok, headers={**bad, "X-Copy-From": "c/gone"})
    assert r.status == 404 and r.headers["Access-Control-Allow-Origin"] == GOOD
    r = await swift("PUT", f"{URL}/c/cp", token=tok, headers={**bad, "X-Copy-From": "c/o"})
    assert r.status == 201 and r.headers["Access-Control-Allow-Origin"] == GOOD
    r = await swift("PATCH", f"{URL}/c/o", token=tok, headers={"Origin": GOOD})
    assert (r.status, r.headers["Allow"]) == (405, METHODS)
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_strict_mode_published(swift: SwiftHTTP) -> None:
    r = await swift("GET", "/info")
    assert r.status == 200 and b'"strict_cors_mode": true' in r.body


async def test_proxy_wide_options(make_cluster: ClusterFactory) -> None:
    """``[proxy] cors_allow_origin``, ``cors_expose_headers``, ``strict_cors_mode`` (Swift's)."""
    cluster = await make_cluster(proxy=False)
    cluster.config.proxy.cors_allow_origin = "http://everywhere.example, http://also.example"
    cluster.config.proxy.cors_expose_headers = "X-Extra"
    cluster.config.proxy.strict_cors_mode = False
    await start_proxy(cluster)
    async with aiohttp.ClientSession() as session:
        swift = SwiftHTTP(session, cluster.url)
        tok = cluster.token("cors")
        assert (await swift("PUT", f"{URL}/plain", token=tok)).status == 201
        asked = {"Origin": "http://also.example", "Access-Control-Request-Method": "GET"}
        r = await swift("OPTIONS", f"{URL}/plain/o", headers=asked)
        assert (r.status, r.headers["Access-Control-Allow-Origin"]) == (200, "http://also.example")
        r = await swift("OPTIONS", f"{URL}/plain/o", headers={**asked, "Origin": "http://x"})
        assert r.status == 401  # a preflight is checked whatever the mode
        # Not strict: any origin's actual request is stamped, with the operator's headers.
        r = await swift("HEAD", f"{URL}/plain", token=tok, headers={"Origin": "http://x"})
        assert r.headers["Access-Control-Allow-Origin"] == "http://x"
        assert exposed(r.headers["Access-Control-Expose-Headers"]) == SWIFT_EXPOSED | {"x-extra"}
        r = await swift("GET", "/info")
        assert b'"strict_cors_mode": false' in r.body
