"""Attack: learn another tenant's volume targets by claiming its host's initiator name in
an unauthenticated SendTargets discovery session (iscsi.discovery_auth).

The attachment's own CHAP credentials (its connection info) are what discovery accepts.
"""

from __future__ import annotations

from tests.functional.blockstore.iscsi.initiator import session
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:victim-compute-host"


async def test_discovery_lists_an_attached_volume_only_with_its_chap(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    data = (await alice.attach(vol["id"], HOST))["connection_info"]["data"]
    host, port = data["target_portal"].rsplit(":", 1)
    async with session(host, int(port), None, name=HOST) as ini:  # no CHAP: the attacker
        assert await ini.text([("SendTargets", "All")]) == {}
        assert await ini.text([("SendTargets", data["target_iqn"])]) == {}
    chap = (data["auth_username"], data["auth_password"])
    async with session(host, int(port), None, name=HOST, chap=chap) as ini:
        got = await ini.text([("SendTargets", "All")])
        assert got["TargetName"] == [data["target_iqn"]]
