"""objectstore.apiclient against a real proxy: login, containers, objects, listings, errors."""

from __future__ import annotations

import pytest

from objectstore.apiclient import NotFound, SwiftClient, SwiftError
from tests.functional.objectstore.conftest import ClusterFactory


async def test_login_and_object_round_trip(make_cluster: ClusterFactory) -> None:
    cluster = await make_cluster(nodes=1, replicas=1)
    cluster.token("demo", "bob")
    key = cluster.key("demo", "bob")
    async with await SwiftClient.login(f"{cluster.url}/auth/v1.0", "demo:bob", key) as c:
        assert c.storage_url.endswith("/v1/AUTH_demo")
        await c.put_container("b k")  # a name that needs quoting
        etag = await c.put_object("b k", "dir/a b.bin", b"hello")
        assert etag == "5d41402abc4b2a76b9719d911017c592"

        async def stream():  # type: ignore[no-untyped-def]
            for part in (b"par", b"ts"):
                yield part

        await c.put_object("b k", "dir/streamed", stream())
        assert await c.get_object("b k", "dir/streamed") == b"parts"
        async with c.open_object("b k", "dir/a b.bin") as resp:
            assert await resp.content.read() == b"hello"
        assert (await c.head_object("b k", "dir/a b.bin"))["Content-Length"] == "5"
        assert await c.head_object("b k", "missing") is None
        names = [o.name async for o in c.iter_objects("b k", prefix="dir/")]
        assert names == ["dir/a b.bin", "dir/streamed"]
        page = await c.list_objects("b k", marker="dir/a b.bin")
        assert [o.name for o in page] == ["dir/streamed"] and page[0].bytes == 5
        assert await c.delete_object("b k", "dir/a b.bin") is True
        assert await c.delete_object("b k", "dir/a b.bin") is False
        with pytest.raises(NotFound):
            await c.get_object("b k", "dir/a b.bin")
        with pytest.raises(NotFound):
            await c.delete_object("b k", "gone", missing_ok=False)


async def test_bad_credentials_and_tokens(make_cluster: ClusterFactory) -> None:
    cluster = await make_cluster(nodes=1, replicas=1)
    cluster.token("demo", "bob")
    with pytest.raises(SwiftError) as err:
        await SwiftClient.login(f"{cluster.url}/auth/v1.0", "demo:bob", "wrong")
    assert err.value.status == 401
    async with SwiftClient(f"{cluster.url}/v1/AUTH_demo", "AUTH_tkbogus") as c:
        with pytest.raises(SwiftError) as err:
            await c.put_container("x")
        assert err.value.status == 401
