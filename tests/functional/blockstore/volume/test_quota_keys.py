"""Quota overrides are stored under the project's name: a name no project can have is
refused with Cinder's 400, never stored (LMDB refuses keys over 511 bytes: it was a 500)."""

from __future__ import annotations

import json

import aiohttp

from tests.functional.blockstore.volume.conftest import Api


async def test_a_quota_target_that_is_no_project_name_is_a_400(api: Api) -> None:
    token = api.token("admin", "admin", "admin")
    body = {"quota_set": {"volumes": 3}}
    headers = {"X-Auth-Token": token}
    async with aiohttp.ClientSession() as s:
        for target in ("p" * 600, "p" * 65, "a%2Fb"):
            url = f"{api.url}/v3/admin/os-quota-sets/{target}"
            async with s.put(url, json=body, headers=headers) as r:
                assert r.status == 400, (target[:10], r.status)
                assert set(json.loads(await r.read())) == {"badRequest"}
        async with s.put(
            f"{api.url}/v3/admin/os-quota-sets/alpha", json=body, headers=headers
        ) as r:
            assert r.status == 200
