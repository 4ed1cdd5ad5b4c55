"""A lifecycle pass: apply every bucket's lifecycle rules once.

Run by the proxy (it needs the S3 version model of :mod:`s3compat.versioning`)
in the background every ``s3.lifecycle_interval`` seconds, and on demand by
``stratus s3 lifecycle run``. For each bucket named in the lifecycle index:

- current objects past an ``Expiration`` (Days or Date) are deleted as a
  DeleteObject without a version id would: a delete marker in a versioned
  bucket, gone in an unversioned one;
- noncurrent versions (and noncurrent delete markers) are removed once
  ``NoncurrentDays`` have passed since they became noncurrent, keeping the
  ``NewerNoncurrentVersions`` newest;
- a delete marker left as a key's only entry is removed
  (``ExpiredObjectDeleteMarker``);
- uploads begun ``DaysAfterInitiation`` days ago are aborted.

A version under Object Lock (retention or legal hold) is never removed: it is
skipped and counted. Work is sequential, one key at a time, so a pass is a
modest background load; its cost grows with the objects of the buckets that
have rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectRow
from objectstore.timestamp import TICKS_PER_SECOND
from s3compat import lifecycle, meta, multipart, namespace, object_lock, upload_keys, versioning
from s3compat.context import Bucket, S3Context, S3Settings
from s3compat.errors import S3Error
from s3compat.lifecycle import Rule
from s3compat.router import OperationSpec, Permission, S3Request

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore
    from stratus.config import Config

log = logging.getLogger(__name__)
PAGE = 1000
SETTLE = 300.0  # seconds after its rules were set before a bucket not found is forgotten
_OP = OperationSpec("LifecycleExpiration", "object", Permission.NONE)


@dataclass
class PassResult:
    """What one pass did (counts), for logs and ``stratus s3 lifecycle run``."""

    buckets: int = 0
    expired: int = 0  # current objects (deleted, or hidden by a delete marker)
    noncurrent: int = 0  # noncurrent versions and markers removed
    markers: int = 0  # expired object delete markers removed
    aborted: int = 0  # incomplete multipart uploads
    locked: int = 0  # versions kept by Object Lock
    errors: list[str] = field(default_factory=list[str])

    def as_dict(self) -> dict[str, Any]:
        return {
            "buckets": self.buckets,
            "expired": self.expired,
            "noncurrent": self.noncurrent,
            "markers": self.markers,
            "aborted": self.aborted,
            "locked": self.locked,
            "errors": self.errors,
        }


def _ticks_seconds(ticks: int) -> float:
    return ticks / TICKS_PER_SECOND


async def _rows(core: ProxyCore, account: str, container: str) -> AsyncIterator[ObjectRow]:
    marker = ""
    while True:
        try:
            _info, rows = await core.list_objects(
                account, container, ListParams(limit=PAGE, marker=marker)
            )
        except core_errors.ContainerNotFound:
            return
        for row in rows:
            if isinstance(row, ObjectRow):
                yield row
        if len(rows) < PAGE:
            return
        marker = rows[-1].name


@dataclass
class _Bucket:
    """One bucket's pass: a request-less S3 context and the rules."""

    ctx: S3Context
    rules: tuple[Rule, ...]
    now: float
    day: int
    result: PassResult

    def sub(self, key: str, vid: str | None = None) -> S3Context:
        query = {"versionId": vid} if vid is not None else {}
        s3 = S3Request(_OP, self.ctx.bucket_name, key, False)
        return replace(self.ctx, s3=s3, query=query, extra={})

    def needs_head(self, rule: Rule) -> bool:
        f = rule.filter
        return bool(f.tags) or f.gt is not None or f.lt is not None

    async def matches(self, rule: Rule, key: str, size: int, info: Callable[[], Any]) -> bool:
        if not rule.enabled or not key.startswith(rule.filter.prefix):
            return False
        if not self.needs_head(rule):
            return True
        found: ObjectInfo | None = await info()
        if found is None:
            return False
        shown = versioning.present(found)
        tags = meta.decode_tags(found.system.get(meta.TAGS))
        return rule.filter.matches(key, shown.size, tags)

    async def expire_current(self, key: str, row: ObjectRow) -> bool:
        async def head() -> ObjectInfo | None:
            with contextlib.suppress(core_errors.NotFound):
                return await self.ctx.core.head_object(
                    self.ctx.account, self.ctx.bucket_name, key, raw=True
                )
            return None

        for rule in self.rules:
            if rule.days is None and rule.date is None:
                continue
            if not await self.matches(rule, key, row.size, head):
                continue
            created = float(row.last_modified)
            when = (
                rule.date
                if rule.date is not None
                else lifecycle.due(created, rule.days or 0, self.day)
            )
            if self.now >= when:
                await versioning.delete_for_request(self.sub(key))
                self.result.expired += 1
                return True
        return False

    async def remove_version(self, key: str, vid: str) -> bool:
        sub = self.sub(key, vid)
        try:
            await object_lock.check_version_delete(sub)
            await versioning.delete_for_request(sub)
        except (S3Error, core_errors.Retained):
            self.result.locked += 1
            return False
        return True

    async def noncurrent(
        self, key: str, current: ObjectInfo | None, entries: list[ObjectRow]
    ) -> None:
        rules = [r for r in self.rules if r.enabled and r.noncurrent_days is not None]
        if not rules:
            return
        # The entry newer than each one: when that one became noncurrent.
        if current is not None:
            vid = versioning.version_of(current)
            newer_time = (
                _ticks_seconds(int(vid[:14], 16))
                if vid != versioning.NULL
                else float(current.timestamp)
            )
            candidates = entries
        else:
            if not entries:
                return
            newer_time = _ticks_seconds(versioning.entry_version(entries[0].name)[1])
            candidates = entries[1:]
        cont = versioning.container_for(self.ctx.bucket_name)
        seen = 0
        for row in candidates:
            since = newer_time
            newer_time = _ticks_seconds(versioning.entry_version(row.name)[1])
            vid = versioning.entry_version(row.name)[0]

            async def head(name: str = row.name) -> ObjectInfo | None:
                with contextlib.suppress(core_errors.NotFound):
                    return await self.ctx.core.head_object(self.ctx.account, cont, name, raw=True)
                return None

            doomed = False
            for rule in rules:
                if not await self.matches(rule, key, row.size, head):
                    continue
                if rule.newer_noncurrent is not None and seen < rule.newer_noncurrent:
                    continue
                if self.now >= lifecycle.due(since, rule.noncurrent_days or 0, self.day):
                    doomed = True
                    break
            seen += 1
            if doomed and await self.remove_version(key, vid):
                self.result.noncurrent += 1

    async def expired_marker(self, key: str) -> None:
        rules = [r for r in self.rules if r.enabled and r.expired_marker]
        if not rules or not any(key.startswith(r.filter.prefix) for r in rules):
            return
        if await versioning.current(self.sub(key)) is not None:
            return
        rows = [r async for r in versioning.entries(self.sub(key), key)]
        if len(rows) == 1 and versioning.is_marker(rows[0]):
            vid = versioning.entry_version(rows[0].name)[0]
            if await self.remove_version(key, vid):
                self.result.markers += 1

    async def key(self, key: str, row: ObjectRow | None) -> None:
        if row is not None:
            await self.expire_current(key, row)
        if versioning.status(self.ctx) is None:
            return
        sub = self.sub(key)
        current = await versioning.current(sub)
        entries = [r async for r in versioning.entries(sub, key)]
        if current is not None:  # the history keeps the current version too: not noncurrent
            mine = versioning.entry_of(current)
            entries = [r for r in entries if r.name != mine]
        await self.noncurrent(key, current, entries)
        await self.expired_marker(key)

    async def keys(self) -> AsyncIterator[tuple[str, ObjectRow | None]]:
        """Every key with a current object or a stored version, in no set order."""
        ctx = self.ctx
        done: set[str] = set()
        async for row in _rows(ctx.core, ctx.account, ctx.bucket_name):
            done.add(row.name)
            yield row.name, row
        if versioning.status(ctx) is None:
            return
        cont = versioning.container_for(ctx.bucket_name)
        async for row in _rows(ctx.core, ctx.account, cont):
            if versioning.is_long_entry(row.name):
                continue
            key = versioning.parse_entry(row.name)[0]
            if key not in done:
                done.add(key)
                yield key, None
        async for row in _rows(ctx.core, ctx.account, versioning.index_for(ctx.bucket_name)):
            if row.name not in done:
                done.add(row.name)
                yield row.name, None

    async def uploads(self) -> None:
        rules = [r for r in self.rules if r.enabled and r.abort_days is not None]
        if not rules:
            return
        doomed: list[tuple[str, str]] = []
        async for key, uid in upload_keys.uploads(self.ctx, "", "", ""):
            begun = _ticks_seconds(int(uid[:14], 16))
            for rule in rules:
                if key.startswith(rule.filter.prefix) and self.now >= lifecycle.due(
                    begun, rule.abort_days or 0, self.day
                ):
                    doomed.append((key, uid))
                    break
        for key, uid in doomed:
            sub = self.sub(key)
            await multipart.delete_parts(sub, uid)
            await multipart.drop_record(sub, uid)
            self.result.aborted += 1

    async def run(self) -> None:
        if any(
            r.enabled and (r.days or r.date or r.noncurrent_days or r.expired_marker)
            for r in self.rules
        ):
            keys = [item async for item in self.keys()]
            for key, row in keys:
                try:
                    await self.key(key, row)
                except (S3Error, core_errors.ProxyError) as exc:
                    self.result.errors.append(f"{self.ctx.bucket_name}/{key}: {exc}")
        await self.uploads()


