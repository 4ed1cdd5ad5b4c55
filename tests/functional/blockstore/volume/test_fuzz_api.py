"""Fuzz: mutated JSON bodies through the real volume API on loopback never answer 5xx.

Each example takes a valid Cinder request (create volume, update, metadata,
actions, snapshots, attachments, types, QoS, quotas, backups), mutates its
body (odd values, huge and non-finite numbers, wrong types, dropped or
added keys, broken JSON) and sends it as the project's admin-less member
and as an admin. The answer must be Cinder's error form with a 4xx status,
or a success; never a 500 (an exception the handlers did not expect).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from tests.functional.blockstore.volume.conftest import Api
from tests.helpers.fuzz import PATH_IDS, budget, mutated_json

HOST = "iqn.2024-01.org.stratus.test:fuzz"
CONNECTOR = {"initiator": HOST, "ip": "127.0.0.1", "host": "fuzz", "multipath": False}
REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/volumes", {"volume": {"size": 1, "name": "v", "metadata": {"a": "b"}}}),
    ("PUT", "/volumes/{vol}", {"volume": {"name": "n", "description": "d"}}),
    ("POST", "/volumes/{vol}/metadata", {"metadata": {"k": "v"}}),
    ("PUT", "/volumes/{vol}/metadata", {"metadata": {"k": "v"}}),
    ("PUT", "/volumes/{vol}/metadata/k", {"meta": {"k": "v"}}),
    ("POST", "/volumes/{vol}/action", {"os-extend": {"new_size": 2}}),
    ("POST", "/volumes/{vol}/action", {"os-initialize_connection": {"connector": CONNECTOR}}),
    ("POST", "/volumes/{vol}/action", {"os-update_readonly_flag": {"readonly": True}}),
    ("POST", "/volumes/{vol}/action", {"os-set_bootable": {"bootable": True}}),
    ("POST", "/volumes/{vol}/action", {"os-reset_status": {"status": "available"}}),
    ("POST", "/volumes/{vol}/action", {"os-attach": {"mountpoint": "/dev/vdb"}}),
    ("POST", "/snapshots", {"snapshot": {"volume_id": "{vol}", "name": "s", "force": True}}),
    ("POST", "/attachments", {"attachment": {"volume_uuid": "{vol}", "connector": CONNECTOR}}),
    ("POST", "/types", {"volume_type": {"name": "t", "extra_specs": {"multiattach": "<is> True"}}}),
    ("POST", "/qos-specs", {"qos_specs": {"name": "q", "total_iops_sec": "100"}}),
    ("PUT", "/os-quota-sets/alpha", {"quota_set": {"volumes": 10, "gigabytes": 100}}),
    ("POST", "/backups", {"backup": {"volume_id": "{vol}", "incremental": False}}),
]


async def send(api: Api, token: str, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, f"{api.url}/v3/alpha{path}", data=body, headers=headers) as r,
    ):
        return r.status, await r.read()


def fill(value: Any, vol: str) -> Any:
    text = json.dumps(value).replace("{vol}", vol)
    return json.loads(text)


@budget(30)
@given(which=st.integers(0, len(REQUESTS) - 1), data=st.data(), admin=st.booleans())
async def test_fuzz_volume_api_bodies(
    api: Api, which: int, data: st.DataObject, admin: bool
) -> None:
    member = api.token("alpha", "alice")
    if not hasattr(api, "fuzz_volume"):  # one real volume for the id-taking requests
        status, body = await send(api, member, "POST", "/volumes",
                                  json.dumps({"volume": {"size": 1}}).encode())  # fmt: skip
        assert status == 202, body
        api.fuzz_volume = json.loads(body)["volume"]["id"]  # type: ignore[attr-defined]
    vol = api.fuzz_volume  # type: ignore[attr-defined]
    token = api.token("admin", "admin", "admin") if admin else member
    method, path, template = REQUESTS[which]
    body = data.draw(mutated_json(fill(template, vol)))
    status, reply = await send(api, token, method, path.replace("{vol}", vol), body)
    assert status < 500, (method, path, body[:300], reply[:300])
    if status >= 400:
        fault = json.loads(reply)
        assert len(fault) == 1 and next(iter(fault.values()))["code"] == status
    ident = data.draw(PATH_IDS)
    for path in ("/volumes/", "/snapshots/", "/attachments/", "/backups/", "/types/"):
        status, reply = await send(api, token, "GET", path + ident, b"")
        assert status < 500, (path + ident, reply[:300])
