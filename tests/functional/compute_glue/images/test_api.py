"""The image API against a real object store: bytes, checksums, isolation, filters, errors."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import aiohttp
import pytest

from compute_glue.images.client import ImageApiError
from tests.functional.compute_glue.conftest import CONTAINER, ImageRig
from tests.helpers import badimages
from tests.helpers.badimages import HostSecret


async def test_upload_download_round_trip_with_checksums(images: ImageRig, tmp_path) -> None:
    c = await images.client("alpha")
    img = await c.create(name="disk", disk_format="raw", container_format="bare", min_ram=64)
    assert img["status"] == "queued" and img["size"] is None and img["owner"] == "alpha"
    body = os.urandom(700 * 1024 + 13)  # several chunks, not aligned
    src = tmp_path / "disk.raw"
    src.write_bytes(body)
    await c.upload(img["id"], src)
    got = await c.get(img["id"])
    assert got["status"] == "active"
    assert got["size"] == got["virtual_size"] == len(body)
    assert got["checksum"] == hashlib.md5(body).hexdigest()
    assert got["os_hash_algo"] == "sha512"
    assert got["os_hash_value"] == hashlib.sha512(body).hexdigest()
    # The bytes are an object of the owner's own account, under the image container.
    swift = await images.swift("alpha")
    assert await swift.get_object(CONTAINER, img["id"]) == body
    out = tmp_path / "copy"
    assert await c.download(img["id"], out) == got["checksum"]
    assert out.read_bytes() == body
    with pytest.raises(ImageApiError) as err:
        await c.upload(img["id"], b"again")
    assert err.value.status == 409
    await c.delete(img["id"])
    with pytest.raises(ImageApiError) as err:
        await c.get(img["id"])
    assert err.value.status == 404
    assert await swift.head_object(CONTAINER, img["id"]) is None


async def test_kernel_ramdisk_and_boot_record_properties(images: ImageRig) -> None:
    c = await images.client("alpha")
    k = await c.create(name="k", disk_format="aki", container_format="aki")
    r = await c.create(name="r", disk_format="ari", container_format="ari")
    boot = await c.create(
        name="boot", disk_format="raw", container_format="bare",
        kernel_id=k["id"], ramdisk_id=r["id"], os_command_line="console=ttyS0 quiet",
    )  # fmt: skip
    assert boot["kernel_id"] == k["id"] and boot["os_command_line"] == "console=ttyS0 quiet"
    found = await c.list(kernel_id=k["id"])
    assert [i["id"] for i in found] == [boot["id"]]
    updated = await c.update(boot["id"], os_command_line="console=ttyS0", name="boot2")
    assert updated["os_command_line"] == "console=ttyS0" and updated["name"] == "boot2"
    updated = await c.update(boot["id"], os_command_line=None)
    assert "os_command_line" not in updated
    for bad in (
        {"disk_format": "aki", "container_format": "bare"},  # Glance's format-mix rule
        {"disk_format": "vmdk", "container_format": "bare"},
        {"disk_format": "raw", "container_format": "bare", "kernel_id": "not-a-uuid"},
        {"disk_format": "raw", "container_format": "bare", "visibility": "shared"},
        {"name": "x" * 256},
        {"tags": "a"},
    ):
        with pytest.raises(ImageApiError) as err:
            await c.create(**bad)
        assert err.value.status == 400, bad
    for read_only in ({"status": "active"}, {"checksum": "0" * 32}, {"file": "/x"}):
        with pytest.raises(ImageApiError) as err:
            await c.create(**read_only)
        assert err.value.status == 403, read_only


async def test_projects_are_isolated_and_public_needs_admin(images: ImageRig, tmp_path) -> None:
    alice = await images.client("alpha")
    bob = await images.client("beta")
    mine = await alice.create(name="mine", disk_format="raw", container_format="bare")
    await alice.upload(mine["id"], b"private bytes")
    for call in (bob.get(mine["id"]), bob.upload(mine["id"], b"x"), bob.delete(mine["id"])):
        with pytest.raises(ImageApiError) as err:
            await call
        assert err.value.status == 404
    assert [i["id"] for i in await bob.list()] == []
    with pytest.raises(ImageApiError) as err:
        await alice.create(name="pub", disk_format="raw", container_format="bare",
                           visibility="public")  # fmt: skip
    assert err.value.status == 403
    # Attack: an admin of an ordinary project publishes an image to every project.
    project_admin = await images.client("alpha", "root", role="admin")
    with pytest.raises(ImageApiError) as err:
        await project_admin.create(name="pub", disk_format="raw", container_format="bare",
                                   visibility="public")  # fmt: skip
    assert err.value.status == 403
    own = await project_admin.create(name="own", disk_format="raw", container_format="bare")
    with pytest.raises(ImageApiError) as err:
        await project_admin.update(own["id"], visibility="public")
    assert err.value.status == 403
    assert [i["id"] for i in await bob.list()] == []
    # The cloud administrator (admin role in the admin project) publishes, as in Glance.
    admin = await images.client("admin", "admin", role="admin")
    pub = await admin.create(name="pub", disk_format="raw", container_format="bare",
                             visibility="public")  # fmt: skip
    await admin.upload(pub["id"], b"shared bytes")
    # Another project sees and reads a public image, but may not change or delete it.
    assert await bob.download(pub["id"], tmp_path / "p") == hashlib.md5(b"shared bytes").hexdigest()
    assert [i["id"] for i in await bob.list()] == [pub["id"]]
    with pytest.raises(ImageApiError) as err:
        await bob.delete(pub["id"])
    assert err.value.status == 403
    reader = await images.client("alpha", "rita", role="reader")
    with pytest.raises(ImageApiError) as err:
        await reader.create(name="r", disk_format="raw", container_format="bare")
    assert err.value.status == 403


async def test_an_acl_only_user_has_no_image_rights(images: ImageRig) -> None:
    """Role ``acl-only``: the image (and compute) services refuse it, reads included."""
    carol = await images.client("alpha", "carol", role="acl-only")
    for call in (carol.list, lambda: carol.create(name="c", disk_format="raw",
                                                  container_format="bare")):  # fmt: skip
        with pytest.raises(ImageApiError) as err:
            await call()
        assert err.value.status == 403


async def test_list_filters_paging_and_tags(images: ImageRig) -> None:
    c = await images.client("alpha")
    made = []
    for i in range(5):
        fmt = "qcow2" if i % 2 else "raw"
        made.append(await c.create(name=f"img{i}", disk_format=fmt, container_format="bare",
                                   tags=["even"] if i % 2 == 0 else []))  # fmt: skip
    await c.upload(made[0]["id"], b"a" * 100)
    await c.upload(made[2]["id"], b"b" * 5000)
    assert {i["name"] for i in await c.list(disk_format="qcow2")} == {"img1", "img3"}
    assert {i["name"] for i in await c.list(tag="even")} == {"img0", "img2", "img4"}
    assert {i["name"] for i in await c.list(status="active")} == {"img0", "img2"}
    assert {i["name"] for i in await c.list(size_min=1000)} == {"img2"}
    assert [i["name"] for i in await c.list(name="img3")] == ["img3"]
    # Paging: two at a time, sorted by name, follows 'next' to the end.
    names = [i["name"] for i in await c.list(limit=2, sort_key="name", sort_dir="asc")]
    assert names == [f"img{i}" for i in range(5)]
    async with aiohttp.ClientSession() as s:
        headers = {"X-Auth-Token": c.token}
        async with s.get(f"{images.url}/v2/images?limit=2", headers=headers) as r:
            page = await r.json()
        assert len(page["images"]) == 2 and "next" in page
        async with s.get(f"{images.url}/v2/images?limit=0", headers=headers) as r:
            assert r.status == 400
            assert (await r.json())["code"].startswith("400")


async def test_qcow2_virtual_size_from_its_header(images: ImageRig) -> None:
    c = await images.client("alpha")
    img = await c.create(name="q", disk_format="qcow2", container_format="bare")
    header = b"QFI\xfb" + struct.pack(">IQIIQ", 3, 0, 0, 16, 10 * 1024 * 1024)
    await c.upload(img["id"], header + b"\0" * 1000)
    got = await c.get(img["id"])
    assert got["virtual_size"] == 10 * 1024 * 1024 and got["size"] == len(header) + 1000


async def test_too_large_upload_is_not_kept(images: ImageRig) -> None:
    images.settings.max_size = 1024 * 1024
    c = await images.client("alpha")
    img = await c.create(name="big", disk_format="raw", container_format="bare")

    async def stream():  # type: ignore[no-untyped-def]
        for _ in range(5):  # 1.25 MiB against a 1 MiB limit, no Content-Length
            yield b"z" * (256 * 1024)

    with pytest.raises(ImageApiError) as err:
        await c.upload(img["id"], stream())
    assert err.value.status == 413
    assert (await c.get(img["id"]))["status"] == "queued"
    assert await (await images.swift("alpha")).head_object(CONTAINER, img["id"]) is None
    await c.upload(img["id"], b"fits")  # the image is usable again
    assert (await c.get(img["id"]))["status"] == "active"


async def test_protocol_errors(images: ImageRig) -> None:
    c = await images.client("alpha")
    img = await c.create(name="e", disk_format="raw", container_format="bare")
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{images.url}/v2/images") as r:
            assert r.status == 401
            assert (await r.json())["title"] == "Unauthorized"
        h = {"X-Auth-Token": c.token}
        async with s.put(f"{images.url}/v2/images/{img['id']}/file", data=b"x",
                         headers={**h, "Content-Type": "text/plain"}) as r:  # fmt: skip
            assert r.status == 415
        async with s.patch(f"{images.url}/v2/images/{img['id']}", json=[],
                           headers=h) as r:  # fmt: skip
            assert r.status == 415
        async with s.post(f"{images.url}/v2/images", data=b"{not json",
                          headers={**h, "Content-Type": "application/json"}) as r:  # fmt: skip
            assert r.status == 400
        async with s.get(f"{images.url}/v2/images/{img['id']}/file", headers=h) as r:
            assert r.status == 204  # no data yet
    await c.update(img["id"], protected=True)
    with pytest.raises(ImageApiError) as err:
        await c.delete(img["id"])
    assert err.value.status == 403
    await c.update(img["id"], protected=False)
    await c.delete(img["id"])


async def test_images_that_name_host_files_are_refused_at_upload(
    images: ImageRig, tmp_path: Path
) -> None:
    """Attack (CVE-2022-47951 style): image data that makes QEMU read a host file."""
    secret = HostSecret.make(tmp_path / "host")
    identity_lmdb = images.cluster.root / "identity" / "data.mdb"
    assert identity_lmdb.exists()
    c = await images.client("alpha")
    swift = await images.swift("alpha")
    attacks = [
        ("qcow2", badimages.qcow2_with_backing(tmp_path, secret.path)),
        (
            "qcow2",
            badimages.qcow2_with_backing(tmp_path, identity_lmdb, name="id.qcow2"),
        ),  # every key hash
        ("qcow2", badimages.qcow2_with_data_file(tmp_path, secret.path)),
        ("raw", badimages.vmdk_descriptor(tmp_path, secret.path)),  # vmdk, declared raw
        ("raw", badimages.plain_qcow2(tmp_path, b"hidden")),  # really qcow2, declared raw
        ("qcow2", badimages.huge_qcow2(tmp_path, "2T")),  # over max_virtual_size
    ]
    images.settings.max_virtual_size = 1024**4
    for fmt, path in attacks:
        img = await c.create(name=path.name, disk_format=fmt, container_format="bare")
        with pytest.raises(ImageApiError) as err:
            await c.upload(img["id"], path)
        assert err.value.status == 400, (fmt, path.name)
        assert (await c.get(img["id"]))["status"] == "queued", path.name
        assert await swift.head_object(CONTAINER, img["id"]) is None, path.name
    # Well-formed images of their declared format are taken, with their virtual size.
    good = await c.create(name="good", disk_format="qcow2", container_format="bare")
    await c.upload(good["id"], badimages.plain_qcow2(tmp_path, b"fine", "good.qcow2"))
    got = await c.get(good["id"])
    assert got["status"] == "active" and got["virtual_size"] == 2 * 1024 * 1024
    # The format the data was checked as cannot change afterwards (Glance's rule).
    with pytest.raises(ImageApiError) as err:
        await c.update(good["id"], disk_format="raw")
    assert err.value.status == 403
