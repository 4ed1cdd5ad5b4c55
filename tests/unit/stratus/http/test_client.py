"""stratus.http.client: the JSON client base, against a real aiohttp server on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from stratus.http import requestid
from stratus.http.client import HttpError, JsonClient
from tests.helpers.net import serve_app

SEEN: web.AppKey[list[dict[str, str]]] = web.AppKey("seen", list)


def _app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        request.app[SEEN].append(dict(request.headers))
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": json.loads(body) if body else None,
            },
            headers={"X-Openstack-Request-Id": "req-answer"},
        )

    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def fault(request: web.Request) -> web.Response:
        return web.json_response(
            {"itemNotFound": {"message": "no such thing", "code": 404}},
            status=404,
            headers={"X-Openstack-Request-Id": "req-failed"},
        )

    async def swift_fault(request: web.Request) -> web.Response:
        return web.Response(status=409, text="<html>Conflict</html>", headers={"X-Trans-Id": "tx1"})

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=304)

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for i in range(3):
            await resp.write(f"chunk{i};".encode())
        await resp.write_eof()
        return resp

    app = web.Application()
    app[SEEN] = []
    app.router.add_route("*", "/api/echo", echo)
    app.router.add_get("/api/empty", empty)
    app.router.add_get("/api/fault", fault)
    app.router.add_get("/api/swift-fault", swift_fault)
    app.router.add_get("/api/moved", moved)
    app.router.add_get("/api/stream", stream)
    return app


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    app = _app()
    async with serve_app(app) as url:
        yield url + "/api", app


async def test_json_in_and_out_with_the_token_and_no_none_params(server) -> None:
    url, app = server
    async with JsonClient(url, "tok") as api:
        got = await api.request("POST", "/echo", {"a": 1}, params={"x": 2, "y": None})
    assert got == {"method": "POST", "path": "/api/echo", "query": {"x": "2"}, "body": {"a": 1}}
    sent = app[SEEN][-1]
    assert sent["X-Auth-Token"] == "tok"
    assert sent["Content-Type"] == "application/json"
    assert sent["Accept"] == "application/json"


async def test_an_empty_answer_is_none(server) -> None:
    url, _ = server
    async with JsonClient(url) as api:
        assert await api.request("GET", "/empty") is None


async def test_an_error_is_typed_with_status_body_and_request_id(server) -> None:
    url, _ = server
    async with JsonClient(url, "tok") as api:
        with pytest.raises(HttpError) as caught:
            await api.request("GET", "/fault")
    exc = caught.value
    assert exc.status == 404
    assert json.loads(exc.body)["itemNotFound"]["message"] == "no such thing"
    assert exc.request_id == "req-failed"
    assert "GET /api/fault: HTTP 404" in str(exc)


async def test_the_client_maps_errors_to_its_own_exception(server) -> None:
    class Mine(HttpError):
        def __init__(self, status: int, fault: str) -> None:
            super().__init__(fault, status)
            self.fault = fault

    def errors(resp: aiohttp.ClientResponse, body: bytes) -> Exception:
        ((fault, _),) = json.loads(body).items()
        return Mine(resp.status, fault)

    url, _ = server
    async with JsonClient(url, errors=errors) as api:
        with pytest.raises(Mine) as caught:
            await api.request("GET", "/fault")
    assert (caught.value.status, caught.value.fault) == (404, "itemNotFound")
    assert caught.value.request_id == "req-failed"


async def test_error_status_sets_where_errors_start(server) -> None:
    url, _ = server
    async with JsonClient(url) as api:
        assert (await api.send("GET", "/moved")).status == 304
    async with JsonClient(url, error_status=300) as api:
        with pytest.raises(HttpError) as caught:
            await api.send("GET", "/moved")
        assert caught.value.status == 304
        with pytest.raises(HttpError) as caught:
            await api.send("GET", "/swift-fault")
    assert caught.value.status == 409 and caught.value.request_id == "tx1"
    assert caught.value.body == b"<html>Conflict</html>"


async def test_the_current_request_id_is_passed_on(server) -> None:
    url, app = server
    async with JsonClient(url) as api:
        await api.request("GET", "/echo")
        assert "X-Openstack-Request-Id" not in app[SEEN][-1]
        token = requestid.CURRENT.set("req-upstream")
        try:
            await api.request("GET", "/echo")
        finally:
            requestid.CURRENT.reset(token)
    assert app[SEEN][-1]["X-Openstack-Request-Id"] == "req-upstream"


async def test_open_streams_and_raises_before_yielding(server) -> None:
    url, _ = server
    async with JsonClient(url) as api:
        async with api.open("GET", "/stream") as resp:
            assert await resp.read() == b"chunk0;chunk1;chunk2;"
        with pytest.raises(HttpError):
            async with api.open("GET", "/fault"):
                pytest.fail("an error answer must not be yielded")


async def test_its_own_session_is_closed_and_a_given_one_is_not(server) -> None:
    url, _ = server
    own = JsonClient(url)
    await own.close()
    assert own.session.closed
    async with aiohttp.ClientSession() as session:
        async with JsonClient(url, session=session) as api:
            await api.request("GET", "/echo")
        assert not session.closed
