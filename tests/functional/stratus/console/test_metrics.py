"""The web console's /metrics: its pages' requests by route and status (counts only)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from stratus import config
from stratus.console.app import make_app
from stratus.identity import IdentityStore
from tests.helpers.metrics import scrape, value
from tests.helpers.net import serve_app


async def test_console_pages_are_counted(tmp_path: Path) -> None:
    cfg = config.Config()
    cfg.data.dir = str(tmp_path)
    identity = IdentityStore(tmp_path / "identity")
    try:
        async with serve_app(make_app(cfg, identity)) as url, aiohttp.ClientSession() as s:
            async with s.get(f"{url}/login") as r:
                assert r.status == 200
            got = await scrape(url)
    finally:
        identity.close()
    labels = {"api": "console", "operation": "GET /login", "status": "200"}
    assert value(got, "stratus_http_requests_total", **labels) == 1
    assert value(got, "stratus_http_response_bytes_total", operation="GET /login") > 0
