"""Every route of the console that changes something, read from its router: CSRF and roles.

No route is listed by hand, so a new form handler that forgets ``@page`` or the
CSRF check fails here. The refusals come before any API is called, so the
console runs alone (no storage, volume or compute service behind it). Also the
session cookie's flags over real TLS (``Secure``), since the e2e cloud serves
plain HTTP.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from stratus import config
from stratus.console.app import make_app
from stratus.identity import IdentityStore
from tests.helpers.net import free_port, self_signed_cert, serve_app

SAFE = ("GET", "HEAD", "OPTIONS")
# What a reader may change: its own session, and share links (signed with its own key).
READER_CHANGES = {"/logout", "/objects/c/{container}/share", "/login"}
UUID = "0b7c51a4-6f0e-4bd5-9d63-5c7a4c1f2e10"
KEYS = {"admin": "admin-key-0123456789ab", "viewer": "viewer-key-0123456789ab"}


def changes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route that is not a plain read."""
    out = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if route.method not in SAFE and route.method != "*" and template:
            out.append((route.method, template))
    return sorted(set(out))


def concrete(template: str) -> str:
    """The template with every ``{name}`` filled (ids as UUIDs, actions as ``stop``)."""
    return re.sub(r"\{(\w+)\}", lambda m: "stop" if m.group(1) == "action" else UUID, template)


def identity(tmp_path: Path) -> IdentityStore:
    store = IdentityStore(tmp_path / "identity")
    store.create_project("admin")
    store.create_user("admin", "admin", role="admin", key=KEYS["admin"])
    store.create_user("admin", "viewer", role="reader", key=KEYS["viewer"])
    return store


async def log_in(http: aiohttp.ClientSession, url: str, user: str) -> str:
    """Log ``admin:USER`` in through the form; the session's CSRF token."""
    async with http.get(f"{url}/login") as r:
        form = await r.text()
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    data = {"name": f"admin:{user}", "secret": KEYS[user], "csrf": token.group(1)}
    async with http.post(f"{url}/login", data=data, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    async with http.get(f"{url}/objects", allow_redirects=False) as r:
        # The page itself needs the object store; its CSRF token is in the 502 page too.
        page = await r.text()
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


@asynccontextmanager
async def console(tmp_path: Path) -> AsyncIterator[tuple[web.Application, str]]:
    cfg = config.Config()
    cfg.data.dir = str(tmp_path)
    store = identity(tmp_path)
    app = make_app(cfg, store)
    try:
        async with serve_app(app) as url:
            yield app, url
    finally:
        store.close()


def test_the_console_has_changes_to_guard(tmp_path: Path) -> None:
    """The walk below sees the sections' forms (it would pass vacuously on an empty list)."""
    store = identity(tmp_path)
    try:
        found = dict.fromkeys(t for _, t in changes(make_app(config.Config(), store)))
    finally:
        store.close()
    for expected in (
        "/objects",
        "/objects/c/{container}/upload",
        "/objects/c/{container}/delete",
        "/volumes/v/{volume_id}/backup",
        "/compute/servers/{server_id}/{action}",
        "/compute/images/{image_id}/file",
    ):
        assert expected in found, expected
    assert len(found) >= 30


async def test_every_change_needs_the_csrf_token_and_the_same_origin(tmp_path: Path) -> None:
    async with console(tmp_path) as (app, url):
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            csrf = await log_in(http, url, "admin")
            for method, template in changes(app):
                if template in ("/login",):
                    continue
                path = concrete(template)
                form = {"name": "x", "path": "x"}
                async with http.request(method, url + path, data=form) as r:
                    assert r.status == 403, (method, template, r.status)
                    assert "CSRF" in await r.text(), (method, template)
                cross = {"Origin": "http://evil.example", "X-CSRF-Token": csrf}
                async with http.request(method, url + path, data=form, headers=cross) as r:
                    assert r.status == 403, (method, template, "cross-site")
                site = {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": csrf}
                async with http.request(method, url + path, data=form, headers=site) as r:
                    assert r.status == 403, (method, template, "Sec-Fetch-Site")
        # With no session at all: 401, never a page or a redirect into a change.
        async with aiohttp.ClientSession() as anon:
            for method, template in changes(app):
                if template == "/login":
                    continue
                async with anon.request(
                    method, url + concrete(template), allow_redirects=False
                ) as r:
                    assert r.status == 401, (method, template, r.status)


async def test_every_change_a_reader_sends_is_refused_by_its_role(tmp_path: Path) -> None:
    """A reader holding a valid CSRF token (a forged request from its own browser): 403."""
    async with console(tmp_path) as (app, url):
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            csrf = await log_in(http, url, "viewer")
            refused = 0
            for method, template in changes(app):
                if template in READER_CHANGES:
                    continue
                headers = {"X-CSRF-Token": csrf}
                async with http.request(
                    method, url + concrete(template), data={"name": "x"}, headers=headers
                ) as r:
                    assert r.status == 403, (method, template, r.status)
                    assert "your role (reader)" in await r.text(), (method, template)
                refused += 1
            assert refused >= 28
            # The cluster page is a read, for cloud admins only.
            async with http.get(f"{url}/cluster") as r:
                assert r.status == 403


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[str, str]:
    cert, key = self_signed_cert(tmp_path)
    return str(cert), str(key)


async def test_over_tls_the_cookies_are_secure(tmp_path: Path, tls_files: tuple[str, str]) -> None:
    from stratus.console.app import tls_context

    cfg = config.Config()
    cfg.data.dir = str(tmp_path)
    cfg.console.tls_cert, cfg.console.tls_key = tls_files
    cfg.console.validate()
    store = identity(tmp_path)
    runner = web.AppRunner(make_app(cfg, store))
    await runner.setup()
    port = free_port()
    server_tls = tls_context(cfg.console)
    assert server_tls is not None
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_tls).start()
    client_tls = ssl.create_default_context(cafile=tls_files[0])
    client_tls.check_hostname = False
    url = f"https://127.0.0.1:{port}"
    try:
        connector = aiohttp.TCPConnector(ssl=client_tls)
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"{url}/login") as r:
                login_cookie = r.headers.getall("Set-Cookie")
                form = await r.text()
            assert any("Secure" in c and "HttpOnly" in c for c in login_cookie), login_cookie
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token
            data = {"name": "admin:admin", "secret": KEYS["admin"], "csrf": token.group(1)}
            cookie = {"Cookie": f"stratus_console_login={token.group(1)}"}
            async with http.post(
                f"{url}/login", data=data, headers=cookie, allow_redirects=False
            ) as r:
                assert r.status == 303
                session = [c for c in r.headers.getall("Set-Cookie") if "stratus_console=" in c]
            assert session, r.headers
            flags = [f.strip().lower() for f in session[0].split(";")]
            assert {"secure", "httponly", "samesite=strict", "path=/"} <= set(flags), flags
    finally:
        await runner.cleanup()
        store.close()
