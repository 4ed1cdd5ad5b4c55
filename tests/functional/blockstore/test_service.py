"""The volume service as `stratus volume` runs it: its HTTP limits on slow and greedy clients."""

from __future__ import annotations

from pathlib import Path

from blockstore import service
from stratus.config import Config
from tests.helpers import slowclient
from tests.helpers.net import free_port


async def test_volume_api_cuts_off_half_headers_and_surplus_connections(tmp_path: Path) -> None:
    cfg = Config()
    cfg.data.dir = str(tmp_path)
    cfg.volume.port, cfg.iscsi.port = free_port(), free_port()
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
