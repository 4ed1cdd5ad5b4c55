"""The storage node's aiohttp application: routing, error mapping, lifecycle.

Paths are parsed from the raw (still percent-encoded) path, one segment per
name, so no name can escape its segment; the device must be one of this
node's devices and the partition a bounded integer. Every store refusal is
turned into its HTTP status here and nowhere else.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import lmdb
from aiohttp import web

from objectstore.client import TRANS_ID, NodeClient
from objectstore.common import wire
from objectstore.common.errorlimit import ErrorLimiter
from objectstore.node import handle_dbs as hd
from objectstore.node import handle_objects as ho
from objectstore.node import handle_repl
from objectstore.node.auditor import Auditor
from objectstore.node.dbreplicator import DbReplicator
from objectstore.node.device import Device, DeviceConfig, Hasher
from objectstore.node.errors import StoreError
from objectstore.node.expirer import Expirer
from objectstore.node.handle_objects import BodyCorrupt, ClientGone
from objectstore.node.handle_ring import handle_ring
from objectstore.node.metrics import NodeMetrics
from objectstore.node.objects import PENDING
from objectstore.node.quarantine import quarantine
from objectstore.node.records import CorruptRecord, ObjectRecord
from objectstore.node.replicator import ObjectReplicator, reclaim_before
from objectstore.node.ringfetch import RingFetcher, RingSource
from objectstore.node.rings import NodeRings
from objectstore.node.updater import AccountReporter, ContainerUpdater
from objectstore.node.worker import Worker
from objectstore.timestamp import Timestamp
from ring import part_of

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
    #: Where the rings are (for the background workers); the handlers need none.
    ring_dir: str | None = None
    #: This node's address as the rings know it (the workers find their own devices by it).
    ip: str | None = None
    port: int | None = None
    #: Start the replicators, auditor and expirer (off: tests that drive passes by hand).
    workers: bool = True
    replicator_interval: float = 30.0
    replicator_concurrency: int = 4
    replicator_bytes_per_second: float = 50e6
    replicator_items_per_second: float = 5000.0
    #: Tombstones older than this are removed (must exceed any replication cycle).
    reclaim_age: float = 7 * 86400.0
    auditor_interval: float = 300.0
    auditor_bytes_per_second: float = 10e6
    auditor_files_per_second: float = 200.0
    expirer_interval: float = 10.0
    ring_reload_interval: float = 2.0
    #: Key that authenticates ring pushes (objectstore.common.ringsign; None: refuse them).
    ring_key: bytes | None = field(default=None, repr=False)
    #: (host, port) of the node to fetch newer rings from (None: rings arrive by push only).
    ring_source: tuple[str, int] | None = None
    ring_fetch_interval: float = 30.0


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
                os.makedirs(root, mode=0o700, exist_ok=True)
            self.devices[name] = Device(name, root, settings.hasher, settings.device)
        self.client = NodeClient(
            session, conn_timeout=settings.update_conn_timeout, node_timeout=settings.update_timeout
        )
        live = [d for d in self.devices.values() if d.unavailable is None]
        self.metrics = NodeMetrics()
        self.updater = ContainerUpdater(
            self.client,
            live,
            interval=settings.updater_interval,
            rate=settings.updater_rate,
            on_drop=self.metrics.async_dropped.labels("container").inc,
        )
        self.reporter = AccountReporter(
            self.client,
            live,
            debounce=settings.account_debounce,
            on_drop=self.metrics.async_dropped.labels("account").inc,
        )
        #: Called after a whole-body GET read a file body (the GET checks the MD5 itself).
        self.verify_hook: VerifyHook | None = None
        #: Shared by the replicators: a peer that keeps failing is skipped for a while.
        self.limiter = ErrorLimiter(10, 60.0)
        self.rings: NodeRings | None = None
        if settings.ring_dir and settings.ip is not None and settings.port is not None:
            self.rings = NodeRings(
                settings.ring_dir,
                ip=settings.ip,
                port=settings.port,
                devices=list(self.devices),
                reload_interval=settings.ring_reload_interval,
            )
        self.replicators: list[Worker] = [
            ObjectReplicator(self),
            DbReplicator(self, "c"),
            DbReplicator(self, "a"),
        ]
        self.auditor = Auditor(self)
        self.expirer = Expirer(self)
        self.quarantined = 0
        #: One ring install at a time: the version check and the rename stay together.
        self.ring_lock = asyncio.Lock()
        self.ring_fetcher: RingFetcher | None = None
        if settings.ring_source and settings.ring_key and settings.ring_dir:
            self.ring_fetcher = RingFetcher(
                self,
                RingSource(*settings.ring_source),
                settings.ring_key,
                settings.ring_fetch_interval,
            )

    @property
    def workers(self) -> list[Worker]:
        return [*self.replicators, self.auditor, self.expirer]

    def live_devices(self) -> list[Device]:
        return [d for d in self.devices.values() if d.unavailable is None]

    def reclaim_before(self) -> int:
        """Ticks before which tombstones are reclaimed."""
        return reclaim_before(self.settings.reclaim_age)

    async def quarantine(self, dev: Device, key: bytes, rec: ObjectRecord, by: str) -> bool:
        """Set a corrupt replica aside (see ``objectstore.node.quarantine``)."""
        try:
            done = await quarantine(dev, key, rec, by)
        except OSError as exc:
            self.io_error(dev, exc)
            raise
        if done:
            self.quarantined += 1
            self.metrics.quarantined.labels(dev.name, by).inc()
        return done

    def io_error(self, dev: Device, exc: OSError) -> None:
        """A failed read or write: EIO/EROFS mean the disk is failing, stop using it."""
        if exc.errno in FAILED_ERRNOS and dev.unavailable is None:
            dev.unavailable = f"failed: {exc.strerror or exc!r}"
            log.error("device %s marked failed after %r", dev.name, exc)

    def account_update_for(self, dev: Device, part: int, account: str) -> list[Any] | None:
        """Where a container replica on ``dev``/``part`` reports: account replica i for
        container replica i (None without rings, or on a handoff)."""
        if self.rings is None:
            return None
        cring, aring = self.rings.ring("c"), self.rings.ring("a")
        if cring is None or aring is None or part >= cring.partition_count:
            return None
        index = self.rings.my_index(cring.get_part_nodes(part), dev.name)
        if index is None:
            return None
        apart = part_of(dev.hasher(account, None, None), aring.part_power)
        anodes = aring.get_part_nodes(apart)
        node = anodes[index % len(anodes)]
        return [node.ip, node.port, node.device, apart]

    def async_pending(self) -> dict[str, int]:
        """Queued container updates per live device."""
        out = {}
        for dev in self.live_devices():
            with dev.read() as txn:
                out[dev.name] = sum(1 for _ in txn.scan(PENDING, b""))
        return out

    def stats(self) -> dict[str, Any]:
        """Counters for operators and benchmarks (group commit batching, queues, workers)."""
        devices = {}
        pending = self.async_pending()
        for name, dev in self.devices.items():
            if dev.unavailable is not None:
                devices[name] = {"unavailable": dev.unavailable}
                continue
            devices[name] = {
                "commits": dev.committer.commits,
                "ops": dev.committer.ops,
                "async_pending": pending.get(name, 0),
            }
        return {
            "devices": devices,
            "container_update_requests": self.updater.sender.requests,
            "container_updates_from_queue": self.updater.delivered_from_queue,
            "account_report_requests": self.reporter.sender.requests,
            "quarantined": self.quarantined,
            "async_pending": sum(pending.values()),
            # Updates refused for good (logged as errors), not retried: should stay 0.
            "async_dropped": self.updater.dropped + self.reporter.dropped,
            "workers": {w.name: w.status() for w in self.workers},
            # The ring versions this node serves with: a host left on an old ring shows here.
            "rings": self.rings.versions() if self.rings is not None else {},
            "ring_checksums": self.rings.checksums() if self.rings is not None else {},
            "ring_fetch": self.ring_fetcher.status() if self.ring_fetcher is not None else None,
        }

    def refresh_gauges(self) -> None:
        for name, count in self.async_pending().items():
            self.metrics.async_pending.labels(name).set(count)
        for name, dev in self.devices.items():
            self.metrics.device_failed.labels(name).set(0 if dev.unavailable is None else 1)
        for worker in self.replicators:
            if worker.lag is not None:
                self.metrics.lag.labels(worker.name).set(worker.lag)

    async def close(self) -> None:
        for worker in self.workers:
            worker.stop()
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
#: Request keys: the endpoint kind (metrics label) and the device (I/O error marking).
KIND = web.RequestKey("objectstore_kind", str)
DEVICE = web.RequestKey("objectstore_device", Device)
_KINDS = frozenset({"o", "c", "a", "cu", "au", "parts", *wire.REPL_KINDS})
_TOP = frozenset({"healthcheck", "stats", "metrics", "replicate", "ring"})
#: Errors that mean the disk is failing (the device is then marked failed).
FAILED_ERRNOS = (errno.EIO, errno.EROFS)
FULL_OR_FAILED = (errno.ENOSPC, errno.EDQUOT, *FAILED_ERRNOS)

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
    """Route the request and count it (requests, errors, latency)."""
    state = request.app[STATE]
    started = time.monotonic()
    resp = await _dispatch(state, request)
    kind = request.get(KIND, "other")
    m = state.metrics
    m.requests.labels(request.method, kind, str(resp.status)).inc()
    m.latency.labels(request.method, kind).observe(time.monotonic() - started)
    if resp.status >= 500:
        m.errors.labels(request.method, kind).inc()
    return resp


async def _dispatch(state: NodeState, request: web.Request) -> web.StreamResponse:
    """Parse the path, find the device, call the handler, map refusals to statuses."""
    # Requests this one causes (container updates) and its log lines carry its id.
    TRANS_ID.set(request.headers.get(wire.TRANS_ID))
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
    except lmdb.BadValsizeError:  # a key over LMDB's limit: no retry can store it
        log.error("key too long %s %s trans=%s", request.method, request.path, _trans(request))
        return _text(400, "name too long to store")
    except BodyCorrupt as exc:  # the connection is cut already: the client sees a short body
        log.error("%s trans=%s", exc, _trans(request))
        return _text(500, "corrupt body")
    except OSError as exc:
        log.exception("I/O error %s %s trans=%s", request.method, request.path, _trans(request))
        dev = request.get(DEVICE)
        if dev is not None:
            state.io_error(dev, exc)
        return _text(507 if exc.errno in FULL_OR_FAILED else 500, "I/O error")
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
        request[KIND] = segs[1] if len(segs) == 2 and segs[1] in _TOP else "other"
        if raw == "/healthcheck" and request.method in ("GET", "HEAD"):
            return web.Response(text="OK")
        if raw == "/stats" and request.method == "GET":
            return web.json_response(state.stats())
        if raw == "/metrics" and request.method == "GET":
            state.refresh_gauges()
            return web.Response(
                body=state.metrics.render(), headers={"Content-Type": state.metrics.content_type}
            )
        if raw == "/replicate" and request.method == "POST":
            return await _replicate(state, request)
        return _text(404, "no such endpoint")
    kind = segs[1]
    if kind == "ring" and len(segs) == 3:
        request[KIND] = "ring"
        return await handle_ring(state, request, segs[2])
    request[KIND] = kind if kind in _KINDS else "other"
    device = wire.check_device(wire.unquote_segment(segs[2]))
    dev = state.devices.get(device)
    if dev is None:
        return _text(507, f"{device} is not a device of this node")
    request[DEVICE] = dev
    if kind in wire.REPL_KINDS:
        return await handle_repl.route(state, request, dev, kind, segs[3:])
    if kind == "parts" and len(segs) == 3 and request.method == "GET":
        return await handle_repl.handle_parts(state, request, dev)
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


async def _replicate(state: NodeState, request: web.Request) -> web.Response:
    """Run passes of the replicators now (all, or ``?workers=object,container,...``)."""
    names = request.query.get("workers", "object,container,account").split(",")
    try:
        timeout = float(request.query.get("timeout", "600"))
    except ValueError:
        return _text(400, "bad timeout")
    chosen = [w for w in state.workers if w.name.split("-")[0] in names]
    if not chosen or len(chosen) != len(set(names)):
        return _text(400, f"workers are {[w.name.split('-')[0] for w in state.workers]}")
    results = await asyncio.gather(*(w.trigger(timeout) for w in chosen), return_exceptions=True)
    out = {}
    for worker, result in zip(chosen, results, strict=True):
        out[worker.name] = (
            result if not isinstance(result, BaseException) else {"error": repr(result)}
        )
    return web.json_response(out)


def make_app(settings: NodeSettings, *, access_log: bool = False) -> web.Application:
    """The node's application; its cleanup drains every device's commits."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", dispatch)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = NodeClient.make_session(limit=256, limit_per_host=32)
        state = NodeState(settings, session)
        app[STATE] = state
        workers = [
            asyncio.create_task(state.updater.run(), name="container-updater"),
            asyncio.create_task(state.reporter.run(), name="account-reporter"),
        ]
        if settings.workers:
            workers += [worker.start() for worker in state.workers]
        if state.ring_fetcher is not None:
            workers.append(state.ring_fetcher.start())
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
