"""Attachments the compute service made for servers end only through it (issue 22).

Cinder (bug 2004555) refuses, with 409, to end an attachment of an instance
unless the request carries the compute service's service token; an admin's
os-force_detach still ends it. Here the service token (X-Service-Token) is a
token of a cloud admin, which the compute service issues for itself.
"""

from __future__ import annotations

import pytest

from blockstore.client import VolumeApiError, VolumeClient
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:compute-host"
SERVER = "7b0c4f1e-0000-4000-8000-000000000001"


def compute(api: Api, project: str, service_token: str) -> VolumeClient:
    """The volume API as the compute service sees it: a user's token plus its own."""
    c = VolumeClient(api.url, api.token(project, "alice"), project, service_token=service_token)
    api.clients[f"{project}:compute:{service_token[-6:]}"] = c
    return c


async def test_only_the_service_or_an_admins_force_ends_a_servers_attachment(api: Api) -> None:
    alice = api.client("alpha", "alice")
    nova = compute(api, "alpha", api.token("admin", "admin", "admin"))
    vol = await alice.wait_volume((await alice.create_volume(1, name="data"))["id"])
    att = await nova.attach(vol["id"], HOST, instance_uuid=SERVER)

    attempts = [
        alice.delete_attachment(att["id"]),
        alice.volume_action(vol["id"], "os-detach", {"attachment_id": att["id"]}),
        alice.volume_action(
            vol["id"], "os-terminate_connection", {"connector": {"initiator": HOST}}
        ),
    ]
    for attempt in attempts:
        with pytest.raises(VolumeApiError) as err:
            await attempt
        assert err.value.status == 409
        assert err.value.message == (
            f"Detach volume {vol['id']} from instance {SERVER} using the Compute API "
            f"(stratus server remove-volume {SERVER} {vol['id']}); an admin may force-detach it."
        )
    with pytest.raises(VolumeApiError) as err:
        await alice.delete_volume(vol["id"])
    assert err.value.status == 400 and f"remove-volume {SERVER} {vol['id']}" in err.value.message
    assert (await alice.get_volume(vol["id"]))["status"] == "in-use"
    # A member's own token as "service token" is no service token; a bad one is refused.
    fake = compute(api, "alpha", api.token("alpha", "alice"))
    with pytest.raises(VolumeApiError) as err:
        await fake.delete_attachment(att["id"])
    assert err.value.status == 409
    with pytest.raises(VolumeApiError) as err:
        await compute(api, "alpha", "tk_not-a-token").get_volume(vol["id"])
    assert err.value.status == 401
    # Force-detach: not for members; a project admin may.
    with pytest.raises(VolumeApiError) as err:
        await alice.force_detach(vol["id"])
    assert err.value.status == 403
    await api.client("alpha", "boss", "admin").force_detach(vol["id"], att["id"])
    assert (await alice.get_volume(vol["id"]))["status"] == "available"
    assert await alice.list_attachments(volume_id=vol["id"]) == []

    # The compute service itself ends its attachments as before.
    att = await nova.attach(vol["id"], HOST, instance_uuid=SERVER)
    assert await nova.delete_attachment(att["id"]) == []
    # A user's attachment (no service token), even one naming an instance, is the user's.
    mine = await alice.attach(vol["id"], HOST, instance_uuid="my-host")
    assert await alice.delete_attachment(mine["id"]) == []
    await alice.delete_volume(vol["id"])
