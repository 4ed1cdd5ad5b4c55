"""python-swiftclient, unmodified, against the proxy app (in a worker thread)."""

from __future__ import annotations

import asyncio
import io

from swiftclient import client as sc

from tests.functional.objectstore.conftest import Cluster


async def test_swiftclient_round_trip(cluster: Cluster) -> None:
    cluster.token("sc", "tester", role="admin")
    key = cluster.key("sc", "tester")

    def work() -> None:
        conn = sc.Connection(
            authurl=f"{cluster.url}/auth/v1.0", user="sc:tester", key=key, retries=0
        )
        conn.put_container("box", headers={"X-Container-Meta-Kind": "test"})
        etag = conn.put_object("box", "a/b.txt", b"hello", headers={"X-Object-Meta-K": "v"})
        assert etag == "5d41402abc4b2a76b9719d911017c592"
        # a file-like body of unknown length goes out chunked
        conn.put_object("box", "stream", io.BytesIO(b"s" * 300_000), chunk_size=65536)
        headers, body = conn.get_object("box", "a/b.txt")
        assert body == b"hello" and headers["x-object-meta-k"] == "v"
        assert headers["content-type"] == "text/plain"
        _h, body = conn.get_object("box", "stream")
        assert len(body) == 300_000
        _h, listing = conn.get_container("box")
        assert [o["name"] for o in listing] == ["a/b.txt", "stream"]
        _h, listing = conn.get_container("box", delimiter="/")
        assert listing[0] == {"subdir": "a/"}
        _h, containers = conn.get_account()
        assert [c["name"] for c in containers] == ["box"]
        conn.post_object("box", "a/b.txt", headers={"X-Object-Meta-New": "1"})
        assert conn.head_object("box", "a/b.txt")["x-object-meta-new"] == "1"
        conn.copy_object("box", "a/b.txt", destination="/box/copy")
        assert conn.get_object("box", "copy")[1] == b"hello"
        for name in ("a/b.txt", "stream", "copy"):
            conn.delete_object("box", name)
        conn.delete_container("box")
        try:
            conn.head_container("box")
        except sc.ClientException as exc:
            assert exc.http_status == 404
        else:
            raise AssertionError("container still there")
        info = conn.get_capabilities()
        assert info["swift"]["max_object_name_length"] == 1024

    await asyncio.to_thread(work)
