"""stratus.http.errors and requestid: ids per request, error bodies, no tracebacks."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from stratus.http import requestid
from stratus.http.errors import error_middleware
from stratus.http.requestid import IdStyle
from tests.helpers.net import serve_app

SEEN: web.AppKey[list[str | None]] = web.AppKey("seen", list)
SWIFTISH = IdStyle(("X-Trans-Id", "X-Openstack-Request-Id"), lambda request: "tx-fixed")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Broken(Exception):
    """Raised through untouched (``passthrough``)."""


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    if isinstance(exc, Refused):
        return web.json_response({"error": str(exc)}, status=exc.status)
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        return web.json_response({"error": exc.reason}, status=exc.status)
    return None


def _crash(request: web.Request) -> web.StreamResponse:
    return web.json_response({"error": "internal"}, status=500)


def _app(ids: IdStyle = requestid.OPENSTACK) -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        request.app[SEEN].append(requestid.current())
        logging.getLogger("tests.handler").warning("serving")
        return web.json_response({"id": request[requestid.REQUEST_ID]})

    async def refused(request: web.Request) -> web.Response:
        raise Refused(409, "in use")

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals /etc/passwd")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/ok")

    async def broken(request: web.Request) -> web.Response:
        raise Broken()

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"streamed")
        return resp

    app = web.Application(
        middlewares=[error_middleware(_answer, _crash, ids=ids, passthrough=(Broken,))]
    )
    app.on_response_prepare.append(requestid.stamp)
    app[SEEN] = []
    app.router.add_get("/ok", ok)
    app.router.add_get("/refused", refused)
    app.router.add_get("/crash", crash)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/broken", broken)
    app.router.add_get("/stream", stream)
    return app


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, web.Application, aiohttp.ClientSession]]:
    app = _app()
    async with serve_app(app) as url, aiohttp.ClientSession() as session:
        yield url, app, session


RID = re.compile(r"^req-[0-9a-f-]{36}$")


async def test_each_request_gets_its_own_id_in_context_and_on_the_answer(served) -> None:
    url, app, session = served
    ids = []
    for _ in range(2):
        async with session.get(f"{url}/ok") as r:
            assert r.status == 200
            rid = r.headers["X-Openstack-Request-Id"]
            assert RID.match(rid) and (await r.json())["id"] == rid
            ids.append(rid)
    assert ids[0] != ids[1]
    assert app[SEEN] == ids  # the handler saw its own id in the context variable


async def test_known_errors_get_the_protocol_body_and_the_id(served) -> None:
    url, _, session = served
    async with session.get(f"{url}/refused") as r:
        assert r.status == 409 and await r.json() == {"error": "in use"}
        assert RID.match(r.headers["X-Openstack-Request-Id"])
    async with session.get(f"{url}/nowhere") as r:  # aiohttp's own 404, answered by us
        assert r.status == 404 and await r.json() == {"error": "Not Found"}
        assert "X-Openstack-Request-Id" in r.headers


async def test_a_crash_is_a_500_body_logged_with_the_id_and_no_traceback(
    served, caplog: pytest.LogCaptureFixture
) -> None:
    url, _, session = served
    with caplog.at_level(logging.ERROR, logger="stratus.http"):
        async with session.get(f"{url}/crash") as r:
            text = await r.text()
            rid = r.headers["X-Openstack-Request-Id"]
    assert r.status == 500 and text == '{"error": "internal"}'
    assert "secret" not in text and "Traceback" not in text
    (record,) = [rec for rec in caplog.records if rec.name == "stratus.http"]
    assert rid in record.getMessage() and record.exc_info is not None


async def test_raised_http_answers_and_streams_carry_the_id(served) -> None:
    url, _, session = served
    async with session.get(f"{url}/redirect", allow_redirects=False) as r:
        assert r.status == 303 and RID.match(r.headers["X-Openstack-Request-Id"])
    async with session.get(f"{url}/stream") as r:
        assert await r.read() == b"streamed"
        assert RID.match(r.headers["X-Openstack-Request-Id"])


async def test_passthrough_exceptions_are_not_answered(served) -> None:
    url, _, session = served
    async with session.get(f"{url}/broken") as r:  # aiohttp's own 500, not our body
        assert r.status == 500 and "internal" not in await r.text()


async def test_a_style_names_the_headers_and_makes_the_ids() -> None:
    async with serve_app(_app(SWIFTISH)) as url, aiohttp.ClientSession() as session:
        async with session.get(f"{url}/ok") as r:
            assert r.headers["X-Trans-Id"] == r.headers["X-Openstack-Request-Id"] == "tx-fixed"
        async with session.get(f"{url}/refused") as r:
            assert r.headers["X-Trans-Id"] == "tx-fixed"


def test_the_log_filter_puts_the_id_or_a_dash_on_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    requestid.LogFilter().filter(record)
    assert record.request_id == "-"
    token = requestid.CURRENT.set("req-1")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        requestid.LogFilter().filter(record)
    finally:
        requestid.CURRENT.reset(token)
    assert record.request_id == "req-1"
