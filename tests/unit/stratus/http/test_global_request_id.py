"""The caller's request id (OpenStack's global request id): kept only in its exact form.

A service called by another receives the caller's id in
``X-Openstack-Request-Id``; a ``req-<uuid>`` is logged beside the local id
and passed on to the services this request calls; anything else is dropped,
never logged or echoed.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web

from stratus.http import requestid
from stratus.http.client import JsonClient
from stratus.http.errors import error_middleware
from stratus.logs import setup_logging
from tests.helpers.net import serve_app

CALLER = "req-" + str(uuid.uuid4())
SEEN: web.AppKey[list[dict[str, str | None]]] = web.AppKey("seen", list)
UPSTREAM: web.AppKey[str] = web.AppKey("upstream", str)
# Fixed UUIDs: the values are the test ids, which every pytest-xdist worker must collect alike.
NOT_IDS = [
    "req-0F81261F-864B-4E7B-AFC4-8C7024A44567",  # oslo.context accepts lower-case hex only
    "req-17e95510-d7b5-4b26-9545-3ce2eecc247dx",
    "req-f49dd4a7-586b-4589-91d1-6e8fa6d637d4\nINFO forged line",
    "4ab2740b-fc46-4f35-bf9e-690ccba6ad02",
    "tx0123456789abcdef01234-0123456789",
    "<script>alert(1)</script>",
    "req-" + "a" * 200,
]


def _apps() -> tuple[web.Application, web.Application]:
    """A service that logs and calls another one (which records what it was sent)."""

    async def called(request: web.Request) -> web.Response:
        request.app[SEEN].append(
            {
                "sent": request.headers.get("X-Openstack-Request-Id"),
                "global": requestid.GLOBAL.get(),
            }
        )
        return web.json_response({})

    async def serve(request: web.Request) -> web.Response:
        logging.getLogger("tests.service").warning("serving")
        request.app[SEEN].append({"local": requestid.current(), "global": requestid.GLOBAL.get()})
        async with JsonClient(request.app[UPSTREAM]) as api:
            await api.request("GET", "/called")
        return web.json_response({})

    def make() -> web.Application:
        app = web.Application(
            middlewares=[error_middleware(lambda r, e: None, lambda r: web.Response(status=500))]
        )
        app[SEEN] = []
        app.router.add_get("/serve", serve)
        app.router.add_get("/called", called)
        return app

    return make(), make()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    setup_logging("info", stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def services() -> AsyncIterator[tuple[str, web.Application, web.Application]]:
    front, back = _apps()
    async with serve_app(back) as back_url:
        front[UPSTREAM] = back_url
        async with serve_app(front) as front_url:
            yield front_url, front, back


async def test_a_callers_id_is_logged_beside_ours_and_passed_on(
    services: tuple[str, web.Application, web.Application], log_lines: io.StringIO
) -> None:
    url, front, back = services
    headers = {"X-Openstack-Request-Id": CALLER}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/serve", headers=headers) as r,
    ):
        assert r.status == 200
        answered = r.headers["X-Openstack-Request-Id"]
    (seen,) = front[SEEN]
    assert seen == {"local": answered, "global": CALLER}
    assert answered != CALLER  # the answer names our own id, as OpenStack services do
    (line,) = [x for x in log_lines.getvalue().splitlines() if x.endswith(": serving")]
    assert line.endswith(f"] {answered} (global {CALLER}): serving")
    # The service called next gets the global id, and records it as its global id too.
    assert back[SEEN] == [{"sent": CALLER, "global": CALLER}]


async def test_without_a_caller_our_own_id_is_passed_on(
    services: tuple[str, web.Application, web.Application], log_lines: io.StringIO
) -> None:
    url, front, back = services
    async with aiohttp.ClientSession() as session, session.get(f"{url}/serve") as r:
        answered = r.headers["X-Openstack-Request-Id"]
    assert front[SEEN] == [{"local": answered, "global": None}]
    assert back[SEEN] == [{"sent": answered, "global": answered}]
    (line,) = [x for x in log_lines.getvalue().splitlines() if x.endswith(": serving")]
    assert line.endswith(f"] {answered}: serving")


@pytest.mark.parametrize("value", NOT_IDS)
async def test_anything_but_a_req_uuid_is_ignored(
    value: str, services: tuple[str, web.Application, web.Application], log_lines: io.StringIO
) -> None:
    url, front, back = services
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{url}/serve", headers={"X-Openstack-Request-Id": value.replace("\n", " ")}
        ) as r,
    ):
        answered = r.headers["X-Openstack-Request-Id"]
        assert r.status == 200
    assert front[SEEN] == [{"local": answered, "global": None}]
    assert back[SEEN] == [{"sent": answered, "global": answered}]
    logged = log_lines.getvalue()
    assert value.replace("\n", " ") not in logged
    (line,) = [x for x in logged.splitlines() if x.endswith(": serving")]
    assert line.endswith(f"] {answered}: serving")


def test_only_the_exact_form_is_a_global_id() -> None:
    assert requestid.GLOBAL_FORM.fullmatch(CALLER)
    for value in NOT_IDS:
        assert not requestid.GLOBAL_FORM.fullmatch(value), value
