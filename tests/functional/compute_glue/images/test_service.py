"""The image service as `stratus image` runs it: its HTTP limits on slow and greedy clients.

The compute service is served by the same `stratus.http.server.serving`."""

from __future__ import annotations

from pathlib import Path

from compute_glue.images import service
from stratus.config import Config
from tests.helpers import slowclient
from tests.helpers.net import free_port


async def test_image_api_cuts_off_half_headers_and_surplus_connections(tmp_path: Path) -> None:
    cfg = Config()
    cfg.data.dir = str(tmp_path)
    cfg.image.port = free_port()
    cfg.image.object_store_url = f"http://127.0.0.1:{free_port()}"  # never reached here
    cfg.http.header_timeout, cfg.http.max_connections = 1.0, 2
    cfg.validate()
    async with service.running(cfg) as svc:
        closed, after = await slowclient.half_header("127.0.0.1", svc.port, wait=10.0)
        assert closed and after < 5.0
        hogs = await slowclient.idle_connections("127.0.0.1", svc.port, 2)
        try:
            answer = await slowclient.refused("127.0.0.1", svc.port)
            assert answer is not None and answer.startswith(b"HTTP/1.1 503")
        finally:
            for w in hogs:
                w.close()
