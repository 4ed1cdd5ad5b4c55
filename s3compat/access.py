"""Who may do what: ownership and roles, bucket policies, ACLs.

The order is AWS's: an explicit Deny in the bucket policy stops everyone
(except the owner managing the policy itself, so an owner can never lock
themselves out); the owning project's users are then judged by their role
(``reader`` reads, ``member`` and ``admin`` also write); anyone else needs
a policy Allow or an ACL grant. Bucket ACLs are the container's Swift
ACLs, so a grant made through either API holds in both. Object ACLs
(canned, kept with the object) are judged by the handler once the object
is found: :func:`authorize` marks the request ``object_acl_pending``.
"""

from __future__ import annotations

from objectstore.proxy.swift.acl import Acl
from s3compat import acl, namespace, policy
from s3compat.context import Bucket, S3Context
from s3compat.errors import S3Error
from s3compat.router import Permission

_READS = (Permission.NONE, Permission.READ, Permission.READ_ACP)


def denied() -> S3Error:
    return S3Error("AccessDenied")


def facts(ctx: S3Context) -> policy.RequestFacts:
    p = ctx.principal
    values = {
        "aws:referer": ctx.headers.get("referer", ""),
        "aws:useragent": ctx.headers.get("user-agent", ""),
        "aws:principaltype": "Anonymous" if p is None else "User",
    }
    for name in ("prefix", "delimiter", "max-keys"):
        if name in ctx.query:
            values[f"s3:{name}"] = ctx.query[name]
    if "x-amz-acl" in ctx.headers:
        values["s3:x-amz-acl"] = ctx.headers["x-amz-acl"]
    return policy.RequestFacts(
        project=p.project if p is not None else None,
        user=p.user if p is not None else None,
        source_ip=ctx.request.remote or "",
        secure=ctx.request.secure,
        values=values,
    )


def is_owner(ctx: S3Context, bucket: Bucket) -> bool:
    return ctx.principal is not None and ctx.principal.account == bucket.account


def _role_allows(ctx: S3Context, perm: Permission) -> bool:
    p = ctx.principal
    assert p is not None
    return p.can_read if perm in _READS else p.can_write


def _acl_grants(ctx: S3Context, bucket: Bucket, perm: Permission, key: str | None) -> bool:
    info = bucket.info
    if perm == Permission.READ:
        read = Acl.parse(info.read_acl)
        referer = ctx.headers.get("referer")
        if ctx.principal is not None and read.grants(ctx.principal):
            return True
        # Referrer grants (public read) cover listings only with .rlistings, as in Swift.
        return read.referrer_allowed(referer) and (key is not None or read.listings)
    if perm == Permission.WRITE:
        if ctx.principal is None:
            return bucket.system.get(acl.ACL_KEY) == "public-read-write"
        return Acl.parse(info.write_acl).grants(ctx.principal)
    return False


def check(
    ctx: S3Context,
    bucket: Bucket,
    perm: Permission,
    action: str,
    key: str | None = None,
) -> bool:
    """Allow, or raise AccessDenied; False: allowed only if the object's ACL agrees."""
    doc = policy.load(bucket.system)
    resource = policy.resource_arn(bucket.name, key)
    verdict = policy.evaluate(doc, action, resource, facts(ctx)) if doc else None
    owner = is_owner(ctx, bucket)
    if verdict == "Deny" and not (owner and action in policy.POLICY_ACTIONS):
        raise denied()
    if owner:
        if _role_allows(ctx, perm):
            return True
        raise denied()
    if verdict == "Allow" or _acl_grants(ctx, bucket, perm, key):
        return True
    if perm == Permission.READ and key is not None:
        return False
    raise denied()


async def authorize(ctx: S3Context) -> None:
    """Resolve the request's bucket and decide whether the caller may proceed."""
    op = ctx.s3.op
    if op.scope == "service":
        if ctx.principal is None:
            raise denied()
        return
    if op.name == "CreateBucket":
        if ctx.principal is None or not ctx.principal.can_write:
            raise denied()
        return
    ctx.bucket = await namespace.find_bucket(ctx, ctx.bucket_name)
    versioned = "versionId" in ctx.query
    action = policy.action_of(op.name, version=versioned)
    key = ctx.s3.key if op.scope == "object" else None
    if not check(ctx, ctx.bucket, op.permission, action, key):
        ctx.extra["object_acl_pending"] = True


def check_object_acl(ctx: S3Context, stored_acl: str | None) -> None:
    """For a read allowed only by the object's ACL: does the ACL grant it?"""
    if not ctx.extra.get("object_acl_pending"):
        return
    if not acl.object_acl_allows_read(stored_acl, ctx.principal):
        raise denied()
