"""The storage node's aiohttp application: routing, error mapping, lifecycle.

Paths are parsed from the raw (still percent-encoded) path, one segment per
name, so no name can escape its segment; the device must be one of this
node's devices and the partition a bounded integer. Every store refusal is
turned into its HTTP status here and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from objectstore import client as client_mod
from objectstore.node import handle_dbs as hd
from objectstore.node import handle_objects as ho
from objectstore.node import wire
from objectstore.node.device import Device, DeviceConfig, Hasher
from objectstore.node.errors import StoreError
from objectstore.node.handle_objects import ClientGone
from objectstore.node.records import CorruptRecord, ObjectRecord
from objectstore.node.updater import AccountReporter, ContainerUpdater
from objectstore.timestamp import Timestamp

log = logging.getLogger("objectstore.node")

#: Called after a whole-object GET streamed a file body: (device, key, record, md5 hex).
#: The auditor/durability work plugs in here to quarantine a body whose MD5 is wrong.
VerifyHook = Callable[[Device, bytes, ObjectRecord, str], None]


@dataclass
class NodeSettings:
    """Everything one node process needs (built from flags or the config file)."""

    devices_dir: str
    devices: list[str]
    hasher: Hasher
    device: DeviceConfig = field(default_factory=DeviceConfig)
    #: Without it a missing device directory is created; with it, 507 (Swift's mount_check).
    mount_check: bool = False
    updater_interval: float = 2.0
    updater_rate: int = 500
    account_debounce: float = 0.25
    update_conn_timeout: float = 0.5
    update_timeout: float = 3.0
    #: Where the rings are (for the replicator, later); the node itself needs none.
    ring_dir: str | None = None


class NodeState:
    """The running node: devices, the client it uses for updates, its workers."""

    def __init__(self, settings: NodeSettings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.devices: dict[str, Device] = {}
        for name in settings.devices:
            wire.check_device(name)
            root = os.path.join(settings.devices_dir, name)
            if not os.path.isdir(root):
                if settings.mount_check:
                    self.devices[name] = _unmounted(name, root, settings)
                    continue
                os.makedirs(root, exist_ok=True)
            self.devices[name] = Device(name, root, settings.hasher, settings.device)
        self.client = client_mod.NodeClient(
            session, conn_timeout=settings.update_conn_timeout, node_timeout=settings.update_timeout
        )
        live = [d for d in self.devices.values() if d.unavailable is None]
        self.updater = ContainerUpdater(
            self.client, live, interval=settings.updater_interval, rate=settings.updater_rate
        )
        self.reporter = AccountReporter(self.client, live, debounce=settings.account_debounce)
        self.verify_hook: VerifyHook | None = None

    def stats(self) -> dict[str, Any]:
        """Counters for operators and benchmarks (group commit batching, queues)."""
        devices = {}
        for name, dev in self.devices.items():
            if dev.unavailable is not None:
                devices[name] = {"unavailable": dev.unavailable}
                continue
            devices[name] = {"commits": dev.committer.commits, "ops": dev.committer.ops}
        return {
            "devices": devices,
            "container_update_requests": self.updater.sender.requests,
            "container_updates_from_queue": self.updater.delivered_from_queue,
            "account_report_requests": self.reporter.sender.requests,
        }

    async def close(self) -> None:
        await self.updater.close()
        await self.reporter.close()
        for dev in self.devices.values():
            await dev.close()


class _UnmountedDevice(Device):
    def __init__(self, name: str, root: str, hasher: Hasher) -> None:  # no engine at all
        self.name, self.root, self.hasher = name, root, hasher
        self.unavailable = "device is not mounted"
        self.in_flight = set()

    async def close(self) -> None:
        return None


def _unmounted(name: str, root: str, settings: NodeSettings) -> Device:
    return _UnmountedDevice(name, root, settings.hasher)


STATE = web.AppKey("node_state", NodeState)

Handler = Callable[..., Awaitable[web.StreamResponse]]
_OBJECT: dict[str, Handler] = {
    "PUT": ho.handle_put_object,
    "GET": ho.handle_get_object,
    "HEAD": ho.handle_head_object,
    "DELETE": ho.handle_delete_object,
    "POST": ho.handle_post_object,
}
_CONTAINER: dict[str, Handler] = {
    "PUT": hd.handle_put_container,
    "GET": hd.handle_get_container,
    "HEAD": hd.handle_head_container,
    "DELETE": hd.handle_delete_container,
    "POST": hd.handle_post_container,
}
_ACCOUNT: dict[str, Handler] = {
    "PUT": hd.handle_put_account,
    "GET": hd.handle_get_account,
    "HEAD": hd.handle_head_account,
    "DELETE": hd.handle_delete_account,
    "POST": hd.handle_post_account,
}
# kind -> (segments after the device, handlers by method, name kinds)
_ROUTES: dict[str, tuple[int, dict[str, Handler], tuple[tuple[str, int], ...]]] = {
    "o": (
        4,
        _OBJECT,
        (
            ("account", wire.MAX_ACCOUNT_NAME),
            ("container", wire.MAX_CONTAINER_NAME),
            ("object", wire.MAX_OBJECT_NAME),
        ),
    ),
    "c": (
        3,
        _CONTAINER,
        (("account", wire.MAX_ACCOUNT_NAME), ("container", wire.MAX_CONTAINER_NAME)),
    ),
    "a": (2, _ACCOUNT, (("account", wire.MAX_ACCOUNT_NAME),)),
}
_BATCH: dict[str, Handler] = {"cu": hd.handle_container_rows, "au": hd.handle_account_rows}


def _text(status: int, text: str, ticks: int = 0) -> web.Response:
    headers = {wire.BACKEND_TIMESTAMP: Timestamp.from_ticks(ticks).normal} if ticks else None
    return web.Response(status=status, text=text, headers=headers)


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Parse the path, find the device, call the handler, map refusals to statuses."""
    state = request.app[STATE]
    # Requests this one causes (container updates) and its log lines carry its id.
    client_mod.TRANS_ID.set(request.headers.get(wire.TRANS_ID))
    try:
        return await _route(state, request)
    except wire.InvalidName as exc:
        return _text(400, str(exc))
    except StoreError as exc:
        return _text(exc.status, str(exc), exc.ticks)
    except ClientGone as exc:
        log.info(
            "client gone %s %s: %s trans=%s", request.method, request.path, exc, _trans(request)
        )
        return _text(499, "client disconnected")
    except CorruptRecord as exc:
        log.error(
            "corrupt record %s %s: %s trans=%s", request.method, request.path, exc, _trans(request)
        )
        return _text(500, "corrupt record")
    except OSError as exc:
        log.exception("I/O error %s %s trans=%s", request.method, request.path, _trans(request))
        return _text(507 if exc.errno in (28, 5, 30) else 500, "I/O error")
    except Exception:
        log.exception("error in %s %s trans=%s", request.method, request.path, _trans(request))
        return _text(500, "internal error")


