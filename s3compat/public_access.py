"""Get/Put/DeletePublicAccessBlock and GetBucketPolicyStatus.

The four settings are AWS's, enforced where AWS enforces them:
``BlockPublicAcls`` refuses (AccessDenied) PutBucketAcl, PutObjectAcl and
object writes that carry a public ACL (a grant to AllUsers or
AuthenticatedUsers); ``IgnorePublicAcls`` makes public ACLs of the bucket
and its objects grant nothing (the container's public ACL items too, for the native
API); ``BlockPublicPolicy`` refuses a public
bucket policy (:func:`s3compat.policy.is_public`); ``RestrictPublicBuckets``
lets a public policy's Allows count only for the owning project's users
(:func:`s3compat.access.verdict`). Settings already in force are not
undone by a later change of ACL or policy, and nothing stored is changed
by turning them on, as on AWS. There is no account-wide setting.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from aiohttp import web

from s3compat import access_state, policy, xmlio
from s3compat.context import S3Context, xml_response
from s3compat.errors import S3Error
from s3compat.ownership import save


def _flag(root: Element, name: str) -> bool:
    value = xmlio.text(root, name)
    if value is None:
        return False
    value = value.strip().lower()
    if value not in ("true", "false"):
        raise S3Error("MalformedXML")
    return value == "true"


async def handle_put_public_access_block(ctx: S3Context) -> web.StreamResponse:
    root = await ctx.read_xml("PublicAccessBlockConfiguration")
    fields = access_state.PublicAccessBlock.FIELDS
    settings = access_state.PublicAccessBlock(*(_flag(root, f) for f in fields))
    return await save(ctx, access_state.public_access_block_system(settings), 200)


async def handle_get_public_access_block(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    if not access_state.has_public_access_block(ctx.bucket.system):
        raise S3Error("NoSuchPublicAccessBlockConfiguration", extra={"BucketName": ctx.bucket_name})
    settings = access_state.public_access_block(ctx.bucket.system)
    body = {k: "true" if v else "false" for k, v in settings.as_dict().items()}
    return xml_response("PublicAccessBlockConfiguration", body)


async def handle_delete_public_access_block(ctx: S3Context) -> web.StreamResponse:
    return await save(ctx, access_state.public_access_block_system(None), 204)


async def handle_get_bucket_policy_status(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    doc = policy.load(ctx.bucket.system)
    if not doc:
        raise S3Error("NoSuchBucketPolicy", extra={"BucketName": ctx.bucket_name})
    public = "true" if policy.is_public(doc) else "false"
    return xml_response("PolicyStatus", {"IsPublic": public})
