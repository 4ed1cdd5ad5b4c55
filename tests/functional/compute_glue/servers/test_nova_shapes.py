"""What the `openstack` CLI and openstacksdk ask of the compute API, answered as Nova does.

The compute service's own application over a real network manager and a
real server manager whose image and volume services are not there (as in
test_fuzz_api): servers are recorded, their builds fail, no QEMU starts.
Version documents, microversion negotiation, the shapes that change with
the microversion, limits, availability zones, what create refuses by name,
and the block device mappings the CLI sends.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from compute_glue import service as compute_service
from compute_glue.networks.model import default_group_id
from compute_glue.objects import Tokens
from compute_glue.servers.manager import ComputeSettings, ServerManager
from stratus.http.server import listen, serving
from tests.functional.compute_glue.networks.conftest import NetRig, nets  # noqa: F401
from tests.helpers.net import free_port

NOWHERE = f"http://127.0.0.1:{free_port()}"  # image and volume services that never answer
IMAGE = "7" * 8 + "-0000-0000-0000-" + "0" * 12
VOLUME = "5" * 8 + "-0000-0000-0000-" + "0" * 12


@dataclass
class Nova:
    nets: NetRig
    servers: ServerManager
    url: str

    def token(self, project: str = "alpha", role: str = "member") -> str:
        user = "user" if role == "member" else f"{role}-user"
        return self.nets.token(project, user, role)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        version: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        h = {"X-Auth-Token": token or self.token(), **(headers or {})}
        if version is not None:
            h["OpenStack-API-Version"] = f"compute {version}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            h["Content-Type"] = "application/json"
        async with (
            aiohttp.ClientSession() as s,
            s.request(method, self.url + path, data=data, headers=h) as r,
        ):
            raw = await r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers

    async def create(self, server: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        body = {"name": "vm", "flavorRef": "1", "imageRef": IMAGE, "networks": "none", **server}
        status, out, _ = await self.call("POST", "/v2.1/servers", {"server": body}, **kw)
        return status, out


@pytest.fixture
async def nova(nets: NetRig) -> AsyncIterator[Nova]:  # noqa: F811
    assert nets.manager is not None
    settings = ComputeSettings(image_url=NOWHERE, volume_url=NOWHERE, qemu="/nonexistent/qemu")
    servers = ServerManager(nets.root / "compute", nets.manager, Tokens(nets.identity), settings)
    await servers.start()
    app = compute_service.make_app(servers, nets.manager, nets.identity)
    async with contextlib.AsyncExitStack() as stack:
        port = await stack.enter_async_context(serving(app, listen("127.0.0.1", 0)))
        try:
            yield Nova(nets, servers, f"http://127.0.0.1:{port}")
        finally:
            await servers.close()


async def test_version_documents_advertise_min_and_max(nova: Nova) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(nova.url + "/") as r:
            assert r.status == 200  # Nova answers the root with 200, not 300
            root = await r.json()
        async with s.get(nova.url + "/v2.1") as r:  # keystoneauth asks without the slash
            assert r.status == 200
            bare = await r.json()
        async with s.get(nova.url + "/v2.1/") as r:
            slashed = await r.json()
    v21 = next(v for v in root["versions"] if v["id"] == "v2.1")
    assert (v21["status"], v21["min_version"], v21["version"]) == ("CURRENT", "2.1", "2.79")
    assert v21["links"][0]["href"] == f"{nova.url}/v2.1/"
    assert bare == slashed == {"version": v21}


async def test_microversion_negotiation(nova: Nova) -> None:
    status, _, h = await nova.call("GET", "/v2.1/flavors")
    assert status == 200 and h["OpenStack-API-Version"] == "compute 2.1"
    assert h["X-OpenStack-Nova-API-Version"] == "2.1"
    assert "OpenStack-API-Version" in h["Vary"]
    status, _, h = await nova.call("GET", "/v2.1/flavors", version="2.60")
    assert h["OpenStack-API-Version"] == "compute 2.60"
    legacy = {"X-OpenStack-Nova-API-Version": "2.30"}
    status, _, h = await nova.call("GET", "/v2.1/flavors", headers=legacy)
    assert h["OpenStack-API-Version"] == "compute 2.30"
    both = {"OpenStack-API-Version": "volume 3.5, compute 2.42"}
    status, _, h = await nova.call("GET", "/v2.1/flavors", headers=both)
    assert h["X-OpenStack-Nova-API-Version"] == "2.42"
    status, _, h = await nova.call("GET", "/v2.1/flavors", version="latest")
    assert h["OpenStack-API-Version"] == "compute 2.79"
    for too_far in ("2.80", "2.0", "3.1"):
        status, body, h = await nova.call("GET", "/v2.1/flavors", version=too_far)
        assert status == 406, too_far
        assert "maximum is 2.79" in body["computeFault"]["message"]
        assert h["OpenStack-API-Version"] == "compute 2.1"
    status, body, _ = await nova.call("GET", "/v2.1/flavors", version="two")
    assert status == 400 and "badRequest" in body


async def test_flavor_and_server_shapes_follow_the_microversion(nova: Nova) -> None:
    _, old, _ = await nova.call("GET", "/v2.1/flavors/2")
    _, new, _ = await nova.call("GET", "/v2.1/flavors/2", version="2.61")
    assert "extra_specs" not in old["flavor"] and new["flavor"]["extra_specs"] == {}
    assert (new["flavor"]["ram"], new["flavor"]["vcpus"], new["flavor"]["disk"]) == (512, 1, 5)
    assert new["flavor"]["description"] is None
    # `openstack flavor show` reads the extra specs too.
    status, specs, _ = await nova.call("GET", "/v2.1/flavors/2/os-extra_specs")
    assert (status, specs) == (200, {"extra_specs": {}})
    status, _, _ = await nova.call("GET", "/v2.1/flavors/2/os-extra_specs/hw:cpu_policy")
    assert status == 404
    status, body, _ = await nova.call("GET", "/v2.1/flavors/99/os-extra_specs")
    assert status == 404 and "itemNotFound" in body
    status, made = await nova.create({"flavorRef": "m1.small"})
    assert status == 202, made
    sid = made["server"]["id"]
    _, old, _ = await nova.call("GET", f"/v2.1/servers/{sid}")
    assert old["server"]["flavor"]["id"] == "2" and "locked" not in old["server"]
    _, new, _ = await nova.call("GET", f"/v2.1/servers/{sid}", version="2.79")
    assert new["server"]["flavor"]["original_name"] == "m1.small"
    assert new["server"]["flavor"]["ram"] == 512
    assert new["server"]["locked"] is False and new["server"]["tags"] == []
    assert new["server"]["OS-EXT-AZ:availability_zone"] == "nova"


async def test_limits_count_the_projects_servers(nova: Nova) -> None:
    for flavor in ("1", "3"):
        assert (await nova.create({"flavorRef": flavor}))[0] == 202
    assert (await nova.create({}, token=nova.token("beta")))[0] == 202
    status, body, _ = await nova.call("GET", "/v2.1/limits", version="2.57")
    absolute = body["limits"]["absolute"]
    assert status == 200 and body["limits"]["rate"] == []
    assert (absolute["totalInstancesUsed"], absolute["totalCoresUsed"]) == (2, 3)
    assert absolute["totalRAMUsed"] == 256 + 1024 and absolute["maxTotalInstances"] == -1
    assert "maxPersonality" not in absolute and "maxSecurityGroups" not in absolute
    _, body, _ = await nova.call("GET", "/v2.1/limits")  # 2.1 still has the old fields
    assert body["limits"]["absolute"]["maxSecurityGroups"] == 0
    status, _, _ = await nova.call("GET", "/v2.1/limits?tenant_id=beta")
    assert status == 403


async def test_availability_zones_and_refused_parts(nova: Nova) -> None:
    status, body, _ = await nova.call("GET", "/v2.1/os-availability-zone")
    assert status == 200
    assert body["availabilityZoneInfo"][0]["zoneName"] == "nova"
    status, _, _ = await nova.call("GET", "/v2.1/os-availability-zone/detail")
    assert status == 403  # Nova's policy: the host list is the admin's
    status, body, _ = await nova.call("GET", "/v2.1/os-keypairs")
    assert status == 501 and "Key pairs are not supported" in body["notImplemented"]["message"]
    for refused, words in (
        ({"key_name": "mine"}, "Key pairs are not supported"),
        ({"security_groups": [{"name": "web"}]}, "Only the 'default' security group"),
        ({"availability_zone": "elsewhere"}, "availability zone"),
        ({"max_count": 3}, "max_count"),
    ):
        status, body = await nova.create(refused)
        assert status == 400 and words in body["badRequest"]["message"], (refused, body)
    assert (await nova.create({"availability_zone": "nova"}))[0] == 202
    # `openstack server create --security-group default` names the group Neutron lists.
    group = default_group_id("alpha")
    for name in ("default", group):
        assert (await nova.create({"security_groups": [{"name": name}]}))[0] == 202
    status, body, _ = await nova.call("POST", "/v2.1/servers/x/action", {"addSecurityGroup": {}})
    assert status == 404  # no such server, before "not implemented"


async def test_the_clis_image_mapping_and_string_booleans(nova: Nova) -> None:
    # `openstack server create --image` sends the image again as a local boot mapping.
    local = {"uuid": IMAGE, "boot_index": 0, "source_type": "image",
             "destination_type": "local", "delete_on_termination": True}  # fmt: skip
    status, made = await nova.create({"block_device_mapping_v2": [local]})
    assert status == 202, made
    assert nova.servers.load(made["server"]["id"]).image_id == IMAGE
    no_ref = {"imageRef": "", "block_device_mapping_v2": [local]}
    status, made = await nova.create(no_ref)
    assert status == 202 and nova.servers.load(made["server"]["id"]).image_id == IMAGE
    other = {**local, "uuid": VOLUME}
    status, body = await nova.create({"block_device_mapping_v2": [other]})
    assert status == 400 and "another image" in body["badRequest"]["message"]
    # `--block-device-mapping vdb=VOL:volume::false` sends "false" as a string: it must
    # keep the volume when the server goes (bool("false") would delete it).
    vdb = {"device_name": "vdb", "uuid": VOLUME, "source_type": "volume", "boot_index": "-1",
           "destination_type": "volume", "delete_on_termination": "false"}  # fmt: skip
    status, made = await nova.create({"block_device_mapping_v2": [local, vdb]})
    assert status == 202, made
    (bdm,) = nova.servers.load(made["server"]["id"]).block_devices
    assert bdm["delete_on_termination"] is False and bdm["boot_index"] is None
    status, body = await nova.create(
        {"block_device_mapping_v2": [{**vdb, "delete_on_termination": "maybe"}]}
    )
    assert status == 400


async def test_the_admin_lists_its_own_project_unless_all_tenants(nova: Nova) -> None:
    assert (await nova.create({"name": "alphas"}))[0] == 202
    admin = nova.token("admin", "admin")
    _, mine, _ = await nova.call("GET", "/v2.1/servers/detail", token=admin)
    assert mine["servers"] == []
    _, every, _ = await nova.call("GET", "/v2.1/servers/detail?all_tenants=1", token=admin)
    assert [s["name"] for s in every["servers"]] == ["alphas"]
    _, theirs, _ = await nova.call("GET", "/v2.1/servers?project_id=alpha", token=admin)
    assert [s["name"] for s in theirs["servers"]] == ["alphas"]
    # A member's all_tenants changes nothing.
    _, other, _ = await nova.call("GET", "/v2.1/servers?all_tenants=1", token=nova.token("beta"))
    assert other["servers"] == []


async def test_quota_sets_are_unlimited_with_real_usage_and_read_only(nova: Nova) -> None:
    for flavor in ("1", "3"):
        assert (await nova.create({"flavorRef": flavor}))[0] == 202
    assert (await nova.create({}, token=nova.token("beta")))[0] == 202
    status, body, _ = await nova.call("GET", "/v2.1/os-quota-sets/alpha", version="2.56")
    quota = body["quota_set"]
    assert status == 200 and quota.pop("id") == "alpha"
    assert set(quota.values()) == {-1}
    assert {"instances", "cores", "ram", "key_pairs", "injected_files"} <= set(quota)
    assert "security_groups" not in quota  # gone since 2.36
    _, body, _ = await nova.call("GET", "/v2.1/os-quota-sets/alpha", version="2.79")
    assert "injected_files" not in body["quota_set"]  # gone since 2.57
    _, body, _ = await nova.call("GET", "/v2.1/os-quota-sets/alpha/detail", version="2.56")
    detail = body["quota_set"]
    assert detail["instances"] == {"in_use": 2, "limit": -1, "reserved": 0}
    assert (detail["cores"]["in_use"], detail["ram"]["in_use"]) == (3, 256 + 1024)
    assert detail["key_pairs"] == {"in_use": 0, "limit": -1, "reserved": 0}
    status, body, _ = await nova.call("GET", "/v2.1/os-quota-sets/beta/defaults")
    assert status == 200 and body["quota_set"]["instances"] == -1
    # Nova's policy: another project's quotas are the admin's business.
    for path in ("/v2.1/os-quota-sets/beta", "/v2.1/os-quota-sets/beta/detail"):
        status, body, _ = await nova.call("GET", path)
        assert status == 403 and "os-quota-sets:show" in body["forbidden"]["message"]
    admin = nova.token("admin", "admin")
    _, body, _ = await nova.call("GET", "/v2.1/os-quota-sets/beta/detail", token=admin)
    assert body["quota_set"]["instances"]["in_use"] == 1
    # Nothing to set: a member is refused by policy, the admin told why.
    change = {"quota_set": {"instances": 5}}
    status, body, _ = await nova.call("PUT", "/v2.1/os-quota-sets/alpha", change)
    assert status == 403 and "os-quota-sets:update" in body["forbidden"]["message"]
    status, body, _ = await nova.call("PUT", "/v2.1/os-quota-sets/alpha", change, token=admin)
    assert status == 400 and "not enforced" in body["badRequest"]["message"]
