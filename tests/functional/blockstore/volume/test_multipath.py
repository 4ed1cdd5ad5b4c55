"""Multipath: with ``iscsi.extra_portals`` an attachment names every portal of the
target's portal group (os-brick's ``target_portals``), and both paths reach the same
LUN with the attachment's own CHAP credentials."""

from __future__ import annotations

import os
from pathlib import Path

from blockstore.client import VolumeClient
from stratus.identity import IdentityStore
from tests.functional.blockstore.iscsi.initiator import session
from tests.functional.blockstore.volume.test_service_process import start, stop
from tests.helpers.net import free_port

HOST = "iqn.2024-01.org.stratus.test:multipath-host"


async def test_two_portals_two_paths_one_lun(tmp_path: Path) -> None:
    identity = IdentityStore(tmp_path / "data" / "identity")
    identity.create_project("alpha")
    identity.create_user("alpha", "alice", role="member")
    token = identity.issue_token("alpha", "alice", 3600)[0]
    identity.close()
    api_port, port1, port2 = free_port(), free_port(), free_port()
    cfg = tmp_path / "stratus.toml"
    cfg.write_text(
        f'[data]\ndir = "{tmp_path / "data"}"\n'
        f"[volume]\nport = {api_port}\n"
        f'[iscsi]\nport = {port1}\nextra_portals = ["127.0.0.2:{port2}"]\n'
    )
    proc = await start(cfg, api_port, tmp_path / "volume.log")
    try:
        async with VolumeClient(f"http://127.0.0.1:{api_port}", token, "alpha") as c:
            vol = await c.wait_volume((await c.create_volume(1))["id"])
            att = await c.attach(vol["id"], HOST)
            d = att["connection_info"]["data"]
            assert d["target_portal"] == f"127.0.0.1:{port1}"
            assert d["target_portals"] == [f"127.0.0.1:{port1}", f"127.0.0.2:{port2}"]
            assert d["target_iqns"] == [d["target_iqn"]] * 2 and d["target_luns"] == [0, 0]
            chap = (d["auth_username"], d["auth_password"])
            data = os.urandom(4096)
            async with (
                session("127.0.0.1", port1, d["target_iqn"], name=HOST, chap=chap) as one,
                session("127.0.0.2", port2, d["target_iqn"], name=HOST, chap=chap) as two,
            ):
                assert one.keys["TargetPortalGroupTag"] == two.keys["TargetPortalGroupTag"]
                assert (await one.write16(8, data)).status == 0
                got = await two.read16(8, 8)
                assert got.status == 0 and got.data == data
            shown = await c.get_attachment(att["id"])
            assert shown["connection_info"]["data"]["target_portals"] == d["target_portals"]
        assert await stop(proc) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
