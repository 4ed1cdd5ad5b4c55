"""Attack: a reader of a project must not get the CHAP credentials of its attachments.

Cinder's policy: attachment create/update/complete need a member; show is for
readers too, but the connection info's auth secrets are for a role that may
connect (read-write), so a reader sees the attachment with them removed.
"""

from __future__ import annotations

import json

import pytest

from blockstore.client import VolumeApiError
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:secret-host"
OTHER = "iqn.2024-01.org.stratus.test:reader-host"


async def test_reader_never_sees_chap_secrets(api: Api) -> None:
    alice = api.client("alpha", "alice")
    reader = api.client("alpha", "rita", "reader")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    att = await alice.attach(vol["id"], HOST, instance_uuid="vm-1")
    secret = att["connection_info"]["data"]["auth_password"]
    user = att["connection_info"]["data"]["auth_username"]
    assert secret and user

    shown = await reader.get_attachment(att["id"])
    assert shown["status"] == "attached"
    data = shown["connection_info"]["data"]
    assert data["target_iqn"] == att["connection_info"]["data"]["target_iqn"]
    assert "auth_password" not in data and "auth_username" not in data
    seen = [
        shown,
        await reader.list_attachments(),
        await reader.get_volume(vol["id"]),
        await reader.list_volumes(),
    ]
    assert secret not in json.dumps(seen) and user not in json.dumps(seen)
    # the member who may connect still gets them
    assert (await alice.get_attachment(att["id"]))["connection_info"] == att["connection_info"]


async def test_reader_cannot_create_connect_or_complete(api: Api) -> None:
    alice = api.client("alpha", "alice")
    reader = api.client("alpha", "rita", "reader")
    vol = await alice.wait_volume((await alice.create_volume(1, multiattach=True))["id"])
    mine = await alice.create_attachment(vol["id"])
    connector = {"initiator": OTHER}
    attempts = [
        reader.create_attachment(vol["id"], connector=connector),
        reader.update_attachment(mine["id"], connector),
        reader.complete_attachment(mine["id"]),
        reader.volume_action(vol["id"], "os-initialize_connection", {"connector": connector}),
    ]
    for attempt in attempts:
        with pytest.raises(VolumeApiError) as err:
            await attempt
        assert err.value.status == 403
    assert (await alice.get_attachment(mine["id"]))["status"] == "reserved"
