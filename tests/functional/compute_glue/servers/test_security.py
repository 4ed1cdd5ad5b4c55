"""Attacks on servers through the compute API: readers acting, user_data in ``ps``, and
images that make QEMU read host files."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from compute_glue.guest_image import BASE_CMDLINE
from compute_glue.jsonclient import ApiClientError
from compute_glue.servers.client import ComputeClient
from objectstore.apiclient import SwiftClient
from stratus import diskimage
from tests.functional.compute_glue.servers.conftest import Stack, console_line
from tests.helpers import badimages
from tests.helpers.badimages import HostSecret

pytestmark = pytest.mark.slow


async def refused(coro: Any, status: int) -> ApiClientError:
    with pytest.raises(ApiClientError) as err:
        await coro
    assert err.value.status == status, err.value
    return err.value


async def settled(nova: ComputeClient, server_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """The server once its build ended: ACTIVE or ERROR."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        server = await nova.get_server(server_id)
        if server["status"] in ("ACTIVE", "ERROR") and server["OS-EXT-STS:task_state"] is None:
            return server
        assert loop.time() < deadline, f"server {server_id} still {server['status']}"
        await asyncio.sleep(0.3)


async def image_swapped_to(
    stack: Stack, swift: SwiftClient, work: Path, secret: HostSecret, name: str
) -> str:
    """A qcow2 image uploaded (and checked) harmless, whose stored bytes are then replaced by
    a qcow2 naming ``secret`` as its backing file, its record updated to match: an image
    stored before uploads were checked, or edited in the object store behind the service."""
    guest = await stack.images.get(stack.image_id)
    img = await stack.images.create(
        name=name, disk_format="qcow2", container_format="bare",
        kernel_id=guest["kernel_id"], ramdisk_id=guest["ramdisk_id"],
        os_command_line=BASE_CMDLINE,
    )  # fmt: skip
    await stack.images.upload(img["id"], badimages.plain_qcow2(work, b"harmless"))
    evil = badimages.qcow2_with_backing(work, secret.path).read_bytes()
    await swift.put_object(stack.cfg.image.container, img["id"], evil)

    def legacy(i: Any) -> None:
        i.size, i.checksum = len(evil), hashlib.md5(evil).hexdigest()

    stack.image_svc.store.update(img["id"], legacy)
    return img["id"]


async def test_user_data_stays_off_the_command_line_and_readers_only_read(stack: Stack) -> None:
    token = f"user-data-{uuid.uuid4().hex}"
    script = f'echo "T:UD {token}"\necho "T:ARGS $(grep -c stratus.cmd /proc/cmdline)"\n'
    script += "while true; do sleep 1; done\n"
    nova = stack.nova
    made = await nova.create_server("ud", stack.image_id, "m1.tiny", script=script,
                                    networks="none")  # fmt: skip
    server = await nova.wait_server(made["id"], "ACTIVE")
    # Attack: any local user reads QEMU's command line (ps, /proc/<pid>/cmdline).
    vm = stack.compute.servers.vms[server["id"]]
    argv = Path(f"/proc/{vm.pid}/cmdline").read_bytes()
    encoded = base64.b64encode(script.encode())
    assert encoded not in argv and token.encode() not in argv
    # The guest got its user_data (over fw_cfg: not on its kernel command line either).
    assert token in await console_line(nova, server["id"], "T:UD")
    assert (await console_line(nova, server["id"], "T:ARGS")).endswith("T:ARGS 0")
    idir = stack.compute.servers.instance_dir(server["id"])
    assert idir.stat().st_mode & 0o777 == 0o700
    assert not (idir / "user_data").exists()  # QEMU read it; it is gone

    # Attack: a reader of the project stops, reboots, deletes, attaches and detaches.
    reader = stack.nova_for("alpha", role="reader")
    sid = server["id"]
    await refused(reader.stop(sid), 403)
    await refused(reader.reboot(sid, hard=True), 403)
    await refused(reader.action(sid, "os-start"), 403)
    await refused(reader.action(sid, "shelve"), 403)
    await refused(reader.attach_volume(sid, str(uuid.uuid4())), 403)
    await refused(reader.detach_volume(sid, str(uuid.uuid4())), 403)
    await refused(reader.delete_server(sid), 403)
    await refused(reader.create_server("x", stack.image_id, "m1.tiny", networks="none"), 403)
    # Readers still read.
    assert (await reader.get_server(sid))["status"] == "ACTIVE"
    assert token in await reader.console(sid)
    assert stack.compute.servers.vms[sid].pid == vm.pid and vm.alive

    await nova.delete_server(sid)
    await nova.wait_gone(sid)


