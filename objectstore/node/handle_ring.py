"""``PUT /ring/<name>``: a ring file pushed by `stratus ring push`, installed if it is newer;
``GET /ring/<name>``: this node's ring, for peers that fetch from it (``cluster.ring_source``).

The push must be signed with the cluster's key (``objectstore.common.ringsign``;
401 otherwise, 403 when this node has no key because it runs unsalted). The
body is read whole (bounded by ``MAX_RING_BYTES``), its signature checked,
then ``ring.install_ring`` decides: 201 installed, 200 already this ring,
409 refused (older, another shape, another ring under the same version),
422 not a whole ring file (bad checksum, truncated). Installed rings are
loaded at once, so the node serves with the new ring when it answers.
A GET is signed the same way (empty body) and so is its answer.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.common import ringsign
from ring import Installed, Outcome, RingFileError, RingRefused, install_ring

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger("objectstore.node")
_KIND_OF = {"account": "a", "container": "c", "object": "o"}


async def install(state: NodeState, name: str, blob: bytes, *, source: str) -> Installed:
    """Install ``blob`` as ring ``name`` if newer (``ring.install_ring``) and load it now.

    One install at a time per node: the version check and the rename stay together.
    """
    assert state.settings.ring_dir is not None
    path = os.path.join(state.settings.ring_dir, f"{name}.ring")
    async with state.ring_lock:
        done = await asyncio.to_thread(install_ring, path, blob, source=source)
        if state.rings is not None:
            await asyncio.to_thread(state.rings.refresh, _KIND_OF[name])
    if done.previous != done.version:
        log.info("installed %s ring version %s (was %s)", name, done.version, done.previous)
    return done


def _answer(status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=status)


async def handle_ring(state: NodeState, request: web.Request, name: str) -> web.Response:
    """PUT installs a pushed ring, GET hands this node's ring to a peer; both signed."""
    if request.method not in ("PUT", "GET"):
        return _answer(405, error="method not allowed")
    if name not in _KIND_OF:
        return _answer(404, error=f"no ring named {name!r}")
    key, ring_dir = state.settings.ring_key, state.settings.ring_dir
    if key is None:
        return _answer(403, error="this node has no cluster key (unsalted): rings are not shared")
    if ring_dir is None:
        return _answer(404, error="this node keeps no rings")
    if request.method == "GET":
        return await _handle_fetch(request, key, os.path.join(ring_dir, f"{name}.ring"))
    return await _handle_push(state, request, key, name)


async def _handle_fetch(request: web.Request, key: bytes, path: str) -> web.Response:
    path_only = request.raw_path.split("?", 1)[0]
    why = ringsign.verify(key, "GET", path_only, request.headers, b"")
    if why is not None:
        log.warning("refused ring fetch from %s: %s", request.remote, why)
        return _answer(401, error=why)
    try:
        blob = await asyncio.to_thread(_read, path)
    except FileNotFoundError:
        return _answer(404, error="no such ring here yet")
    headers = ringsign.sign(key, ringsign.ANSWER, path_only, blob)
    return web.Response(body=blob, headers=headers, content_type="application/octet-stream")


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


async def _handle_push(
    state: NodeState, request: web.Request, key: bytes, name: str
) -> web.Response:
    length = request.content_length
    if length is None:
        return _answer(411, error="Content-Length required")
    if length > ringsign.MAX_RING_BYTES:
        return _answer(413, error=f"a ring file is at most {ringsign.MAX_RING_BYTES} bytes")
    # Read past client_max_size on purpose: the bound is MAX_RING_BYTES, checked above.
    try:
        body = await request.content.readexactly(length)
    except asyncio.IncompleteReadError:
        return _answer(400, error="ring body shorter than its Content-Length")
    path_only = request.raw_path.split("?", 1)[0]
    why = ringsign.verify(key, request.method, path_only, request.headers, body)
    if why is not None:
        log.warning("refused ring push of %s from %s: %s", name, request.remote, why)
        return _answer(401, error=why)
    try:
        done = await install(state, name, body, source=f"pushed {name} ring")
    except RingFileError as exc:
        log.warning("refused ring push of %s: %s", name, exc)
        return _answer(422, error=str(exc))
    except RingRefused as exc:
        log.warning("refused ring push of %s: %s", name, exc)
        return _answer(409, error=str(exc))
    return _answer(
        201 if done.outcome is Outcome.INSTALLED else 200,
        ring=name,
        result=done.outcome.value,
        version=done.version,
        checksum=done.checksum,
        previous=done.previous,
    )
