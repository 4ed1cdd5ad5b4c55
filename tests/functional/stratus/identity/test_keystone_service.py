"""The identity service as `stratus identity` runs it: its HTTP limits on slow and greedy
clients (the login endpoint is what a password-guessing crowd would hold open)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stratus.config import Config
from stratus.identity.keystone import service
from tests.helpers import slowclient
from tests.helpers.net import free_port


async def test_keystone_cuts_off_half_headers_and_surplus_connections(tmp_path: Path) -> None:
    cfg = Config()
    cfg.data.dir = str(tmp_path)
    cfg.identity.port = free_port()
    cfg.http.header_timeout, cfg.http.max_connections = 1.0, 2
    cfg.validate()
    async with service.running(cfg) as port:
        closed, after = await slowclient.half_header("127.0.0.1", port, wait=10.0)
        assert closed and after < 5.0
        hogs = await slowclient.idle_connections("127.0.0.1", port, 2)
        try:
            answer = await slowclient.refused("127.0.0.1", port)
            assert answer is not None and answer.startswith(b"HTTP/1.1 503")
        finally:
            for w in hogs:
                w.close()
        answer = b""
        for _ in range(50):  # the hogs gone, the service answers again
            answer = await slowclient.get("127.0.0.1", port, "/v3")
            if answer.startswith(b"HTTP/1.1 200"):
                break
            await asyncio.sleep(0.05)
        assert answer.startswith(b"HTTP/1.1 200")