async def test_images_naming_host_files_do_not_boot(stack: Stack) -> None:
    root = Path(stack.cfg.data.dir)
    secret = HostSecret.make(root / "host")
    work = root / "attack"
    work.mkdir()
    guest = await stack.images.get(stack.image_id)
    swift = SwiftClient(f"{stack.cluster.url}/v1/AUTH_alpha", stack.token())
    stack.clients.append(swift)
    container = stack.cfg.image.container

    script = 'echo "T:DISK $(head -c 64 /dev/vda)"\nwhile true; do sleep 1; done\n'
    # 0. A well-formed disk image boots: the guest reads it through the server's overlay,
    # the image being the overlay's backing node with its own backing switched off.
    good = await stack.images.create(
        name="good-disk", disk_format="qcow2", container_format="bare",
        kernel_id=guest["kernel_id"], ramdisk_id=guest["ramdisk_id"],
        os_command_line=BASE_CMDLINE,
    )  # fmt: skip
    await stack.images.upload(good["id"], badimages.plain_qcow2(work, b"harmless", "g.qcow2"))
    ok = await stack.nova.create_server("good", good["id"], "m1.tiny", script=script,
                                        networks="none")  # fmt: skip
    await stack.nova.wait_server(ok["id"], "ACTIVE")
    assert "T:DISK harmless" in await console_line(stack.nova, ok["id"], "T:DISK")
    # A server recorded before its image was checked: checked (and recorded) at its next start.
    await stack.nova.stop(ok["id"])
    await stack.nova.wait_server(ok["id"], "SHUTOFF")
    stack.compute.servers.edit(ok["id"], lambda s: s.boot.pop("base"))
    await stack.nova.start(ok["id"])
    await stack.nova.wait_server(ok["id"], "ACTIVE")
    assert "T:DISK harmless" in await console_line(stack.nova, ok["id"], "T:DISK", after=1)
    assert stack.compute.servers.load(ok["id"]).boot["base_format"] == "qcow2"
    await stack.nova.delete_server(ok["id"])
    await stack.nova.wait_gone(ok["id"])

    # 1. A disk image whose bytes were replaced after upload (or stored before uploads were
    # checked): the compute service checks again before qemu-img or QEMU opens it.
    evil_id = await image_swapped_to(stack, swift, work, secret, "evil-disk")
    made = await stack.nova.create_server("evil", evil_id, "m1.tiny", script=script,
                                          networks="none")  # fmt: skip
    server = await settled(stack.nova, made["id"])
    assert server["status"] == "ERROR", await stack.nova.console(made["id"])
    assert "backing file" in server["fault"]["message"]

    # 2. A boot volume made from an object of the project's own image container, which the
    # image service never saw: the volume service refuses it, the build fails.
    for name, path in (
        ("evil-backing", badimages.qcow2_with_backing(work, secret.path, name="b2.qcow2")),
        ("evil-vmdk", badimages.vmdk_descriptor(work, secret.path)),
    ):
        await swift.put_object(container, name, path.read_bytes())
        bdm = [{"source_type": "image", "uuid": name, "destination_type": "volume",
                "volume_size": 1, "boot_index": 0, "delete_on_termination": True}]  # fmt: skip
        made2 = await stack.nova.create_server(name, None, "m1.tiny", block_devices=bdm,
                                               networks="none")  # fmt: skip
        assert (await settled(stack.nova, made2["id"]))["status"] == "ERROR"
        await stack.nova.delete_server(made2["id"])
        await stack.nova.wait_gone(made2["id"])

    for path in work.iterdir():
        path.unlink()
    assert secret.seen_anywhere(root) == []
    await stack.nova.delete_server(made["id"])
    await stack.nova.wait_gone(made["id"])


async def test_a_fooled_inspection_still_boots_with_backing_disabled(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second wall: were both inspection passes fooled, QEMU still gets the cached image
    as the overlay's backing node with its own backing switched off, so the guest reads
    zeros where the image's backing file (a host file) would have been."""
    root = Path(stack.cfg.data.dir)
    secret = HostSecret.make(root / "host-fooled")
    work = root / "attack-fooled"
    work.mkdir()

    async def fooled(path: Path, declared: str, **_: object) -> diskimage.DiskInfo:
        return diskimage.DiskInfo(declared, 2 * badimages.MiB)

    monkeypatch.setattr(diskimage, "inspect_file", fooled)
    swift = SwiftClient(f"{stack.cluster.url}/v1/AUTH_alpha", stack.token())
    stack.clients.append(swift)
    image_id = await image_swapped_to(stack, swift, work, secret, "fooled-disk")
    script = 'echo "T:DISK $(head -c 64 /dev/vda)."\nwhile true; do sleep 1; done\n'
    made = await stack.nova.create_server("fooled", image_id, "m1.tiny", script=script,
                                          networks="none")  # fmt: skip
    await stack.nova.wait_server(made["id"], "ACTIVE")
    line = await console_line(stack.nova, made["id"], "T:DISK")
    assert secret.marker.decode() not in line, line
    await stack.nova.delete_server(made["id"])
    await stack.nova.wait_gone(made["id"])
    for path in work.iterdir():
        path.unlink()
    assert secret.seen_anywhere(root) == []
