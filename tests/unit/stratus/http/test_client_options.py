"""stratus.http.client options the console needs: a bounded error read, paths sent as given."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from stratus.http.client import HttpError, JsonClient
from tests.helpers.net import serve_app


def _app() -> web.Application:
    async def raw(request: web.Request) -> web.Response:
        return web.json_response({"raw": request.raw_path})

    async def big_fault(request: web.Request) -> web.Response:
        return web.Response(status=500, body=b"x" * 100_000)

    app = web.Application()
    app.router.add_get("/raw/{tail:.*}", raw)
    app.router.add_get("/big-fault", big_fault)
    return app


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with serve_app(_app()) as base:
        yield base


async def test_an_error_body_is_read_up_to_the_limit(url: str) -> None:
    async with JsonClient(url, error_body_limit=300) as api:
        with pytest.raises(HttpError) as caught:
            await api.send("GET", "/big-fault")
    assert caught.value.status == 500 and caught.value.body == b"x" * 300
    async with JsonClient(url) as api:
        with pytest.raises(HttpError) as caught:
            await api.send("GET", "/big-fault")
    assert len(caught.value.body) == 100_000


async def test_encoded_paths_go_out_byte_for_byte(url: str) -> None:
    """A signed request's canonical path and query must not be re-quoted on the way."""
    path = "/raw/a%7Eb%2Fc?k=%2B%7E"
    async with JsonClient(url, encoded=True) as api:
        assert (await api.request("GET", path))["raw"] == path
    async with JsonClient(url) as api:  # the default lets yarl normalise (%7E is "~")
        assert (await api.request("GET", path))["raw"] != path


async def test_errors_can_map_to_a_callers_exception(url: str) -> None:
    class PageError(HttpError):
        pass

    def errors(resp: aiohttp.ClientResponse, body: bytes) -> PageError:
        return PageError(f"page: {resp.status}", resp.status)

    async with JsonClient(url, errors=errors, error_body_limit=10) as api:
        with pytest.raises(PageError) as caught:
            await api.send("GET", "/big-fault")
    assert str(caught.value) == "page: 500" and caught.value.body == b"x" * 10
