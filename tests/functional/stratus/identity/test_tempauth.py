"""GET /auth/v1.0 on a real aiohttp server on loopback, driven by a real client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.identity import IdentityStore
from stratus.identity.tempauth import make_auth_handler
from tests.helpers.net import serve_app
from tests.unit.stratus.identity.conftest import FakeClock

LIFETIME = 3600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[IdentityStore]:
    s = IdentityStore(tmp_path / "identity", clock=clock)
    s.create_project("p")
    s.create_user("p", "amy", key="amy-key", role="admin")
    s.create_user("p", "rob", key="rob-key", role="reader")
    yield s
    s.close()


def tempauth(store: IdentityStore, **kw: Any) -> web.Application:
    """The handler mounted as the proxy mounts it (both paths)."""
    handler = make_auth_handler(store, LIFETIME, **kw)
    app = web.Application()
    app.router.add_route("*", "/auth/v1.0", handler)
    app.router.add_route("*", "/auth/v1.0/", handler)
    return app


@pytest.fixture
async def base(store: IdentityStore) -> AsyncIterator[str]:
    async with serve_app(tempauth(store)) as url:
        yield url


async def get(
    url: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, CIMultiDict[str], str]:
    """(status, headers as a case-insensitive map, body text)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers) as resp,
    ):
        return resp.status, CIMultiDict(resp.headers), await resp.text()


