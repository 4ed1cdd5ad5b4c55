"""The image service on a real object store (one node, one replica) with identity tokens.

``images`` is an :class:`ImageRig`: the image API on a free loopback port,
``rig.client(project, role=...)`` an ImageClient with a fresh token, and
``rig.swift(project)`` a SwiftClient on the project's own account, to look
at the bytes behind the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from compute_glue.images.api import make_app
from compute_glue.images.client import ImageClient
from compute_glue.images.data import DataSettings
from compute_glue.images.store import ImageStore
from compute_glue.objects import ObjectAccess, Tokens
from objectstore.apiclient import SwiftClient
from stratus.http.server import listen, serving
from tests.functional.objectstore.conftest import Cluster, make_cluster  # noqa: F401

CONTAINER = "test-images"


@dataclass
class ImageRig:
    cluster: Cluster
    settings: DataSettings
    url: str = ""
    store: ImageStore | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def start(self) -> ImageRig:
        self.store = ImageStore(self.cluster.root / "images" / "records")
        self.access = ObjectAccess(self.cluster.url, Tokens(self.cluster.identity))
        app = make_app(self.store, self.access, self.cluster.identity, self.settings)
        port = await self._stack.enter_async_context(serving(app, listen("127.0.0.1", 0)))
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        await self._stack.aclose()
        await self.access.close()
        assert self.store is not None
        self.store.close()

    def token(self, project: str, user: str = "user", role: str = "member") -> str:
        return self.cluster.token(project, user, role)

    async def client(self, project: str, user: str = "user", role: str = "member") -> ImageClient:
        c = ImageClient(self.url, self.token(project, user, role))
        self._stack.push_async_callback(c.close)
        return c

    async def swift(self, project: str) -> SwiftClient:
        c = SwiftClient(f"{self.cluster.url}/v1/AUTH_{project}", self.token(project, "peek"))
        self._stack.push_async_callback(c.close)
        return c


@pytest.fixture
async def images(make_cluster: Any) -> AsyncIterator[ImageRig]:  # noqa: F811
    cluster = await make_cluster(nodes=1, replicas=1)
    rig = await ImageRig(cluster, DataSettings(CONTAINER, 64 * 1024 * 1024)).start()
    yield rig
    await rig.stop()
