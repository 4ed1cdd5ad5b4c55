"""CreateBucket, HeadBucket, DeleteBucket and GetBucketLocation.

A bucket is a container of the caller's account. Hidden companions
(``<bucket>+versions``, ``<bucket>+versionkeys``, ``<bucket>+segments``,
``<bucket>+uploadkeys``) are
created when first needed and removed with the bucket; ``+`` never appears
in a bucket name, so they cannot collide with one.
"""

from __future__ import annotations

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ListParams, ObjectRow
from s3compat import (
    access_state,
    acl,
    multipart,
    namespace,
    object_lock,
    segments,
    versioning,
    xmlio,
)
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error

LOCATION = "s3-location"
US_EAST_1 = "us-east-1"
# "US" is the legacy name; "aws-global" is what the aws CLI sends with no region configured
# (botocore's partition-wide endpoint, which AWS serves from us-east-1).
US_EAST_1_ALIASES = frozenset({"US", "aws-global"})


async def _location_constraint(ctx: S3Context) -> str:
    data = await ctx.read_body(64 * 1024)
    region = ctx.settings.region
    if not data.strip():
        return region
    root = xmlio.parse_xml(data, "CreateBucketConfiguration")
    wanted = xmlio.text(root, "LocationConstraint") or ""
    if wanted not in ("", region) and not (region == US_EAST_1 and wanted in US_EAST_1_ALIASES):
        raise S3Error(
            "InvalidLocationConstraint",
            f"The {wanted!r} location constraint is incompatible with the region {region!r}",
            extra={"LocationConstraint": wanted},
        )
    return region


def ownership_for_create(ctx: S3Context, grants: acl.Grants | None, owner_id: str) -> str | None:
    """``x-amz-object-ownership``: checked against the ACL the request sets."""
    wanted = ctx.headers.get("x-amz-object-ownership")
    if wanted is None:
        return None
    if wanted not in access_state.OWNERSHIP_MODES:
        raise S3Error("InvalidArgument", "Invalid x-amz-object-ownership header: " + wanted)
    ok = ("private", "bucket-owner-full-control")
    if (
        wanted == access_state.BUCKET_OWNER_ENFORCED
        and grants is not None
        and not grants.owner_only(owner_id, canned_ok=ok)
    ):
        raise S3Error("InvalidBucketAclWithObjectOwnership")
    return wanted


async def handle_create_bucket(ctx: S3Context) -> web.StreamResponse:
    assert ctx.principal is not None
    name = ctx.bucket_name
    account = ctx.principal.account
    region = await _location_constraint(ctx)
    grants = await acl.requested_grants(ctx, acl.owner_of(account)["ID"], body=False)
    ownership = ownership_for_create(ctx, grants, acl.owner_of(account)["ID"])
    core = ctx.core
    if (existing := await core.container_info(account, name)) is not None:
        if region == US_EAST_1:
            # AWS, for legacy clients: 200 in us-east-1, resetting the bucket's ACL (to
            # the one asked for, else private); BucketAlreadyOwnedByYou in other regions.
            g = grants or acl.Grants()
            await acl.store_bucket_acl(core, account, name, g, existing.system)
            return empty(200, {"Location": f"/{name}"})
        raise S3Error("BucketAlreadyOwnedByYou", extra={"BucketName": name})
    owner = await namespace.registered_owner(core, name)
    if (
        owner is not None
        and owner != account
        and await core.container_info(owner, name) is not None
    ):
        raise S3Error("BucketAlreadyExists", extra={"BucketName": name})
    if await namespace.register(core, name, account) != account:
        raise S3Error("BucketAlreadyExists", extra={"BucketName": name})
    system = {LOCATION: region, **object_lock.bucket_system_for_create(ctx)}
    if grants is not None:
        system.update(acl.bucket_acl_system(grants))
    if ownership is not None:
        system.update({k: v for k, v in access_state.ownership_system(ownership).items() if v})
    await core.put_container(account, name, system=system)
    if grants is not None and acl.needs_parts(grants):  # too long to go with the PUT
        await acl.store_bucket_acl(core, account, name, grants, {})
    if object_lock.bucket_system_for_create(ctx):  # versioning on, versions held from the start
        await object_lock.flag_versions_container(ctx, account, name)
    return empty(200, {"Location": f"/{name}"})


async def handle_head_bucket(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    region = ctx.bucket.system.get(LOCATION) or ctx.settings.region
    return empty(200, {"x-amz-bucket-region": region})


async def handle_get_bucket_location(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    region = ctx.bucket.system.get(LOCATION) or ctx.settings.region
    shown = "" if region == US_EAST_1 else region
    return xml_response("LocationConstraint", shown or {})


async def _has_entries(ctx: S3Context, container: str) -> bool:
    try:
        _info, rows = await ctx.core.list_objects(ctx.account, container, ListParams(limit=1))
    except core_errors.ContainerNotFound:
        return False
    return any(isinstance(r, ObjectRow) for r in rows)


async def _drop_container(ctx: S3Context, container: str) -> None:
    try:
        await ctx.core.delete_container(ctx.account, container)
    except core_errors.NotFound:
        pass
    except core_errors.ContainerNotEmpty:
        raise S3Error("BucketNotEmpty", extra={"BucketName": ctx.bucket_name}) from None


async def handle_delete_bucket(ctx: S3Context) -> web.StreamResponse:
    name = ctx.bucket_name
    if await _has_entries(ctx, versioning.container_for(name)):
        raise S3Error("BucketNotEmpty", extra={"BucketName": name})
    try:
        await ctx.core.delete_container(ctx.account, name)
    except core_errors.ContainerNotEmpty:
        raise S3Error("BucketNotEmpty", extra={"BucketName": name}) from None
    await _drop_container(ctx, versioning.container_for(name))
    await versioning.drop_index(ctx)
    await multipart.abort_all(ctx)
    await _drop_container(ctx, segments.container_for(name))
    await namespace.unregister(ctx.core, name, ctx.account)
    return empty(204)
