"""The volume service's /metrics: API requests, volumes and attachments by status, iSCSI
sessions, and I/O per LUN that grows with real reads and writes through the built-in target."""

from __future__ import annotations

from pathlib import Path

from blockstore import service
from blockstore.client import VolumeClient
from stratus.config import Config
from stratus.identity import IdentityStore
from tests.functional.blockstore.iscsi.initiator import session
from tests.helpers.metrics import scrape, value
from tests.helpers.net import free_port

HOST = "iqn.2024-01.org.stratus.test:metrics-host"
BLOCK = 512


async def test_volume_metrics_follow_the_api_and_the_target(tmp_path: Path) -> None:
    cfg = Config()
    cfg.data.dir = str(tmp_path)
    cfg.volume.port, cfg.iscsi.port = free_port(), free_port()
    cfg.validate()
    identity = IdentityStore(tmp_path / "identity")
    identity.create_project("tenant-alpha")
    identity.create_user("tenant-alpha", "alice", role="member")
    token = identity.issue_token("tenant-alpha", "alice", 3600)[0]
    identity.close()
    async with service.running(cfg) as svc:
        base = f"http://127.0.0.1:{svc.port}"
        async with VolumeClient(base, token, "tenant-alpha") as c:
            vol = await c.wait_volume((await c.create_volume(1))["id"])
            got = await scrape(base)
            n = "stratus_http_requests_total"
            op = "POST /v3/{project_id}/volumes"
            assert value(got, n, api="volume", operation=op, status="202") == 1
            assert value(got, "stratus_volumes", status="available") == 1
            assert value(got, "stratus_volumes", status="in-use") == 0  # known states are listed
            assert value(got, "stratus_iscsi_sessions", type="normal") == 0

            att = await c.attach(vol["id"], HOST)
            d = att["connection_info"]["data"]
            lun = {"target": d["target_iqn"], "lun": str(d["target_lun"])}
            host, port = d["target_portal"].rsplit(":", 1)
            chap = (d["auth_username"], d["auth_password"])
            async with session(host, int(port), d["target_iqn"], name=HOST, chap=chap) as ini:
                before = await scrape(base)
                assert value(before, "stratus_volumes", status="in-use") == 1
                assert value(before, "stratus_volume_attachments", status="attached") == 1
                assert value(before, "stratus_iscsi_sessions", type="normal") == 1
                lun_id = int(d["target_lun"])
                assert (await ini.write16(8, b"w" * 8 * BLOCK, lun=lun_id)).status == 0
                assert (await ini.write16(64, b"v" * BLOCK, lun=lun_id)).status == 0
                reply = await ini.read16(8, 8, lun=lun_id)
                assert reply.status == 0 and reply.data == b"w" * 8 * BLOCK
                after = await scrape(base)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("stratus_iscsi_lun_bytes_total", **lun, op="write") == 9 * BLOCK
    assert moved("stratus_iscsi_lun_bytes_total", **lun, op="read") == 8 * BLOCK
    assert moved("stratus_iscsi_lun_operations_total", **lun, op="write") == 2
    assert moved("stratus_iscsi_lun_operations_total", **lun, op="read") == 1
    assert "tenant-alpha" not in str(after)  # no project name in any label
