"""The Cinder shapes `openstack volume ...` and openstacksdk call, over HTTP: snapshot
metadata, QoS ``delete_keys``, zones and services, forced delete, ``all_tenants``,
the type of a copy, the visible read-only flag, attachments' empty connector and
``null`` mode, and the microversions served (3.0-3.66) with what changes at 3.42 and 3.66."""

from __future__ import annotations

import aiohttp
import pytest

from blockstore.client import VolumeApiError
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:shapes-host"


async def call(api: Api, method: str, path: str, token: str, version: str = "3.66", **kw):  # type: ignore[no-untyped-def]
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": f"volume {version}"}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, api.url + path, headers=headers, **kw) as r,
    ):
        body = await r.json() if r.content_length else None
        return r.status, r.headers, body


def admin(api: Api):  # type: ignore[no-untyped-def]
    return api.client("admin", "root", role="admin")


async def test_version_range_is_3_0_to_3_66(api: Api) -> None:
    token = api.token("alpha", "alice")
    async with aiohttp.ClientSession() as s, s.get(api.url + "/") as r:
        (doc,) = (await r.json())["versions"]
    assert (doc["id"], doc["min_version"], doc["version"]) == ("v3.0", "3.0", "3.66")
    status, headers, _ = await call(api, "GET", "/v3/alpha/volumes", token, "3.66")
    assert status == 200 and headers["OpenStack-API-Version"] == "volume 3.66"
    status, _, body = await call(api, "GET", "/v3/alpha/volumes", token, "3.67")
    assert status == 406 and body["notAcceptable"]["code"] == 406


async def test_snapshot_metadata(api: Api) -> None:
    alice, bob = api.client("alpha", "alice"), api.client("beta", "bob")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    snap = await alice.create_snapshot(vol["id"], metadata={"a": "1"})
    base = f"/snapshots/{snap['id']}/metadata"
    assert await alice.request("POST", base, {"metadata": {"b": "2"}}) == {
        "metadata": {"a": "1", "b": "2"}
    }
    assert (await alice.request("GET", f"{base}/b")) == {"meta": {"b": "2"}}
    assert await alice.request("PUT", f"{base}/c", {"meta": {"c": "3"}}) == {"meta": {"c": "3"}}
    await alice.request("DELETE", f"{base}/a")
    assert (await alice.get_snapshot(snap["id"]))["metadata"] == {"b": "2", "c": "3"}
    assert await alice.request("PUT", base, {"metadata": {"z": "9"}}) == {"metadata": {"z": "9"}}
    with pytest.raises(VolumeApiError) as err:
        await alice.request("DELETE", f"{base}/a")
    assert err.value.status == 404 and err.value.fault == "itemNotFound"
    with pytest.raises(VolumeApiError) as err:
        await alice.request("PUT", f"{base}/c", {"meta": {"d": "4"}})
    assert err.value.status == 400
    with pytest.raises(VolumeApiError) as err:
        await bob.request("POST", f"/snapshots/{snap['id']}/metadata", {"metadata": {"x": "y"}})
    assert err.value.status == 404


async def test_qos_delete_keys(api: Api) -> None:
    root, alice = admin(api), api.client("alpha", "alice")
    body = {"qos_specs": {"name": "q", "read_iops_sec": "100", "write_iops_sec": "50"}}
    qos = (await root.request("POST", "/qos-specs", body))["qos_specs"]
    path = f"/qos-specs/{qos['id']}/delete_keys"
    with pytest.raises(VolumeApiError) as err:
        await alice.request("PUT", path, {"keys": ["read_iops_sec"]})
    assert err.value.status == 403
    assert await root.request("PUT", path, {"keys": ["read_iops_sec"]}) is None
    shown = (await root.request("GET", f"/qos-specs/{qos['id']}"))["qos_specs"]
    assert shown["specs"] == {"write_iops_sec": "50"}
    with pytest.raises(VolumeApiError) as err:
        await root.request("PUT", path, {"keys": ["read_iops_sec"]})
    assert err.value.status == 404
    with pytest.raises(VolumeApiError) as err:
        await root.request("PUT", path, {"keys": "write_iops_sec"})
    assert err.value.status == 400


async def test_availability_zones_and_services(api: Api) -> None:
    alice, root = api.client("alpha", "alice"), admin(api)
    zones = await alice.request("GET", "/os-availability-zone")
    assert zones == {
        "availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}}]
    }
    services = (await root.request("GET", "/os-services"))["services"]
    assert [(s["binary"], s["zone"], s["status"], s["state"]) for s in services] == [
        ("cinder-scheduler", "nova", "enabled", "up"),
        ("cinder-volume", "nova", "enabled", "up"),
        ("cinder-backup", "nova", "enabled", "up"),
    ]
    only = await root.request("GET", "/os-services", params={"binary": "cinder-volume"})
    assert [s["host"] for s in only["services"]] == ["stratus@file"]
    with pytest.raises(VolumeApiError) as err:
        await alice.request("GET", "/os-services")
    assert err.value.status == 403 and err.value.fault == "forbidden"


