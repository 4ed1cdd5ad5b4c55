"""Fuzz: mutated JSON bodies through the real compute API (Nova and Neutron shapes) never 5xx.

The compute service's own application runs on loopback over a real network
manager (bridges under a prefix unique to the test, removed afterwards) and
a real server manager whose image and volume services are not there: a body
that passes every check records a server whose build then fails, and no
QEMU is ever started. Bodies are valid requests mutated (odd and huge
values, wrong types, dropped or added keys, broken JSON); the answer is a
success or the API's own error form with a 4xx status, never a 500.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compute_glue import service as compute_service
from compute_glue.objects import Tokens
from compute_glue.servers.manager import ComputeSettings, ServerManager
from stratus.http.server import listen, serving
from tests.functional.compute_glue.networks.conftest import NetRig, nets  # noqa: F401
from tests.helpers.fuzz import PATH_IDS, budget, mutated_json
from tests.helpers.net import free_port

NOWHERE = f"http://127.0.0.1:{free_port()}"  # image and volume services that never answer
SERVER = {"server": {"name": "vm", "flavorRef": "1", "imageRef": "{image}",
                     "metadata": {"k": "v"}, "networks": [{"uuid": "{net}"}]}}  # fmt: skip
REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/v2.1/servers", SERVER),
    ("POST", "/v2.1/servers/{server}/action", {"os-stop": None}),
    ("POST", "/v2.1/servers/{server}/action", {"reboot": {"type": "HARD"}}),
    ("POST", "/v2.1/servers/{server}/os-volume_attachments",
     {"volumeAttachment": {"volumeId": "{image}"}}),
    ("POST", "/v2.1/os-server-external-events",
     {"events": [{"name": "volume-detached", "server_uuid": "{server}", "tag": "{image}"}]}),
    ("POST", "/v2.0/networks", {"network": {"name": "n", "mtu": 1400, "admin_state_up": True}}),
    ("PUT", "/v2.0/networks/{net}", {"network": {"name": "m"}}),
    ("POST", "/v2.0/subnets", {"subnet": {"network_id": "{net}", "cidr": "10.99.0.0/24",
                                          "ip_version": 4, "gateway_ip": "10.99.0.1"}}),
    ("POST", "/v2.0/ports", {"port": {"network_id": "{net}",
                                      "fixed_ips": [{"ip_address": "10.99.0.7"}]}}),
]  # fmt: skip


@dataclass
class Compute:
    nets: NetRig
    url: str
    ids: dict[str, str]


@pytest.fixture
async def compute(nets: NetRig) -> AsyncIterator[Compute]:  # noqa: F811
    assert nets.manager is not None
    settings = ComputeSettings(image_url=NOWHERE, volume_url=NOWHERE, qemu="/nonexistent/qemu")
    servers = ServerManager(nets.root / "compute", nets.manager, Tokens(nets.identity), settings)
    await servers.start()
    app = compute_service.make_app(servers, nets.manager, nets.identity)
    async with contextlib.AsyncExitStack() as stack:
        port = await stack.enter_async_context(serving(app, listen("127.0.0.1", 0)))
        rig = Compute(
            nets, f"http://127.0.0.1:{port}", {"image": "7" * 8 + "-0000-0000-0000-" + "0" * 12}
        )
        try:
            yield rig
        finally:
            await servers.close()


async def send(rig: Compute, token: str, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, rig.url + path, data=body, headers=headers) as r,
    ):
        return r.status, await r.read()


def fill(text: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    return text


async def setup_ids(rig: Compute, token: str) -> None:
    """A network with a subnet and one server (whose build fails: no image service)."""
    status, body = await send(rig, token, "POST", "/v2.0/networks",
                              b'{"network": {"name": "fuzz"}}')  # fmt: skip
    assert status == 201, body
    rig.ids["net"] = json.loads(body)["network"]["id"]
    subnet = {"subnet": {"network_id": rig.ids["net"], "cidr": "10.98.0.0/24", "ip_version": 4}}
    status, body = await send(rig, token, "POST", "/v2.0/subnets", json.dumps(subnet).encode())
    assert status == 201, body
    status, body = await send(rig, token, "POST", "/v2.1/servers",
                              fill(json.dumps(SERVER), rig.ids).encode())  # fmt: skip
    assert status == 202, body
    rig.ids["server"] = json.loads(body)["server"]["id"]


@budget(25)
@given(which=st.integers(0, len(REQUESTS) - 1), data=st.data(), admin=st.booleans())
async def test_fuzz_compute_api_bodies(
    compute: Compute, which: int, data: st.DataObject, admin: bool
) -> None:
    token = compute.nets.token(
        "alpha", "admin" if admin else "user", "admin" if admin else "member"
    )
    if "server" not in compute.ids:
        await setup_ids(compute, compute.nets.token("alpha", "user"))
    method, path, template = REQUESTS[which]
    body = data.draw(mutated_json(json.loads(fill(json.dumps(template), compute.ids))))
    status, reply = await send(compute, token, method, fill(path, compute.ids), body)
    assert status < 500, (method, path, body[:300], reply[:300])
    if status >= 400:
        assert isinstance(json.loads(reply), dict)
    ident = data.draw(PATH_IDS)
    for path in ("/v2.1/servers/", "/v2.0/networks/", "/v2.0/subnets/", "/v2.0/ports/"):
        status, reply = await send(compute, token, "GET", path + ident, b"")
        assert status < 500, (path + ident, reply[:300])
