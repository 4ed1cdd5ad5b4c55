"""Who may do what: ownership and roles, bucket policies, ACLs.

The order is AWS's: an explicit Deny in the bucket policy stops everyone
(except the owner managing the policy itself, so an owner can never lock
themselves out); the owning project's users are then judged by their role
(:func:`role_grants`: ``reader`` reads, ``member`` also writes, ``admin``
also manages: ACLs and bucket policies); anyone else needs a policy Allow or
an ACL grant. Some operations stay with the owning project whatever a
policy says (:data:`OWNER_ONLY`: the bucket policy itself, the bucket ACL,
the bucket's configuration writes and DeleteBucket), so a policy can never
hand another project the keys to the bucket. Bucket ACLs are the
container's ACLs (:mod:`objectstore.proxy.acl`), so a grant made through
either API holds in both.
Object ACLs (canned, kept with the object) are judged by the handler once
the object is found: :func:`authorize` marks the request
``object_acl_pending``; only handlers that make that check
(:data:`_OBJECT_ACL_OPS`) may rely on it, every other operation is refused
at once. A caller who may not list the bucket learns nothing of which keys
exist: a missing key answers AccessDenied (:func:`may_list`).
"""

from __future__ import annotations

import enum

from objectstore.proxy.acl import read_granted, write_granted
from s3compat import acl, namespace, policy
from s3compat.context import Bucket, S3Context
from s3compat.errors import S3Error
from s3compat.router import Permission
from stratus.identity import Principal

_READS = (Permission.NONE, Permission.READ, Permission.READ_ACP)


class Right(enum.Enum):
    """What a project role lets its holder do in the project's own buckets."""

    READ = "read"
    WRITE = "write"
    MANAGE = "manage"  # ACLs and bucket policies: who else may get in


# The one table from project role to rights. A role not named here (an
# "ACL-only" role, say) gives no rights in the project's buckets.
_ROLE_RIGHTS: dict[str, frozenset[Right]] = {
    "reader": frozenset({Right.READ}),
    "member": frozenset({Right.READ, Right.WRITE}),
    "admin": frozenset({Right.READ, Right.WRITE, Right.MANAGE}),
}

# Never granted to another project by a policy or an ACL: the policy itself
# (as on AWS, only the bucket owner's account manages it), the bucket ACL,
# the bucket's configuration writes and the bucket's deletion.
OWNER_ONLY = frozenset(
    {
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutBucketAcl",
        "PutBucketCors",
        "DeleteBucketCors",
        "PutBucketTagging",
        "DeleteBucketTagging",
        "PutBucketVersioning",
        "DeleteBucket",
    }
)
# Owner operations that need Right.MANAGE, not just Right.WRITE.
_MANAGE_OPS = frozenset({"PutBucketAcl", "PutBucketPolicy", "DeleteBucketPolicy"})
# Reads whose handler checks the object's own ACL once the object is found.
_OBJECT_ACL_OPS = frozenset({"GetObject", "HeadObject", "GetObjectAttributes", "GetObjectTagging"})
# Upload operations AWS leaves to the bucket owner and the upload's initiator
# (and, here, to whoever may write to the bucket).
INITIATOR_OPS = frozenset({"ListParts", "AbortMultipartUpload"})
# Object writes that carry an object ACL in x-amz-acl.
_ACL_CARRYING_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})


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
    """A user of the owning project with a project role (an ACL-only user is not one)."""
    p = ctx.principal
    return p is not None and p.account == bucket.account and p.can_read


def role_grants(principal: Principal | None, right: Right) -> bool:
    """Does one of ``principal``'s project roles give ``right`` in the project's buckets?"""
    if principal is None:
        return False
    return any(right in _ROLE_RIGHTS.get(role, frozenset()) for role in principal.roles)


def _owner_right(perm: Permission, op: str | None) -> Right:
    if op in _MANAGE_OPS:
        return Right.MANAGE
    return Right.READ if perm in _READS else Right.WRITE


def _acl_grants(ctx: S3Context, bucket: Bucket, perm: Permission, key: str | None) -> bool:
    info = bucket.info
    if perm == Permission.READ:
        referer = ctx.headers.get("referer")
        return read_granted(info.read_acl, ctx.principal, referer, listing=key is None)
    if perm == Permission.WRITE:
        if ctx.principal is None:
            return bucket.system.get(acl.ACL_KEY) == "public-read-write"
        return write_granted(info.write_acl, ctx.principal)
    return False


def check(
    ctx: S3Context,
    bucket: Bucket,
    perm: Permission,
    action: str,
    key: str | None = None,
    *,
    op: str | None = None,
) -> bool:
    """Allow, or raise AccessDenied; False: allowed only if the object's ACL agrees."""
    doc = policy.load(bucket.system)
    resource = policy.resource_arn(bucket.name, key)
    verdict = policy.evaluate(doc, action, resource, facts(ctx)) if doc else None
    owner = is_owner(ctx, bucket)
    if verdict == "Deny" and not (owner and action in policy.POLICY_ACTIONS):
        raise denied()
    if owner:
        if role_grants(ctx.principal, _owner_right(perm, op)):
            return True
        raise denied()
    if op in OWNER_ONLY:
        raise denied()
    acl_perm = Permission.WRITE if op in INITIATOR_OPS else perm
    if verdict == "Allow" or _acl_grants(ctx, bucket, acl_perm, key):
        return True
    if perm == Permission.READ and key is not None and op in (None, *_OBJECT_ACL_OPS):
        return False
    raise denied()


