"""Volumes on running servers: hot-plug over QMP, guest I/O, detach, and the failure paths.

Every test boots the real test guest under TCG, attaches a real volume of
the volume service through QEMU's iSCSI driver (per-attachment CHAP) and
checks what the guest printed, what the backing file holds, and that server,
volume and export agree afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from pathlib import Path

import pytest

from compute_glue.jsonclient import ApiClientError
from tests.functional.compute_glue.servers.conftest import Stack, console_line, qemu_pids

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
WORD = b"STRATUS-ATTACH\n"
PATTERN = (WORD * (MiB // len(WORD) + 1))[:MiB]

# Waits for a disk, writes 1 MiB of the pattern to it (direct, fsynced), prints the
# MD5 of what it reads back, then waits for the disk to go away and for the next one.
WRITER = """echo "T:UP"
n=0
while true; do
  while [ ! -b /dev/vda ]; do sleep 0.2; done
  yes STRATUS-ATTACH | head -c 1048576 > /tmp/p
  dd if=/tmp/p of=/dev/vda bs=65536 oflag=direct conv=fsync 2>/dev/null
  s=$(dd if=/dev/vda bs=65536 count=16 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
  echo "T:SUM$n $s"
  while [ -b /dev/vda ]; do sleep 0.2; done
  echo "T:GONE$n"
  n=$((n+1))
done
"""

# Writes to the disk as fast as it can, for as long as the disk is there.
BUSY = """echo "T:UP"
while [ ! -b /dev/vda ]; do sleep 0.2; done
echo "T:WRITING"
i=0
while [ -b /dev/vda ]; do
  dd if=/dev/zero of=/dev/vda bs=65536 count=16 seek=$((i % 64 * 16)) oflag=direct 2>/dev/null
  i=$((i+1))
done
echo "T:GONE after $i"
while true; do sleep 1; done
"""


def volume_file(stack: Stack, volume_id: str) -> Path:
    return stack.volume_svc.manager.backend.volume_path(volume_id)


async def boot(stack: Stack, name: str, script: str) -> dict:
    made = await stack.nova.create_server(name, stack.image_id, "m1.tiny", script=script,
                                          networks="none")  # fmt: skip
    server = await stack.nova.wait_server(made["id"], "ACTIVE", timeout=120)
    await console_line(stack.nova, server["id"], "T:UP")
    return server


async def volume(stack: Stack, gb: int = 1) -> dict:
    vol = await stack.volumes.create_volume(gb, name="data")
    return await stack.volumes.wait_volume(vol["id"], "available")


async def settled(stack: Stack, volume_id: str) -> None:
    """The volume is available again with no attachment and no export left."""
    vol = await stack.volumes.get_volume(volume_id)
    assert vol["status"] == "available", vol
    assert vol["attachments"] == []
    assert await stack.volumes.list_attachments(volume_id=volume_id) == []
    assert not any(volume_id in iqn for iqn in stack.exports()), stack.exports()


async def test_attach_write_detach_reattach_and_delete(stack: Stack) -> None:
    server = await boot(stack, "writer", WRITER)
    vol = await volume(stack)
    att = await stack.nova.attach_volume(server["id"], vol["id"])
    assert att["volumeId"] == vol["id"] and att["device"] == "/dev/vda"
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "in-use"
    assert [a["volumeId"] for a in await stack.nova.list_volume_attachments(server["id"])] == [
        vol["id"]
    ]
    line = await console_line(stack.nova, server["id"], "T:SUM0")
    assert line.split()[-1] == hashlib.md5(PATTERN).hexdigest()
    # The guest's writes are in the volume's backing file on the host.
    with volume_file(stack, vol["id"]).open("rb") as f:
        assert f.read(MiB) == PATTERN
    # Attaching twice, or attaching a volume in use elsewhere, is refused and changes nothing.
    with pytest.raises(ApiClientError) as err:
        await stack.nova.attach_volume(server["id"], vol["id"])
    assert err.value.status == 409

    await stack.nova.detach_volume(server["id"], vol["id"])
    await console_line(stack.nova, server["id"], "T:GONE0")
    await settled(stack, vol["id"])
    assert await stack.nova.list_volume_attachments(server["id"]) == []

    # The same volume again: the guest sees it again and rewrites the same bytes.
    await stack.nova.attach_volume(server["id"], vol["id"])
    line = await console_line(stack.nova, server["id"], "T:SUM1")
    assert line.split()[-1] == hashlib.md5(PATTERN).hexdigest()
    # Deleting the server ends its attachments: the volume is free, nothing is exported.
    await stack.nova.delete_server(server["id"])
    await stack.nova.wait_gone(server["id"])
    await settled(stack, vol["id"])
    assert qemu_pids(stack.marker) == []


async def test_attach_to_a_server_whose_qemu_died(stack: Stack) -> None:
    server = await boot(stack, "doomed", WRITER)
    vol = await volume(stack)
    (pid,) = qemu_pids(stack.marker)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ApiClientError) as err:
        await stack.nova.attach_volume(server["id"], vol["id"])
    assert err.value.status == 409, err.value
    # Nothing was left half-done: the volume is free and not exported.
    await settled(stack, vol["id"])
    shown = await stack.nova.wait_server(server["id"], "SHUTOFF", timeout=30)
    assert shown["OS-EXT-STS:power_state"] == 4
    assert await stack.nova.list_volume_attachments(server["id"]) == []
    # Started again, the server takes the volume as before.
    await stack.nova.start(server["id"])
    await stack.nova.wait_server(server["id"], "ACTIVE", timeout=120)
    await console_line(stack.nova, server["id"], "T:UP", after=1)
    await stack.nova.attach_volume(server["id"], vol["id"])
    line = await console_line(stack.nova, server["id"], "T:SUM0")
    assert line.split()[-1] == hashlib.md5(PATTERN).hexdigest()
    await stack.nova.delete_server(server["id"])
    await stack.nova.wait_gone(server["id"])
    await settled(stack, vol["id"])


async def test_detach_while_the_guest_writes(stack: Stack) -> None:
    server = await boot(stack, "busy", BUSY)
    vol = await volume(stack)
    await stack.nova.attach_volume(server["id"], vol["id"])
    await console_line(stack.nova, server["id"], "T:WRITING")
    await asyncio.sleep(1.0)  # writes in flight
    await stack.nova.detach_volume(server["id"], vol["id"])
    # The guest saw its disk go and keeps running; the volume is free and unexported.
    assert "T:GONE after" in await console_line(stack.nova, server["id"], "T:GONE")
    await settled(stack, vol["id"])
    shown = await stack.nova.get_server(server["id"])
    assert shown["status"] == "ACTIVE" and server["id"] in stack.compute.servers.vms
    # What the guest wrote is on the volume: zeros over the first MiB.
    with volume_file(stack, vol["id"]).open("rb") as f:
        assert f.read(MiB) == bytes(MiB)
    # The volume is usable by the next server at once.
    other = await boot(stack, "next", WRITER)
    await stack.nova.attach_volume(other["id"], vol["id"])
    line = await console_line(stack.nova, other["id"], "T:SUM0")
    assert line.split()[-1] == hashlib.md5(PATTERN).hexdigest()
    for s in (server, other):
        await stack.nova.delete_server(s["id"])
    for s in (server, other):
        await stack.nova.wait_gone(s["id"])
    await settled(stack, vol["id"])


async def test_restart_of_the_compute_service_keeps_vms_and_attachments(stack: Stack) -> None:
    server = await boot(stack, "kept", WRITER)
    vol = await volume(stack)
    await stack.nova.attach_volume(server["id"], vol["id"])
    await console_line(stack.nova, server["id"], "T:SUM0")
    (pid,) = qemu_pids(stack.marker)

    await stack.restart_compute()
    # The same QEMU runs on, adopted, with its volume; the records say so.
    assert qemu_pids(stack.marker) == [pid]
    shown = await stack.nova.wait_server(server["id"], "ACTIVE", timeout=30)
    assert shown["OS-EXT-STS:power_state"] == 1
    assert [a["volumeId"] for a in await stack.nova.list_volume_attachments(server["id"])] == [
        vol["id"]
    ]
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "in-use"
    assert any(vol["id"] in iqn for iqn in stack.exports())
    # The adopted VM is still driven over QMP: detach reaches the guest.
    await stack.nova.detach_volume(server["id"], vol["id"])
    await console_line(stack.nova, server["id"], "T:GONE0")
    await settled(stack, vol["id"])
    await stack.nova.delete_server(server["id"])
    await stack.nova.wait_gone(server["id"])
    assert qemu_pids(stack.marker) == []