async def test_good_login(base: str, store: IdentityStore) -> None:
    status, headers, body = await get(
        f"{base}/auth/v1.0", {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    )
    assert status == 200
    token = headers["X-Auth-Token"]
    assert token.startswith("AUTH_tk") and headers["X-Storage-Token"] == token
    assert headers["X-Storage-Url"] == f"{base}/v1/AUTH_p"
    assert headers["X-Auth-Token-Expires"] == str(LIFETIME)
    assert headers["Cache-Control"] == "no-store"
    assert json.loads(body) == {"storage": {"default": "local", "local": f"{base}/v1/AUTH_p"}}
    principal = store.authenticate_token(token)
    assert principal is not None
    assert (principal.name, principal.roles) == ("p:amy", ("admin",))


async def test_storage_variant_and_trailing_slash(base: str, store: IdentityStore) -> None:
    status, headers, _ = await get(
        f"{base}/auth/v1.0/", {"X-Storage-User": "p:rob", "X-Storage-Pass": "rob-key"}
    )
    assert status == 200
    principal = store.authenticate_token(headers["X-Storage-Token"])
    assert principal is not None and principal.roles == ("reader",)


async def test_wrong_key_unknown_user_unknown_project_are_401(
    base: str, store: IdentityStore
) -> None:
    for user, key in (("p:amy", "rob-key"), ("p:nobody", "amy-key"), ("q:amy", "amy-key")):
        status, headers, body = await get(
            f"{base}/auth/v1.0", {"X-Auth-User": user, "X-Auth-Key": key}
        )
        assert status == 401, user
        assert "<h1>Unauthorized</h1>" in body
        assert headers["Www-Authenticate"] == f'Swift realm="{user.split(":")[0]}"'
        assert "X-Auth-Token" not in headers and "X-Storage-Url" not in headers
    assert store.count_tokens() == 0


@pytest.mark.parametrize(
    "headers,realm",
    [
        ({}, "unknown"),
        ({"X-Auth-User": "p:amy"}, "p"),
        ({"X-Auth-Key": "amy-key"}, "unknown"),
        ({"X-Auth-User": "amy", "X-Auth-Key": "amy-key"}, "unknown"),
        ({"X-Auth-User": "p:amy:x", "X-Auth-Key": "amy-key"}, "p"),
        ({"X-Auth-User": "p/q:amy", "X-Auth-Key": "amy-key"}, "p/q"),
        ({"X-Auth-User": ":amy", "X-Auth-Key": "amy-key"}, "unknown"),
        ({"X-Auth-User": 'p"x:amy', "X-Auth-Key": "amy-key"}, "unknown"),
    ],
)
async def test_missing_or_malformed_is_tempauths_401(
    base: str, headers: dict[str, str], realm: str
) -> None:
    """As Swift's tempauth: 401, challenged with the account before the colon."""
    status, resp_headers, body = await get(f"{base}/auth/v1.0", headers)
    assert status == 401
    assert resp_headers["Www-Authenticate"] == f'Swift realm="{realm}"'
    assert resp_headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "<h1>Unauthorized</h1>" in body
    assert "X-Auth-Token" not in resp_headers


async def test_head_and_other_methods(base: str) -> None:
    creds = {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    status, headers, body = await get(f"{base}/auth/v1.0", creds, method="HEAD")
    assert status == 200 and headers["X-Auth-Token"].startswith("AUTH_tk") and body == ""
    status, headers, _ = await get(f"{base}/auth/v1.0", creds, method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


async def test_expired_token_is_rejected_and_reaped(
    base: str, store: IdentityStore, clock: FakeClock
) -> None:
    creds = {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    _, headers, _ = await get(f"{base}/auth/v1.0", creds)
    old = headers["X-Auth-Token"]
    clock.advance(LIFETIME - 1)
    assert store.authenticate_token(old) is not None
    clock.advance(1)
    assert store.authenticate_token(old) is None
    status, headers, _ = await get(f"{base}/auth/v1.0", creds)
    assert status == 200 and headers["X-Auth-Token"] != old
    assert headers["X-Auth-Token-Expires"] == str(LIFETIME)
    assert store.count_tokens() == 1  # the expired one went with this login


async def test_storage_url_from_host_header_or_configured_base(store: IdentityStore) -> None:
    creds = {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    async with serve_app(tempauth(store)) as url:
        _, headers, _ = await get(f"{url}/auth/v1.0", {**creds, "Host": "swift.example:8080"})
        assert headers["X-Storage-Url"] == "http://swift.example:8080/v1/AUTH_p"
    async with serve_app(tempauth(store, storage_url_base="https://cloud.example/")) as url:
        _, headers, _ = await get(f"{url}/auth/v1.0", creds)
        assert headers["X-Storage-Url"] == "https://cloud.example/v1/AUTH_p"


async def test_parallel_logins_all_succeed(base: str, store: IdentityStore) -> None:
    creds = {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    results = await asyncio.gather(*(get(f"{base}/auth/v1.0", creds) for _ in range(6)))
    tokens = {headers["X-Auth-Token"] for status, headers, _ in results if status == 200}
    assert len(tokens) == 6
    assert all(store.authenticate_token(t) is not None for t in tokens)


async def test_keys_and_tokens_are_never_logged(
    base: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, headers, _ = await get(
        f"{base}/auth/v1.0", {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    )
    await get(f"{base}/auth/v1.0", {"X-Auth-User": "p:amy", "X-Auth-Key": "guess-key"})
    text = caplog.text
    assert "auth granted to p:amy" in text and "auth refused for p:amy" in text
    for secret in ("amy-key", "guess-key", headers["X-Auth-Token"]):
        assert secret not in text


async def test_failed_logins_from_one_address_are_limited(
    store: IdentityStore, clock: FakeClock
) -> None:
    limiter = FailureLimiter(AuthLimits(burst=3, per_minute=6), clock=clock)
    wrong = {"X-Auth-User": "p:amy", "X-Auth-Key": "guess-key"}
    right = {"X-Auth-User": "p:amy", "X-Auth-Key": "amy-key"}
    async with serve_app(tempauth(store, limiter=limiter)) as url:
        for _ in range(3):
            assert (await get(f"{url}/auth/v1.0", wrong))[0] == 401
        status, headers, body = await get(f"{url}/auth/v1.0", wrong)
        assert status == 429 and headers["Retry-After"] == "10" and "Too Many" in body
        # refused before any check: the right key does not get through either, for now
        status, headers, _ = await get(f"{url}/auth/v1.0", right)
        assert status == 429 and "X-Auth-Token" not in headers
        clock.advance(10)  # one failure earned back
        assert (await get(f"{url}/auth/v1.0", right))[0] == 200  # and refunded: still one left
        assert (await get(f"{url}/auth/v1.0", wrong))[0] == 401
        assert (await get(f"{url}/auth/v1.0", wrong))[0] == 429


async def test_a_concurrent_flood_gets_only_its_burst_of_key_checks(
    store: IdentityStore, clock: FakeClock
) -> None:
    limiter = FailureLimiter(AuthLimits(burst=4, per_minute=1), clock=clock)
    wrong = {"X-Auth-User": "p:amy", "X-Auth-Key": "guess-key"}
    async with serve_app(tempauth(store, limiter=limiter)) as url:
        results = await asyncio.gather(*(get(f"{url}/auth/v1.0", wrong) for _ in range(30)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [401] * 4 + [429] * 26


async def test_a_flood_of_failing_key_checks_leaves_the_loop_free(store: IdentityStore) -> None:
    """scrypt runs in worker threads: other requests are answered while a flood is checked."""
    handler = make_auth_handler(store, LIFETIME, limiter=FailureLimiter(AuthLimits(burst=0)))

    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/auth/v1.0", handler)
    app.router.add_get("/ping", ping)
    wrong = {"X-Auth-User": "p:amy", "X-Auth-Key": "guess-key"}
    async with serve_app(app) as url:
        flood = [asyncio.create_task(get(f"{url}/auth/v1.0", wrong)) for _ in range(40)]
        await asyncio.sleep(0.2)  # the flood is being checked, two at a time
        status, _, body = await get(f"{url}/ping", {})
        assert status == 200 and body == "pong"
        assert sum(not t.done() for t in flood) > 10  # answered in the middle of the flood
        assert {s for s, _, _ in await asyncio.gather(*flood)} == {401}
