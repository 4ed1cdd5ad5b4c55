"""The volume API over HTTP, through the typed client and raw requests: Cinder's shapes,
its error form, auth and project isolation, pagination, attachments, types, quotas."""

from __future__ import annotations

import json

import aiohttp
import pytest

from blockstore.client import VolumeApiError
from tests.functional.blockstore.volume.conftest import Api

HOST = "iqn.2024-01.org.stratus.test:api-host"


async def raw(api: Api, method: str, path: str, *, token: str | None = None, **kw):  # type: ignore[no-untyped-def]
    headers = {"X-Auth-Token": token} if token else {}
    headers.update(kw.pop("headers", {}))
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, api.url + path, headers=headers, **kw) as r,
    ):
        body = await r.read()
        return r.status, r.headers, body


async def test_versions_and_healthcheck(api: Api) -> None:
    status, _, body = await raw(api, "GET", "/")
    assert status == 300 and b'"min_version": "3.0"' in body
    status, _, body = await raw(api, "GET", "/healthcheck")
    assert (status, body) == (200, b"OK")


async def test_auth_is_required_and_projects_must_match(api: Api) -> None:
    status, headers, body = await raw(api, "GET", "/v3/alpha/volumes")
    assert status == 401 and b'"unauthorized"' in body and "WWW-Authenticate" in headers
    status, _, _ = await raw(api, "GET", "/v3/alpha/volumes", token="AUTH_tkbogus")
    assert status == 401
    token = api.token("beta", "bob")
    status, _, body = await raw(api, "GET", "/v3/alpha/volumes", token=token)
    assert status == 403 and b'"forbidden"' in body


async def test_errors_have_cinders_form(api: Api) -> None:
    token = api.token("alpha", "alice")
    for size in (0, -1, "x"):
        status, _, body = await raw(api, "POST", "/v3/alpha/volumes", token=token,
                                    json={"volume": {"size": size}})  # fmt: skip
        assert status == 400
        assert set(json.loads(body)) == {"badRequest"}
    status, _, body = await raw(api, "POST", "/v3/alpha/volumes", token=token, data=b"{nope")
    assert status == 400 and b"not valid JSON" in body
    status, _, body = await raw(api, "POST", "/v3/alpha/volumes", token=token, json={"x": 1})
    assert status == 400 and b"Missing required element 'volume'" in body
    status, _, body = await raw(api, "GET", "/v3/alpha/volumes/no-such", token=token)
    assert status == 404 and b'"itemNotFound"' in body and b'"code": 404' in body
    status, _, body = await raw(api, "GET", "/v3/alpha/nothing-here", token=token)
    assert status == 404 and b"itemNotFound" in body
    status, _, _ = await raw(api, "PATCH", "/v3/alpha/volumes", token=token)
    assert status == 405
    status, _, _ = await raw(api, "GET", "/v3/alpha/volumes", token=token,
                             headers={"OpenStack-API-Version": "volume 3.99"})  # fmt: skip
    assert status == 406


async def test_volume_lifecycle_and_isolation(api: Api) -> None:
    alice, bob = api.client("alpha", "alice"), api.client("beta", "bob")
    vol = await alice.create_volume(1, name="data", metadata={"tier": "gold"})
    assert vol["status"] == "creating" and vol["volume_type"] == "__DEFAULT__"
    vol = await alice.wait_volume(vol["id"])
    assert vol["size"] == 1 and vol["bootable"] == "false" and vol["attachments"] == []
    with pytest.raises(VolumeApiError) as err:
        await bob.get_volume(vol["id"])
    assert err.value.status == 404 and err.value.fault == "itemNotFound"
    with pytest.raises(VolumeApiError) as err:
        await bob.delete_volume(vol["id"])
    assert err.value.status == 404
    with pytest.raises(VolumeApiError) as err:
        await alice.extend_volume(vol["id"], 1)
    assert err.value.status == 400 and "greater than current" in err.value.message
    await alice.extend_volume(vol["id"], 2)
    assert (await alice.wait_volume(vol["id"]))["size"] == 2
    vol = await alice.update_volume(vol["id"], name="renamed")
    assert vol["name"] == "renamed"
    await alice.delete_volume(vol["id"])
    await alice.wait_volume_gone(vol["id"])


async def test_over_quota_is_413(api: Api) -> None:
    alice = api.client("alpha", "alice")
    with pytest.raises(VolumeApiError) as err:
        await alice.create_volume(2000)  # over max_volume_gb too: a 400 first
    assert err.value.status == 400
    api.rig.manager.settings.quota_defaults["gigabytes"] = 2
    await alice.create_volume(2)
    with pytest.raises(VolumeApiError) as err:
        await alice.create_volume(1)
    assert err.value.status == 413 and err.value.fault == "overLimit"
    limits = await alice.limits()
    assert limits["absolute"]["totalGigabytesUsed"] == 2
    assert limits["absolute"]["maxTotalVolumeGigabytes"] == 2
    quota = await alice.quotas(usage=True)
    assert quota["gigabytes"] == {"limit": 2, "in_use": 2, "reserved": 0, "allocated": 0}
    await api.rig.idle()