def _trans(request: web.Request) -> str:
    return request.headers.get(wire.TRANS_ID, "-")


async def _route(state: NodeState, request: web.Request) -> web.StreamResponse:
    raw = request.raw_path.split("?", 1)[0]
    segs = raw.split("/")
    # segs[0] is "" (leading slash), segs[1] the kind, segs[2] the device.
    if len(segs) < 3:
        if raw == "/healthcheck" and request.method in ("GET", "HEAD"):
            return web.Response(text="OK")
        if raw == "/stats" and request.method == "GET":
            return web.json_response(state.stats())
        return _text(404, "no such endpoint")
    kind = segs[1]
    device = wire.check_device(wire.unquote_segment(segs[2]))
    dev = state.devices.get(device)
    if dev is None:
        return _text(507, f"{device} is not a device of this node")
    if kind in _BATCH:
        if len(segs) != 3 or request.method != "POST":
            return _text(405 if len(segs) == 3 else 404, "bad batch request")
        return await _BATCH[kind](state, request, dev)
    route = _ROUTES.get(kind)
    if route is None or len(segs) != 3 + route[0]:
        return _text(404, "no such endpoint")
    _nsegs, handlers, kinds = route
    handler = handlers.get(request.method)
    if handler is None:
        return _text(405, "method not allowed")
    part = wire.parse_part(segs[3])
    names = [
        wire.check_name(k, wire.unquote_segment(seg), limit)
        for (k, limit), seg in zip(kinds, segs[4:], strict=True)
    ]
    return await handler(state, request, dev, part, *names)


def make_app(settings: NodeSettings, *, access_log: bool = False) -> web.Application:
    """The node's application; its cleanup drains every device's commits."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", dispatch)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = client_mod.NodeClient.make_session(limit=256, limit_per_host=32)
        state = NodeState(settings, session)
        app[STATE] = state
        workers = [
            asyncio.create_task(state.updater.run(), name="container-updater"),
            asyncio.create_task(state.reporter.run(), name="account-reporter"),
        ]
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await state.close()
            await session.close()

    app.cleanup_ctx.append(lifecycle)
    return app


__all__ = ["STATE", "NodeSettings", "NodeState", "VerifyHook", "dispatch", "make_app"]