def _context(
    core: ProxyCore, settings: S3Settings, account: str, name: str, info: Any
) -> S3Context:
    """A context for work no request asked for (no principal, no request headers)."""
    return S3Context(
        request=cast(web.Request, None),
        core=core,
        identity=cast(Any, None),
        settings=settings,
        s3=S3Request(_OP, name, None, False),
        query={},
        headers={},
        request_id="lifecycle",
        bucket=Bucket(account, name, info),
    )


async def run_pass(core: ProxyCore, settings: S3Settings) -> PassResult:
    """Apply the lifecycle rules of every bucket that has some, once."""
    result = PassResult()
    now = settings.clock().timestamp()
    day = settings.lifecycle_debug_day_seconds or lifecycle.DAY
    async for row in _rows(core, namespace.REGISTRY_ACCOUNT, lifecycle.INDEX_CONTAINER):
        account, _, name = row.name.rpartition("/")
        try:
            info = await core.head_container(account, name)
        except core_errors.NotFound:
            # The bucket went: forget it (not just after its rules were set, when a
            # replica may not know the bucket yet).
            if now - float(row.last_modified) > SETTLE:
                await lifecycle.set_indexed(core, account, name, False)
            continue
        try:
            rules = lifecycle.rules_of(info.system)
        except S3Error as exc:  # a replica still lacks part of the rules: next pass
            result.errors.append(f"{name}: {exc}")
            continue
        if not rules:
            continue
        result.buckets += 1
        ctx = _context(core, settings, account, name, info)
        try:
            await _Bucket(ctx, rules, now, day, result).run()
        except (S3Error, core_errors.ProxyError) as exc:
            result.errors.append(f"{name}: {exc}")
    return result


