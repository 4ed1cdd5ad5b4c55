"""Node-to-node replication calls and operator calls.

Kept apart from the calls the proxy makes so that each module stays small;
an :class:`InternalCalls` needs only a :class:`Transport`, and
:class:`objectstore.client.NodeClient` builds one over its own, so there is
still one client and nobody builds node URLs by hand. Records travel in the
node's own versioned store encoding (opaque bytes here); the replicator
makes and reads them.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterable
from typing import Any

import aiohttp
import msgpack

from objectstore.client.transport import Transport, request_headers
from objectstore.common import ringsign, wire
from objectstore.common.values import NodeAddress, NodeError

#: (data timestamp ticks, metadata timestamp ticks, deleted), per name hash (16 bytes)
Entry = tuple[int, int, bool]
#: (name hash, record bytes, body bytes or None, metadata only)
PushItem = tuple[bytes, bytes, bytes | None, bool]


class InternalCalls:
    """Replication between nodes and the operators' calls, over one :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _repl_call(self, method: str, node: NodeAddress, path: str, value: Any = None) -> Any:
        headers = request_headers()
        data = None
        if value is not None:
            data = msgpack.packb([wire.REPL_VERSION, value], use_bin_type=True)
            headers["Content-Type"] = wire.MSGPACK
        async with self.transport.request(method, node, path, headers, data=data) as resp:
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
        headers = request_headers()
        headers[wire.OBJECT_KEY] = key.hex()
        headers[wire.RECORD] = base64.b64encode(record).decode("ascii")
        headers["Content-Length"] = str(size)
        headers["Content-Type"] = "application/octet-stream"
        path = wire.repl_path("ro", node.device, part, "body")
        async with self.transport.request("PUT", node, path, headers, data=body) as resp:
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
    async def healthcheck(self, node: NodeAddress) -> None:
        """Return when the node process answers (NodeUnavailable otherwise)."""
        await self.transport.call("GET", node, "/healthcheck", request_headers())

    async def node_stats(self, node: NodeAddress) -> dict[str, Any]:
        """The node's counters: per-device commits and ops, update requests."""
        async with self.transport.request("GET", node, "/stats", request_headers()) as resp:
            return await resp.json()

    async def replicate_now(
        self, node: NodeAddress, workers: list[str] | None = None, timeout: float = 600.0
    ) -> dict[str, Any]:
        """Run a replication pass on the node now and wait for it; each worker's state."""
        query = {"timeout": str(timeout)}
        if workers:
            query["workers"] = ",".join(workers)
        long = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=timeout + 30.0)
        async with self.transport.request(
            "POST", node, "/replicate", request_headers(), query=query, timeout=long
        ) as resp:
            return await resp.json()

    async def device_partitions(self, node: NodeAddress) -> dict[str, list[int]]:
        """Partitions the device holds, per ring (``object``, ``container``, ``account``)."""
        path = f"/parts/{wire.quote_segment(node.device)}"
        async with self.transport.request("GET", node, path, request_headers()) as resp:
            return await resp.json()

    async def push_ring(
        self, node: NodeAddress, name: str, blob: bytes, key: bytes
    ) -> dict[str, Any]:
        """Give the node ring ``name`` (the file's bytes), signed with the cluster's key.

        The node's answer: ``result`` ("installed" or "current"), ``version``,
        ``checksum``, ``previous``. NodeError 401 (not authentic), 409 (older
        than the node's or a conflicting ring), 422 (not a whole ring file).
        """
        path = ringsign.ring_path(name)
        headers = request_headers()
        headers.update(ringsign.sign(key, "PUT", path, blob))
        headers["Content-Type"] = "application/octet-stream"
        async with self.transport.request("PUT", node, path, headers, data=blob) as resp:
            return await resp.json()

    async def fetch_ring(self, node: NodeAddress, name: str, key: bytes) -> bytes:
        """The node's ring file ``name``, its answer's signature checked (NodeError 502 if bad)."""
        path = ringsign.ring_path(name)
        headers = request_headers()
        headers.update(ringsign.sign(key, "GET", path, b""))
        async with self.transport.request("GET", node, path, headers) as resp:
            blob = await resp.content.read(ringsign.MAX_RING_BYTES + 1)
            if len(blob) > ringsign.MAX_RING_BYTES:
                raise NodeError(502, "ring answer too large")
            if ringsign.verify(key, ringsign.ANSWER, path, resp.headers, blob) is not None:
                raise NodeError(502, "ring answer not signed with the cluster's key")
            return blob

    async def node_metrics(self, node: NodeAddress) -> str:
        """The node's Prometheus exposition text."""
        async with self.transport.request("GET", node, "/metrics", request_headers()) as resp:
            return await resp.text()


def _unpack(body: bytes) -> Any:
    try:
        version, value = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except Exception:
        raise NodeError(502, "malformed replication answer") from None
    if version != wire.REPL_VERSION:
        raise NodeError(502, f"unknown replication version {version}")
    return value
