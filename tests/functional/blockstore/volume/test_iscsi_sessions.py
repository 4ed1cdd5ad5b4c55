"""os-iscsi-sessions: the live sessions per volume, for the cloud admin only.

An initiator logs in to an attachment's target with the attachment's CHAP
credentials; the cloud admin then sees that session (volume, target, initiator,
portal, peer); a project member gets Cinder's 403; after logout it is gone.
"""

from __future__ import annotations

import asyncio

import pytest

from blockstore.client import VolumeApiError
from tests.functional.blockstore.iscsi.initiator import session
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:sessions-host"


async def _sessions(api: Api) -> list[dict]:
    admin = api.client("admin", "admin", role="admin")
    return (await admin.request("GET", "/os-iscsi-sessions"))["sessions"]


async def test_the_cloud_admin_sees_a_volumes_live_sessions(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    data = (await alice.attach(vol["id"], HOST))["connection_info"]["data"]
    host, port = data["target_portal"].rsplit(":", 1)
    assert await _sessions(api) == []
    chap = (data["auth_username"], data["auth_password"])
    async with session(host, int(port), data["target_iqn"], name=HOST, chap=chap) as ini:
        listed = await _sessions(api)
        assert len(listed) == 1, listed
        s = listed[0]
        assert s["volume_id"] == vol["id"]
        assert s["target_iqn"] == data["target_iqn"]
        assert s["initiator"] == HOST
        assert s["portal"] == f"127.0.0.1:{port}"
        local = ini.writer.get_extra_info("sockname")
        assert s["peer"] == f"{local[0]}:{local[1]}"
        assert s["isid"] == ini.isid.hex() and s["tsih"] == ini.tsih
        assert s["session_id"] == f"{ini.isid.hex()}:{ini.tsih:04x}"
        assert s["connected_at"] and "auth_password" not in s
        # A member of the volume's own project, and an admin of another project: refused.
        for client in (alice, api.client("alpha", "boss", role="admin")):
            with pytest.raises(VolumeApiError) as refused:
                await client.request("GET", "/os-iscsi-sessions")
            assert refused.value.status == 403 and refused.value.fault == "forbidden"
        await ini.logout()
    for _ in range(50):  # the target forgets the session when the connection closes
        if not await _sessions(api):
            break
        await asyncio.sleep(0.1)
    assert await _sessions(api) == []
