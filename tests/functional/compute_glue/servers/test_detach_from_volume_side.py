"""A server's volume is detached only through the compute service (issue 22).

Found by using it: `stratus volume detach` of a server's volume ended the
export under the running guest while the server still listed the volume, and
a later `volume delete` removed it. As Cinder does (bug 2004555), the volume
API now refuses (409) to end an attachment the compute service made, unless
the request carries the compute service's service token; an admin's
os-force_detach still ends it, and the compute service is told, so the disk
leaves QEMU and the server's list.
"""

from __future__ import annotations

import pytest

from blockstore.client import VolumeApiError, VolumeClient
from tests.functional.compute_glue.servers.conftest import PROJECT, Stack, console_line
from tests.functional.compute_glue.servers.test_attach import WRITER, boot, settled, volume

pytestmark = pytest.mark.slow


async def test_users_detach_through_the_server_admins_may_force(stack: Stack) -> None:
    server = await boot(stack, "vm1", WRITER)
    vol = await volume(stack)
    await stack.nova.attach_volume(server["id"], vol["id"])
    await console_line(stack.nova, server["id"], "T:SUM0")
    (att,) = await stack.volumes.list_attachments(volume_id=vol["id"])

    # The volume side refuses to end it, naming the server and the command to use.
    refusals = [
        stack.volumes.delete_attachment(att["id"]),
        stack.volumes.volume_action(vol["id"], "os-detach", {"attachment_id": att["id"]}),
        stack.volumes.volume_action(
            vol["id"], "os-terminate_connection", {"connector": att["connector"]}
        ),
    ]
    for attempt in refusals:
        with pytest.raises(VolumeApiError) as err:
            await attempt
        assert err.value.status == 409, err.value
        assert server["id"] in err.value.message
        assert f"stratus server remove-volume {server['id']} {vol['id']}" in err.value.message
    with pytest.raises(VolumeApiError) as err:
        await stack.volumes.delete_volume(vol["id"])
    assert err.value.status == 400 and "server remove-volume" in err.value.message
    # A force-detach is for admins only.
    with pytest.raises(VolumeApiError) as err:
        await stack.volumes.force_detach(vol["id"])
    assert err.value.status == 403
    # Nothing changed: still in use, still exported, still the server's.
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "in-use"
    assert any(vol["id"] in iqn for iqn in stack.exports())
    held = await stack.nova.list_volume_attachments(server["id"])
    assert [a["volumeId"] for a in held] == [vol["id"]]

    # An admin of the project forces it: the volume is free and the server updated (the
    # guest saw its disk go, the server no longer lists it).
    boss = VolumeClient(
        f"http://127.0.0.1:{stack.cfg.volume.port}",
        stack.token(PROJECT, "boss", "admin"),
        PROJECT,
    )
    stack.clients.append(boss)
    await boss.force_detach(vol["id"])
    await settled(stack, vol["id"])
    assert await stack.nova.list_volume_attachments(server["id"]) == []
    await console_line(stack.nova, server["id"], "T:GONE0")
    # The volume goes to the server again through the compute service, and back.
    await stack.nova.attach_volume(server["id"], vol["id"])
    await console_line(stack.nova, server["id"], "T:SUM1")
    await stack.nova.detach_volume(server["id"], vol["id"])
    await settled(stack, vol["id"])
    await stack.volumes.delete_volume(vol["id"])
    await stack.nova.delete_server(server["id"])
    await stack.nova.wait_gone(server["id"])