async def run_forever(core: ProxyCore, settings: S3Settings, interval: float) -> None:
    """The background task: a pass every ``interval`` seconds (errors logged, never fatal)."""
    while True:
        await asyncio.sleep(interval)
        try:
            result = await run_pass(core, settings)
        except Exception:  # a pass must not end the task
            log.exception("lifecycle pass failed")
            continue
        if result.buckets:
            log.info("lifecycle pass: %s", result.as_dict())


def background(
    core: ProxyCore, settings: S3Settings, interval: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp ``cleanup_ctx`` running :func:`run_forever` while the app serves."""

    async def task(_app: web.Application) -> AsyncIterator[None]:
        runner = asyncio.create_task(run_forever(core, settings, interval))
        try:
            yield
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    return task


def settings_from(config: Config) -> S3Settings:
    return S3Settings(lifecycle_debug_day_seconds=config.s3.lifecycle_debug_day_seconds)


async def run_pass_from_config(config: Config) -> PassResult:
    """One pass with a core of its own (``stratus s3 lifecycle run``): the rings and
    storage nodes named by ``config``, no proxy needed."""
    from objectstore.client import NodeClient
    from objectstore.proxy.core import ProxyCore, Rings

    session = NodeClient.make_session()
    try:
        client = NodeClient(
            session,
            conn_timeout=config.proxy.conn_timeout,
            node_timeout=config.proxy.node_timeout,
        )
        core = ProxyCore(config, Rings.from_config(config), client)
        return await run_pass(core, settings_from(config))
    finally:
        await session.close()
