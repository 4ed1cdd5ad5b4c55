"""Get/Put/DeleteBucketOwnershipControls: who owns the objects others write.

``ObjectWriter`` (also what a bucket without controls does): the writing
project owns what it writes into another project's bucket.
``BucketOwnerPreferred``: the bucket owner does when the writer sends
``bucket-owner-full-control``. ``BucketOwnerEnforced``: the bucket owner
owns everything and ACLs are off, for the native API too: setting any ACL but the owner's full
control answers AccessControlListNotSupported, and stored ACLs grant
nothing (reads of them show the owner's full control only). Enforcing is
refused while the bucket's ACL lets anyone else in
(InvalidBucketAclWithObjectOwnership), as on AWS. The setting is kept in
the container's system metadata (:mod:`s3compat.access_state`).
"""

from __future__ import annotations

from aiohttp import web

from s3compat import access_state, acl, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error


async def save(ctx: S3Context, system: dict[str, str], status: int) -> web.StreamResponse:
    """Store a bucket's access setting with the bucket; answer ``status`` with no body."""
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system=system)
    return empty(status)


async def handle_put_bucket_ownership_controls(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    root = await ctx.read_xml("OwnershipControls")
    rules = root.findall("Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    mode = (xmlio.text(rules[0], "ObjectOwnership") or "").strip()
    if mode not in access_state.OWNERSHIP_MODES:
        raise S3Error("MalformedXML")
    if mode == access_state.BUCKET_OWNER_ENFORCED:
        info = ctx.bucket.info
        owner_id = acl.owner_of(ctx.account)["ID"]
        current = acl.Grants.of_bucket(info.system, info.read_acl, info.write_acl, owner_id)
        if current.shares_beyond({owner_id}):
            raise S3Error("InvalidBucketAclWithObjectOwnership")
    return await save(ctx, access_state.ownership_system(mode), 200)


async def handle_get_bucket_ownership_controls(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    mode = access_state.ownership(ctx.bucket.system)
    if mode is None:
        raise S3Error("OwnershipControlsNotFoundError", extra={"BucketName": ctx.bucket_name})
    return xml_response("OwnershipControls", {"Rule": {"ObjectOwnership": mode}})


async def handle_delete_bucket_ownership_controls(ctx: S3Context) -> web.StreamResponse:
    return await save(ctx, access_state.ownership_system(None), 204)
