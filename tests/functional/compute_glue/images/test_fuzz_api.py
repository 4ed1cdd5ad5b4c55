"""Fuzz: mutated JSON bodies through the real image API (on a real object store) never 5xx.

Create-image bodies and JSON-patch documents are valid ones mutated (odd and
huge values, wrong types, dropped or added keys, broken JSON); the answer is
a success or Glance's error form with a 4xx status, never a 500.
"""

from __future__ import annotations

import json

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from compute_glue.images.api import PATCH_TYPES
from tests.functional.compute_glue.conftest import ImageRig
from tests.helpers.fuzz import PATH_IDS, budget, mutated_json

CREATE = {"name": "disk", "disk_format": "raw", "container_format": "bare", "min_ram": 64,
          "min_disk": 1, "visibility": "private", "tags": ["a"], "protected": False,
          "os_type": "linux"}  # fmt: skip
PATCH = [{"op": "replace", "path": "/name", "value": "n"},
         {"op": "add", "path": "/color", "value": "blue"},
         {"op": "remove", "path": "/os_type"},
         {"op": "replace", "path": "/min_ram", "value": 128}]  # fmt: skip


async def send(
    rig: ImageRig, token: str, method: str, path: str, body: bytes, ctype: str
) -> tuple[int, bytes]:
    headers = {"X-Auth-Token": token, "Content-Type": ctype}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, rig.url + path, data=body, headers=headers) as r,
    ):
        return r.status, await r.read()


def glance_error(status: int, reply: bytes) -> None:
    assert status < 500, reply[:300]
    if status >= 400:
        assert json.loads(reply)["code"].startswith(str(status))


@budget(25)
@given(data=st.data(), patch=st.booleans(), admin=st.booleans())
async def test_fuzz_image_api_bodies(
    images: ImageRig, data: st.DataObject, patch: bool, admin: bool
) -> None:
    token = images.token("alpha", "admin" if admin else "user", "admin" if admin else "member")
    ident = data.draw(PATH_IDS)
    status, reply = await send(images, token, "GET", f"/v2/images/{ident}", b"", "text/plain")
    glance_error(status, reply)
    if not patch:
        body = data.draw(mutated_json(CREATE))
        status, reply = await send(images, token, "POST", "/v2/images", body, "application/json")
        glance_error(status, reply)
        return
    status, reply = await send(images, token, "POST", "/v2/images",
                               json.dumps(CREATE).encode(), "application/json")  # fmt: skip
    assert status == 201, reply
    image_id = json.loads(reply)["id"]
    body = data.draw(mutated_json(PATCH))
    ctype = data.draw(st.sampled_from([*PATCH_TYPES, "application/json"]))
    status, reply = await send(images, token, "PATCH", f"/v2/images/{image_id}", body, ctype)
    glance_error(status, reply)
    status, reply = await send(images, token, "GET", f"/v2/images/{image_id}", b"", "text/plain")
    assert status == 200, reply  # the image is still readable, whatever the patch did