def may_list(ctx: S3Context) -> bool:
    """May the caller list the request's bucket (and so learn which keys exist)?"""
    bucket = ctx.bucket
    if bucket is None:
        return False
    doc = policy.load(bucket.system)
    resource = policy.resource_arn(bucket.name)
    verdict = policy.evaluate(doc, "s3:ListBucket", resource, facts(ctx)) if doc else None
    if verdict == "Deny":
        return False
    if is_owner(ctx, bucket):
        return role_grants(ctx.principal, Right.READ)
    return verdict == "Allow" or _acl_grants(ctx, bucket, Permission.READ, None)


def hide_missing(ctx: S3Context, err: S3Error) -> S3Error:
    """``err`` (NoSuchKey and kin) for a caller who may list the bucket, else AccessDenied."""
    return err if may_list(ctx) else denied()


def check_acl_change(ctx: S3Context, grants: acl.Grants, action: str, key: str | None) -> None:
    """An ACL that lets anyone besides the owner in needs the right to manage access.

    The owning project's ``admin`` has it; another project has it only through
    a policy Allow of the ACL action (which only an admin can have written).
    A private ACL (or bucket-owner-*) needs nothing more than the write.
    """
    if not grants.shares:
        return
    bucket = ctx.bucket
    assert bucket is not None
    doc = policy.load(bucket.system)
    resource = policy.resource_arn(bucket.name, key)
    verdict = policy.evaluate(doc, action, resource, facts(ctx)) if doc else None
    if verdict == "Deny":
        raise denied()
    if is_owner(ctx, bucket):
        if role_grants(ctx.principal, Right.MANAGE):
            return
        raise denied()
    if verdict == "Allow":
        return
    raise denied()


async def authorize(ctx: S3Context) -> None:
    """Resolve the request's bucket and decide whether the caller may proceed."""
    op = ctx.s3.op
    if op.scope == "service":
        if not role_grants(ctx.principal, Right.READ):
            raise denied()
        return
    if op.name == "CreateBucket":
        if not role_grants(ctx.principal, Right.WRITE):
            raise denied()
        grants = acl.header_grants(ctx)
        if grants is not None and grants.shares and not role_grants(ctx.principal, Right.MANAGE):
            raise denied()
        return
    ctx.bucket = await namespace.find_bucket(ctx, ctx.bucket_name)
    check_expected_owner(ctx, ctx.bucket)
    versioned = "versionId" in ctx.query
    action = policy.action_of(op.name, version=versioned)
    key = ctx.s3.key if op.scope == "object" else None
    try:
        allowed = check(ctx, ctx.bucket, op.permission, action, key, op=op.name)
    except S3Error:
        if op.name not in INITIATOR_OPS or ctx.principal is None or _policy_denies(ctx, action):
            raise
        ctx.extra["initiator_pending"] = True  # the upload's initiator may still proceed
        return
    if not allowed:
        ctx.extra["object_acl_pending"] = True
    canned = ctx.headers.get("x-amz-acl")
    if op.name in _ACL_CARRYING_WRITES and canned is not None:
        check_acl_change(ctx, acl.Grants.from_canned(canned.strip()), "s3:PutObjectAcl", key)


def check_expected_owner(
    ctx: S3Context, bucket: Bucket, header: str = "x-amz-expected-bucket-owner"
) -> None:
    """``x-amz-expected-bucket-owner``: the request is for a bucket of that owner only
    (``x-amz-source-expected-bucket-owner``: a copy's source bucket).

    The owner is named by its canonical id as ListBuckets and the ACLs show it (the
    project); another owner's bucket answers AccessDenied, as on AWS.
    """
    expected = ctx.headers.get(header)
    if expected is not None and expected.strip() != acl.owner_of(bucket.account)["ID"]:
        raise denied()


def _policy_denies(ctx: S3Context, action: str) -> bool:
    assert ctx.bucket is not None
    doc = policy.load(ctx.bucket.system)
    if not doc:
        return False
    resource = policy.resource_arn(ctx.bucket.name, ctx.s3.key)
    return policy.evaluate(doc, action, resource, facts(ctx)) == "Deny"


def initiator_of(principal: Principal | None) -> str:
    """How an upload records who began it."""
    return principal.name if principal is not None else ""


def check_initiator(ctx: S3Context, recorded: str | None) -> None:
    """For an upload operation allowed only to the initiator: is the caller it?"""
    if not ctx.extra.get("initiator_pending"):
        return
    if not recorded or recorded != initiator_of(ctx.principal):
        raise denied()


def check_object_acl(ctx: S3Context, stored_acl: str | None) -> None:
    """For a read allowed only by the object's ACL: does the ACL grant it?"""
    if not ctx.extra.get("object_acl_pending"):
        return
    if not acl.object_acl_allows_read(stored_acl, ctx.principal):
        raise denied()
