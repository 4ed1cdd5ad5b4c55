"""Which account holds a bucket: the caller's own, else the S3 bucket registry.

A project's containers are its buckets, so a signed request first looks in
the caller's own account. S3 bucket names are global, though: buckets
created through S3 are also recorded in a registry (one object per bucket
name in the reserved account ``.s3compat``, container ``buckets``, owner
kept in its metadata) so that CreateBucket can answer BucketAlreadyExists,
and so that anonymous or other projects' requests (public-read ACLs, bucket
policies) find the owner. Containers made through the native API are
registered the first time their ACL or policy is set through S3.

Two projects creating the same name at the same instant may both succeed
(the registry is last-writer-wins, like every object); each then owns a
bucket of that name in its own account, and the registry names one.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ObjectMetadata
from s3compat.context import Bucket, S3Context
from s3compat.errors import S3Error

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore

REGISTRY_ACCOUNT = ".s3compat"
REGISTRY_CONTAINER = "buckets"
OWNER = "s3-owner"
_TTL = 5.0
_cache: dict[str, tuple[float, str | None]] = {}


def _no_such_bucket(name: str) -> S3Error:
    return S3Error("NoSuchBucket", extra={"BucketName": name})


async def registered_owner(core: ProxyCore, name: str) -> str | None:
    """The account the registry names for ``name``, or None."""
    hit = _cache.get(name)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    try:
        info = await core.head_object(REGISTRY_ACCOUNT, REGISTRY_CONTAINER, name)
        owner = info.system.get(OWNER) or None
    except core_errors.NotFound:
        owner = None
    if len(_cache) > 10000:
        _cache.clear()
    _cache[name] = (time.monotonic() + _TTL, owner)
    return owner


async def register(core: ProxyCore, name: str, account: str) -> str:
    """Record ``account`` as the owner of ``name``; return the owner the registry now names."""
    md = ObjectMetadata(content_type="application/x-s3-bucket", system={OWNER: account})
    try:
        await core.put_object(REGISTRY_ACCOUNT, REGISTRY_CONTAINER, name, b"", md)
    except core_errors.ContainerNotFound:
        await core.put_container(REGISTRY_ACCOUNT, REGISTRY_CONTAINER)
        await core.put_object(REGISTRY_ACCOUNT, REGISTRY_CONTAINER, name, b"", md)
    _cache.pop(name, None)
    return await registered_owner(core, name) or account


async def claim(core: ProxyCore, name: str, account: str) -> None:
    """Register ``account`` as the owner of ``name`` unless another owner is recorded."""
    if await registered_owner(core, name) is None:
        await register(core, name, account)


async def unregister(core: ProxyCore, name: str, account: str) -> None:
    """Forget ``name`` if the registry names ``account`` as its owner."""
    if await registered_owner(core, name) != account:
        return
    with contextlib.suppress(core_errors.NotFound):
        await core.delete_object(REGISTRY_ACCOUNT, REGISTRY_CONTAINER, name)
    _cache.pop(name, None)


async def find_bucket(ctx: S3Context, name: str) -> Bucket:
    """The bucket ``name`` as this request sees it (NoSuchBucket when there is none)."""
    core = ctx.core
    if ctx.principal is not None:
        info = await core.container_info(ctx.principal.account, name)
        if info is not None:
            return Bucket(ctx.principal.account, name, info)
    owner = await registered_owner(core, name)
    if owner is not None:
        info = await core.container_info(owner, name)
        if info is not None:
            return Bucket(owner, name, info)
    raise _no_such_bucket(name)


async def refresh(ctx: S3Context) -> Bucket:
    """Re-read the request's bucket, bypassing the info cache (after a change)."""
    assert ctx.bucket is not None
    info = await ctx.core.head_container(ctx.bucket.account, ctx.bucket.name)
    ctx.bucket = Bucket(ctx.bucket.account, ctx.bucket.name, info)
    return ctx.bucket
