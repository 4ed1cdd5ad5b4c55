"""Every aiohttp service answers with its request id, in the headers its OpenStack peer uses.

Each service's own app is served on loopback with the least it needs to
answer its version document, its health check, an unknown path and a
refused API call (no manager is reached); the ids come from the shared
middleware of ``stratus.http.errors``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from stratus import config
from stratus.identity import IdentityStore
from tests.helpers.net import serve_app

OPENSTACK = ("X-Openstack-Request-Id",)
REQ = re.compile(r"^req-[0-9a-f-]{36}$")
TX = re.compile(r"^tx[0-9a-f]{21}-[0-9a-f]{10}$")
AMZ = re.compile(r"^[0-9A-F]{16}$")


def _image(tmp: Path, identity: IdentityStore) -> web.Application:
    from compute_glue.images.api import make_app
    from compute_glue.images.store import ImageStore

    return make_app(ImageStore(tmp / "images"), None, identity, None)


def _compute(tmp: Path, identity: IdentityStore) -> web.Application:
    from compute_glue.service import make_app

    return make_app(None, None, identity)


def _network(tmp: Path, identity: IdentityStore) -> web.Application:
    from compute_glue.networks.endpoint import make_app

    return make_app(None, identity)


def _volume(tmp: Path, identity: IdentityStore) -> web.Application:
    from blockstore.api.app import make_app

    return make_app(None, identity)


def _identity(tmp: Path, identity: IdentityStore) -> web.Application:
    from stratus.identity.keystone.app import make_app
    from stratus.identity.keystone.catalog import Catalog

    return make_app(identity, Catalog.from_config(config.Config()), token_lifetime=60)


def _swift(tmp: Path, identity: IdentityStore) -> web.Application:
    from objectstore.proxy.swift.app import make_app

    return make_app(None, identity, config.Config())


def _s3(tmp: Path, identity: IdentityStore) -> web.Application:
    from s3compat.app import make_s3_app

    return make_s3_app(None, identity, config.Config())  # no core: each request is refused first


def _console(tmp: Path, identity: IdentityStore) -> web.Application:
    from stratus.console.app import make_app

    cfg = config.Config()
    cfg.data.dir = str(tmp)
    return make_app(cfg, identity)


Maker = Callable[[Path, IdentityStore], web.Application]
COMMON = ("/", "/healthcheck", "/no/such/path")
# service -> (app maker, headers that carry the id, the id's form, paths beside COMMON)
SERVICES: dict[str, tuple[Maker, tuple[str, ...], re.Pattern[str], tuple[str, ...]]] = {
    "image": (_image, OPENSTACK, REQ, ("/v2/images",)),
    "compute": (
        _compute,
        ("X-Openstack-Request-Id", "X-Compute-Request-Id"),
        REQ,
        ("/v2.1", "/v2.1/servers", "/v2.1/no/such"),
    ),
    "network": (_network, OPENSTACK, REQ, ("/v2.0/networks",)),
    "volume": (_volume, OPENSTACK, REQ, ("/v3/demo/volumes",)),
    "identity": (_identity, OPENSTACK, REQ, ("/v3/auth/tokens",)),
    "swift": (_swift, ("X-Trans-Id", "X-Openstack-Request-Id"), TX, ("/v1/AUTH_demo",)),
    "console": (_console, OPENSTACK, REQ, ("/objects",)),
    "s3": (_s3, ("x-amz-request-id", "x-amz-id-2"), AMZ, ("/bucket/key",)),
}


@pytest.fixture
async def identity(tmp_path: Path) -> AsyncIterator[IdentityStore]:
    store = IdentityStore(tmp_path / "identity")
    yield store
    store.close()


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_answer_carries_a_fresh_request_id(
    service: str, tmp_path: Path, identity: Any
) -> None:
    make, headers, form, more = SERVICES[service]
    seen: set[str] = set()
    async with serve_app(make(tmp_path, identity)) as url, aiohttp.ClientSession() as session:
        for path in (*COMMON, *more):
            async with session.get(url + path, allow_redirects=False) as r:
                ids = {r.headers.get(h) for h in headers}
                assert len(ids) == 1, (path, r.status, dict(r.headers))
                (rid,) = ids
                assert rid is not None and form.match(rid), (path, r.status, rid)
                seen.add(rid)
    assert len(seen) == len(COMMON) + len(more)
