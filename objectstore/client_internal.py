"""Node-to-node and operator calls of :class:`objectstore.client.NodeClient`.

Kept apart from ``client.py`` (which serves the proxy) so that each stays
small; ``NodeClient`` inherits these methods, so there is still one client
and nobody builds node URLs by hand. Records travel in the node's own
versioned store encoding (opaque bytes here); the replicator makes and
reads them.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any

import msgpack

from objectstore.node import wire
from objectstore.node.values import NodeAddress, NodeError

if TYPE_CHECKING:
    import aiohttp

#: (name hash (16 bytes), data timestamp ticks, metadata timestamp ticks, deleted)
Entry = tuple[int, int, bool]
#: (name hash, record bytes, body bytes or None, metadata only)
PushItem = tuple[bytes, bytes, bytes | None, bool]


class InternalCalls:
    """Mixin: expects ``_request``, ``_headers`` and ``_check`` of NodeClient."""

    if TYPE_CHECKING:

        def _request(self, *args: Any, **kw: Any) -> Any: ...
        def _headers(self, timestamp: Any = None) -> dict[str, str]: ...
        async def _check(self, resp: aiohttp.ClientResponse) -> None: ...

    async def _repl_call(
        self, method: str, node: NodeAddress, path: str, value: Any = None, **kw: Any
    ) -> Any:
        headers = self._headers()
        data = None
        if value is not None:
            data = msgpack.packb([wire.REPL_VERSION, value], use_bin_type=True)
            headers["Content-Type"] = wire.MSGPACK
        async with self._request(method, node, path, headers, data=data, **kw) as resp:
            await self._check(resp)
            return _unpack(await resp.read())

    # -- objects --
    async def replicate_hashes(self, node: NodeAddress, part: int) -> dict[int, int]:
        """The peer's suffix hashes of ``part`` (recomputed there if stale)."""
        got = await self._repl_call("GET", node, wire.repl_path("ro", node.device, part))
        return {int(k): int(v) for k, v in got.items()}

    async def replicate_list(
        self, node: NodeAddress, part: int, suffixes: list[int]
    ) -> dict[bytes, Entry]:
        """What the peer holds in ``suffixes``: name hash -> (ts, meta ts, deleted)."""
        path = wire.repl_path("ro", node.device, part, "list")
        rows = await self._repl_call("POST", node, path, list(suffixes))
        return {bytes(r[0]): (int(r[1]), int(r[2]), bool(r[3])) for r in rows}

    async def replicate_push(
        self, node: NodeAddress, part: int, items: list[PushItem]
    ) -> list[int]:
        """Merge entries on the peer; a status per item (201 stored, 202 metadata,
        409 already as new, 412 needs the body, 422 body/ETag mismatch, 400 refused)."""
        path = wire.repl_path("ro", node.device, part, "push")
        statuses = await self._repl_call("POST", node, path, [list(i) for i in items])
        if len(statuses) != len(items):
            raise NodeError(502, "malformed push answer")
        return [int(s) for s in statuses]

    async def replicate_body(
        self,
        node: NodeAddress,
        part: int,
        key: bytes,
        record: bytes,
        body: AsyncIterable[bytes],
        size: int,
    ) -> int:
        """Send one entry with its body streamed; the merge status (as for a push)."""
        import base64

        headers = self._headers()
        headers[wire.OBJECT_KEY] = key.hex()
        headers[wire.RECORD] = base64.b64encode(record).decode("ascii")
        headers["Content-Length"] = str(size)
        headers["Content-Type"] = "application/octet-stream"
        path = wire.repl_path("ro", node.device, part, "body")
        async with self._request("PUT", node, path, headers, data=body) as resp:
            await self._check(resp)
            version, status = msgpack.unpackb(await resp.read())
            if version != wire.REPL_VERSION:
                raise NodeError(502, f"unknown replication version {version}")
            return int(status)

    # -- containers and accounts --
    async def db_digests(self, node: NodeAddress, kind: str, part: int) -> dict[bytes, int]:
        """``{owner hash: digest}`` of the peer's containers (kind ``c``) or accounts (``a``)."""
        path = wire.repl_path("r" + kind, node.device, part)
        got = await self._repl_call("GET", node, path)
        return {bytes(k): int(v) for k, v in got.items()}

    async def db_push(
        self,
        node: NodeAddress,
        kind: str,
        part: int,
        owner: bytes,
        info: bytes,
        rows: list[tuple[bytes, bytes]],
    ) -> int:
        """Merge a container's/account's info and a page of rows; rows that changed."""
        path = wire.repl_path("r" + kind, node.device, part, "push")
        return int(
            await self._repl_call("POST", node, path, [owner, info, [list(r) for r in rows]])
        )

    # -- operators --
    async def replicate_now(
        self, node: NodeAddress, workers: list[str] | None = None, timeout: float = 600.0
    ) -> dict[str, Any]:
        """Run a replication pass on the node now and wait for it; each worker's state."""
        import aiohttp

        query = {"timeout": str(timeout)}
        if workers:
            query["workers"] = ",".join(workers)
        headers = self._headers()
        long = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=timeout + 30.0)
        async with self._request(
            "POST", node, "/replicate", headers, query=query, timeout=long
        ) as resp:
            await self._check(resp)
            return await resp.json()

    async def device_partitions(self, node: NodeAddress) -> dict[str, list[int]]:
        """Partitions the device holds, per ring (``object``, ``container``, ``account``)."""
        path = f"/parts/{wire.quote_segment(node.device)}"
        async with self._request("GET", node, path, self._headers()) as resp:
            await self._check(resp)
            return await resp.json()

    async def node_metrics(self, node: NodeAddress) -> str:
        """The node's Prometheus exposition text."""
        async with self._request("GET", node, "/metrics", self._headers()) as resp:
            await self._check(resp)
            return await resp.text()


def _unpack(body: bytes) -> Any:
    try:
        version, value = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except Exception:
        raise NodeError(502, "malformed replication answer") from None
    if version != wire.REPL_VERSION:
        raise NodeError(502, f"unknown replication version {version}")
    return value
