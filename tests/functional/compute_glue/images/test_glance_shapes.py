"""What openstacksdk and the `openstack` CLI ask of the image API, answered as Glance does."""

from __future__ import annotations

import aiohttp

from tests.functional.compute_glue.conftest import ImageRig


async def _get(images: ImageRig, path: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"X-Auth-Token": token} if token else {}
    async with aiohttp.ClientSession() as s, s.get(images.url + path, headers=headers) as r:
        return r.status, await r.json()


async def test_version_documents_list_every_v2_minor(images: ImageRig) -> None:
    status, root = await _get(images, "/")
    assert status == 300  # Glance: Multiple Choices at the root, 200 at /versions
    ids = [v["id"] for v in root["versions"]]
    assert ids[0] == "v2.9" and ids[-1] == "v2.0" and len(ids) == 10
    assert [v["status"] for v in root["versions"]][:2] == ["CURRENT", "SUPPORTED"]
    assert root["versions"][0]["links"][0]["href"] == f"{images.url}/v2/"
    status, listed = await _get(images, "/versions")
    assert status == 200 and listed == root


async def test_sdk_style_filters_os_hidden_true_and_id_in(images: ImageRig) -> None:
    c = await images.client("alpha")
    a = await c.create(name="a", disk_format="raw", container_format="bare")
    b = await c.create(name="b", disk_format="raw", container_format="bare")
    hidden = await c.create(name="h", disk_format="raw", container_format="bare", os_hidden=True)
    # openstacksdk sends Python's spelling of booleans when it looks for hidden images.
    status, page = await _get(images, "/v2/images?os_hidden=True", c.token)
    assert status == 200 and [i["id"] for i in page["images"]] == [hidden["id"]]
    status, page = await _get(images, "/v2/images?os_hidden=False", c.token)
    assert status == 200 and {i["id"] for i in page["images"]} == {a["id"], b["id"]}
    # `openstack server list` names the images of a page of servers with id=in:...
    status, page = await _get(images, f"/v2/images?id=in:{a['id']},{hidden['id']}", c.token)
    assert status == 200 and [i["id"] for i in page["images"]] == [a["id"]]
    status, page = await _get(images, '/v2/images?name=in:"a",b', c.token)
    assert {i["name"] for i in page["images"]} == {"a", "b"}
    status, body = await _get(images, "/v2/images?os_hidden=maybe", c.token)
    assert status == 400 and body["code"].startswith("400")