async def test_forced_delete_is_for_admins_and_never_of_attached(api: Api) -> None:
    alice, root = api.client("alpha", "alice"), admin(api)
    stuck = await root.wait_volume((await root.create_volume(1))["id"])
    await root.volume_action(stuck["id"], "os-reset_status", {"status": "attaching"})
    with pytest.raises(VolumeApiError) as err:
        await root.delete_volume(stuck["id"])
    assert err.value.status == 400
    await root.request("DELETE", f"/volumes/{stuck['id']}", params={"force": "True"})
    await root.wait_volume_gone(stuck["id"])
    other = await root.wait_volume((await root.create_volume(1))["id"])
    await root.volume_action(other["id"], "os-reset_status", {"status": "error"})
    await root.volume_action(other["id"], "os-force_delete", {})
    await root.wait_volume_gone(other["id"])
    mine = await alice.wait_volume((await alice.create_volume(1))["id"])
    with pytest.raises(VolumeApiError) as err:
        await alice.request("DELETE", f"/volumes/{mine['id']}", params={"force": "true"})
    assert err.value.status == 403
    with pytest.raises(VolumeApiError) as err:
        await alice.volume_action(mine["id"], "os-force_delete", {})
    assert err.value.status == 403
    held = await root.wait_volume((await root.create_volume(1))["id"])
    await root.attach(held["id"], HOST)
    with pytest.raises(VolumeApiError) as err:
        await root.request("DELETE", f"/volumes/{held['id']}", params={"force": "true"})
    assert err.value.status == 400 and "attached" in err.value.message


async def test_all_tenants_lists_every_project_for_the_cloud_admin_only(api: Api) -> None:
    alice, bob, root = api.client("alpha", "alice"), api.client("beta", "bob"), admin(api)
    a = await alice.create_volume(1, name="a")
    b = await bob.create_volume(1, name="b")
    r = await root.create_volume(1, name="r")
    everyone = {v["id"] for v in await root.list_volumes(all_tenants=1)}
    assert {a["id"], b["id"], r["id"]} <= everyone
    assert {v["id"] for v in await root.list_volumes()} == {r["id"]}
    one = await root.list_volumes(all_tenants=1, project_id="beta")
    assert [(v["id"], v["os-vol-tenant-attr:tenant_id"]) for v in one] == [(b["id"], "beta")]
    assert {v["id"] for v in await alice.list_volumes(all_tenants=1)} == {a["id"]}
    await api.rig.idle()


async def test_copies_keep_the_source_type_and_read_only_shows(api: Api) -> None:
    alice, root = api.client("alpha", "alice"), admin(api)
    await root.request("POST", "/types", {"volume_type": {"name": "gold"}})
    src = await alice.wait_volume((await alice.create_volume(1, volume_type="gold"))["id"])
    snap = await alice.create_snapshot(src["id"])
    await alice._wait(lambda: alice.get_snapshot(snap["id"]), "available", 60, 0.1)
    clone = await alice.create_volume(None, source_volid=src["id"])
    from_snap = await alice.create_volume(None, snapshot_id=snap["id"])
    assert clone["volume_type"] == from_snap["volume_type"] == "gold"
    chosen = await alice.create_volume(None, source_volid=src["id"], volume_type="__DEFAULT__")
    assert chosen["volume_type"] == "__DEFAULT__"
    await api.rig.idle()
    await alice.volume_action(src["id"], "os-update_readonly_flag", {"readonly": True})
    assert (await alice.get_volume(src["id"]))["metadata"] == {"readonly": "True"}
    await alice.volume_action(src["id"], "os-update_readonly_flag", {"readonly": False})
    assert (await alice.get_volume(src["id"]))["metadata"] == {}