async def test_pagination_and_filters(api: Api) -> None:
    alice = api.client("alpha", "alice")
    for i in range(5):
        await alice.create_volume(1, name=f"v{i % 2}")
    await api.rig.idle()
    page = await alice.request("GET", "/volumes", params={"limit": 2})
    assert len(page["volumes"]) == 2 and page["volumes_links"][0]["rel"] == "next"
    assert "marker=" in page["volumes_links"][0]["href"]
    assert len(await alice.list_volumes()) == 5  # the client follows the links
    assert len(await alice.list_volumes(name="v1")) == 2
    with pytest.raises(VolumeApiError) as err:
        await alice.request("GET", "/volumes", params={"marker": "missing"})
    assert err.value.status == 400


async def test_attachment_api_and_delete_while_in_use(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    att = await alice.attach(vol["id"], HOST, instance_uuid="vm-1")
    info = att["connection_info"]
    assert info["driver_volume_type"] == "iscsi"
    assert {"target_portal", "target_iqn", "target_lun", "auth_method", "auth_username",
            "auth_password", "access_mode"} <= set(info["data"])  # fmt: skip
    vol = await alice.get_volume(vol["id"])
    assert vol["status"] == "in-use" and vol["attachments"][0]["server_id"] == "vm-1"
    shown = await alice.get_attachment(att["id"])
    assert shown["status"] == "attached" and shown["connection_info"] == info
    with pytest.raises(VolumeApiError) as err:
        await alice.delete_volume(vol["id"])
    assert err.value.status == 400
    assert await alice.delete_attachment(att["id"]) == []
    assert (await alice.get_volume(vol["id"]))["status"] == "available"


async def test_legacy_volume_actions(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    await alice.volume_action(vol["id"], "os-reserve")
    got = await alice.volume_action(vol["id"], "os-initialize_connection",
                                    {"connector": {"initiator": HOST}})  # fmt: skip
    assert got["connection_info"]["data"]["auth_method"] == "CHAP"
    await alice.volume_action(vol["id"], "os-attach", {"instance_uuid": "vm-2",
                                                       "mountpoint": "/dev/vdc"})  # fmt: skip
    assert (await alice.get_volume(vol["id"]))["status"] == "in-use"
    await alice.volume_action(
        vol["id"], "os-terminate_connection", {"connector": {"initiator": HOST}}
    )
    await alice.volume_action(vol["id"], "os-detach", {})
    assert (await alice.get_volume(vol["id"]))["status"] == "available"
    with pytest.raises(VolumeApiError) as err:
        await alice.volume_action(vol["id"], "os-fly")
    assert err.value.status == 400 and "no such action" in err.value.message


async def test_snapshots_over_http(api: Api) -> None:
    alice = api.client("alpha", "alice")
    vol = await alice.wait_volume((await alice.create_volume(1))["id"])
    snap = await alice.create_snapshot(vol["id"], name="s")
    snap = await alice.wait_snapshot(snap["id"])
    clone = await alice.create_volume(None, snapshot_id=snap["id"])
    clone = await alice.wait_volume(clone["id"])
    assert clone["snapshot_id"] == snap["id"] and clone["size"] == 1
    with pytest.raises(VolumeApiError):
        await alice.delete_volume(vol["id"])  # it has a snapshot
    await alice.delete_volume(vol["id"], cascade=True)
    await alice.wait_volume_gone(vol["id"])
    assert await alice.list_snapshots() == []


async def test_types_and_qos_need_the_cloud_admin(api: Api) -> None:
    alice, admin = api.client("alpha", "alice"), api.client("admin", "admin", "admin")
    with pytest.raises(VolumeApiError) as err:
        await alice.create_type("fast")
    assert err.value.status == 403
    vt = await admin.create_type("thick", {"provisioning:type": "thick"})
    qos = await admin.create_qos("limited", {"total_iops_sec": "500"})
    await admin.associate_qos(qos["id"], vt["id"])
    names = {t["name"]: t for t in await alice.list_types()}
    assert names["thick"]["qos_specs_id"] == qos["id"]
    with pytest.raises(VolumeApiError) as err:
        await admin.create_type("bad", {"provisioning:type": "fat"})
    assert err.value.status == 400
    with pytest.raises(VolumeApiError) as err:
        await alice.set_quotas("alpha", volumes=100)
    assert err.value.status == 403
    assert (await admin.set_quotas("alpha", volumes=3))["volumes"] == 3
    assert (await alice.quotas())["volumes"] == 3


async def test_an_acl_only_user_has_no_volume_rights(api: Api) -> None:
    """Role ``acl-only`` (Swift's ACL-only user) reads nothing in the volume service."""
    await api.client("alpha").create_volume(1)
    carol = api.client("alpha", "carol", "acl-only")
    for call in (carol.list_volumes, lambda: carol.create_volume(1)):
        with pytest.raises(VolumeApiError) as err:
            await call()
        assert err.value.status == 403


async def test_readers_cannot_write(api: Api) -> None:
    reader = api.client("alpha", "rita", "reader")
    with pytest.raises(VolumeApiError) as err:
        await reader.create_volume(1)
    assert err.value.status == 403
    assert await reader.list_volumes() == []