async def test_attachments_empty_connector_and_null_mode(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    att = await alice.create_attachment(vol["id"], instance_uuid="srv-1", connector={})
    assert att["status"] == "reserved" and att["connection_info"] == {}
    await alice.delete_attachment(att["id"])
    await alice.wait_volume(vol["id"])
    await alice.volume_action(vol["id"], "os-update_readonly_flag", {"readonly": True})
    for mode in (None, "null"):
        att = await alice.create_attachment(vol["id"], instance_uuid="srv-1", mode=mode)
        assert att["attach_mode"] == "ro"
        await alice.delete_attachment(att["id"])
        await alice.wait_volume(vol["id"])
    with pytest.raises(VolumeApiError) as err:
        await alice.create_attachment(vol["id"], instance_uuid="srv-1", mode="rw")
    assert err.value.status == 400


async def test_in_use_snapshots_and_extends_follow_the_microversion(api: Api) -> None:
    alice = api.client("alpha", "alice")
    token = api.token("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    await alice.attach(vol["id"], HOST)
    await alice.wait_volume(vol["id"], "in-use")
    path = "/v3/alpha/snapshots"
    plain = {"snapshot": {"volume_id": vol["id"]}}
    status, _, body = await call(api, "POST", path, token, "3.65", json=plain)
    assert status == 400 and "in-use" in body["badRequest"]["message"]
    status, _, body = await call(
        api, "POST", path, token, "3.66", json={"snapshot": {**plain["snapshot"], "force": False}}
    )
    assert status == 400 and "force" in body["badRequest"]["message"]
    status, _, body = await call(api, "POST", path, token, "3.66", json=plain)
    assert status == 202 and body["snapshot"]["consumes_quota"] is True
    action = f"/v3/alpha/volumes/{vol['id']}/action"
    grow = {"os-extend": {"new_size": 2}}
    status, _, body = await call(api, "POST", action, token, "3.41", json=grow)
    assert status == 400 and "3.42" in body["badRequest"]["message"]
    status, _, _ = await call(api, "POST", action, token, "3.42", json=grow)
    assert status == 202
    assert (await alice.wait_volume(vol["id"], "in-use"))["size"] == 2
    await api.rig.idle()


async def test_snapshot_lists_all_tenants_for_the_cloud_admin(api: Api) -> None:
    alice, root = api.client("alpha", "alice"), admin(api)
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    snap = await alice.create_snapshot(vol["id"])
    listed = await root.request("GET", "/snapshots/detail", params={"all_tenants": "True"})
    assert [s["id"] for s in listed["snapshots"]] == [snap["id"]]
    assert (await root.request("GET", "/snapshots"))["snapshots"] == []
    await api.rig.idle()


async def test_backup_update_and_all_tenants(backups) -> None:  # type: ignore[no-untyped-def]
    from tests.functional.blockstore.volume.conftest import start_api

    served = await start_api(backups, backups.cluster.identity)
    try:
        alice, root = served.client("alpha", "alice"), admin(served)
        bob = served.client("beta", "bob")
        vol = await alice.wait_volume((await alice.create_volume(1))["id"])
        bk = await alice.request("POST", "/backups", {"backup": {"volume_id": vol["id"]}})
        bid = bk["backup"]["id"]
        await alice._wait(lambda: alice.get_backup(bid), "available", 60, 0.1)
        body = {"backup": {"name": "nightly", "description": "d", "metadata": {"k": "v"}}}
        shown = (await alice.request("PUT", f"/backups/{bid}", body))["backup"]
        assert (shown["name"], shown["description"], shown["metadata"]) == (
            "nightly", "d", {"k": "v"},
        )  # fmt: skip
        with pytest.raises(VolumeApiError) as err:
            await alice.request("PUT", f"/backups/{bid}", {"backup": {"size": 9}})
        assert err.value.status == 400
        with pytest.raises(VolumeApiError) as err:
            await bob.request("PUT", f"/backups/{bid}", body)
        assert err.value.status == 404
        listed = await root.request("GET", "/backups/detail", params={"all_tenants": "1"})
        assert [b["id"] for b in listed["backups"]] == [bid]
        listed = await bob.request("GET", "/backups/detail", params={"all_tenants": "1"})
        assert listed["backups"] == []
        await backups.idle()
    finally:
        await served.close()


async def test_retype_in_place(api: Api) -> None:
    """os-retype (`openstack volume set --type`): in place, or refused with Cinder's 400."""
    alice, bob, root = api.client("alpha", "alice"), api.client("beta", "bob"), admin(api)
    await root.request("POST", "/types", {"volume_type": {"name": "silver"}})
    thick = {"name": "thick", "extra_specs": {"provisioning:type": "thick"}}
    await root.request("POST", "/types", {"volume_type": thick})
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    retype = {"new_type": "silver", "migration_policy": "never"}
    await alice.volume_action(vol["id"], "os-retype", retype)
    assert (await alice.get_volume(vol["id"]))["volume_type"] == "silver"
    for args, status in (
        ({"new_type": "silver"}, 400),  # already that type
        ({"new_type": "thick", "migration_policy": "on-demand"}, 400),  # needs a migration
        ({"new_type": "no-such"}, 404),
        ({"new_type": "silver", "migration_policy": "sometimes"}, 400),
    ):
        with pytest.raises(VolumeApiError) as err:
            await alice.volume_action(vol["id"], "os-retype", args)
        assert err.value.status == status, args
    with pytest.raises(VolumeApiError) as err:
        await bob.volume_action(vol["id"], "os-retype", {"new_type": "__DEFAULT__"})
    assert err.value.status == 404
