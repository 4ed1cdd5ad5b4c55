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
from urllib.parse import parse_qsl

from objectstore.proxy.acl import effective, read_granted, write_granted
from s3compat import access_state, acl, namespace, object_owners, policy, policy_conditions
from s3compat.context import Bucket, S3Context
from s3compat.errors import S3Error
from s3compat.router import BUCKET_OPS, Permission
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
        *("PutBucketOwnershipControls", "DeleteBucketOwnershipControls"),
        *("PutPublicAccessBlock", "DeletePublicAccessBlock"),
        # Every other configuration write too (lifecycle could expire the owner's data,
        # encryption and object lock change every later write): whatever the router has.
        *(
            spec.name
            for method in ("PUT", "DELETE")
            for _sub, spec in BUCKET_OPS[method]
            if spec.permission is Permission.OWNER
        ),
    }
)
# Owner operations that need Right.MANAGE, not just Right.WRITE: who else gets in.
_MANAGE_OPS = frozenset(
    {
        "PutBucketAcl",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        *("PutBucketOwnershipControls", "DeleteBucketOwnershipControls"),
        *("PutPublicAccessBlock", "DeletePublicAccessBlock"),
    }
)
# Reads whose handler checks the object's own ACL once the object is found.
_OBJECT_ACL_OPS = frozenset({"GetObject", "HeadObject", "GetObjectAttributes", "GetObjectTagging"})
# Upload operations AWS leaves to the bucket owner and the upload's initiator
# (and, here, to whoever may write to the bucket).
INITIATOR_OPS = frozenset({"ListParts", "AbortMultipartUpload"})
# Object writes that carry an object ACL in x-amz-acl.
_ACL_CARRYING_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})


def denied() -> S3Error:
    return S3Error("AccessDenied")


# Request headers S3 offers as condition keys (``s3:<header>``).
_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-content-sha256",
    "if-match",
    "if-none-match",
)
_LOCK_KEYS = {
    "x-amz-object-lock-mode": "s3:object-lock-mode",
    "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold",
}


def _auth_facts(ctx: S3Context) -> dict[str, str]:
    q = ctx.query
    if ctx.principal is None:
        return {}
    query = "X-Amz-Signature" in q or "Signature" in q
    v4 = ctx.sigv4 is not None or "X-Amz-Signature" in q
    return {
        "s3:authtype": "REST-QUERY-STRING" if query else "REST-HEADER",
        "s3:signatureversion": "AWS4-HMAC-SHA256" if v4 else "AWS",
    }


def facts(ctx: S3Context) -> policy.RequestFacts:
    """What a bucket policy's principals and conditions are matched against."""
    p = ctx.principal
    now = ctx.settings.clock()
    values: dict[str, policy_conditions.Value] = {
        "aws:referer": ctx.headers.get("referer", ""),
        "aws:useragent": ctx.headers.get("user-agent", ""),
        "aws:principaltype": "Anonymous" if p is None else "User",
        "aws:currenttime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now.timestamp())),
        **_auth_facts(ctx),
    }
    if not values["aws:referer"]:
        del values["aws:referer"]
    for name in ("prefix", "delimiter", "max-keys"):
        if name in ctx.query:
            values[f"s3:{name}"] = ctx.query[name]
    if "versionId" in ctx.query:
        values["s3:versionid"] = ctx.query["versionId"]
    for header in _HEADER_KEYS:
        if header in ctx.headers:
            values[f"s3:{header}"] = ctx.headers[header]
    for header, key in _LOCK_KEYS.items():
        if header in ctx.headers:
            values[key] = ctx.headers[header]
    if "x-amz-tagging" in ctx.headers:
        tags = parse_qsl(ctx.headers["x-amz-tagging"], keep_blank_values=True)
        values["s3:requestobjecttagkeys"] = tuple(k for k, _ in tags)
        for k, v in tags:
            values[f"s3:requestobjecttag/{k.lower()}"] = v
    if ctx.bucket is not None:
        values["s3:resourceaccount"] = acl.owner_of(ctx.bucket.account)["ID"]
    values.update(ctx.extra.get("policy_facts", {}))
    return policy.RequestFacts(
        project=p.project if p is not None else None,
        user=p.user if p is not None else None,
        source_ip=ctx.request.remote or "",
        secure=ctx.request.secure,
        values=values,
    )


def verdict(ctx: S3Context, bucket: Bucket, action: str, key: str | None = None) -> str | None:
    """The bucket policy's word on this request: "Deny", "Allow" or None.

    RestrictPublicBuckets: while the policy is public, its Allows count only
    for the owning project's users.
    """
    doc = policy.load(bucket.system)
    if not doc:
        return None
    said = policy.evaluate(doc, action, policy.resource_arn(bucket.name, key), facts(ctx))
    if said == "Allow" and access_state.public_access_block(bucket.system).restrict_public_buckets:
        p = ctx.principal
        if (p is None or p.account != bucket.account) and policy.is_public(doc):
            return None
    return said


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
    system = bucket.system
    if access_state.acls_disabled(system):
        return False
    ignore = access_state.public_access_block(system).ignore_public_acls
    read_acl, write_acl = effective(info.read_acl, info.write_acl, system)
    if perm == Permission.READ:
        referer = ctx.headers.get("referer")
        return read_granted(read_acl, ctx.principal, referer, listing=key is None)
    if perm == Permission.WRITE:
        if ctx.principal is None:
            if ignore:
                return False
            g = acl.Grants.of_bucket(system, info.read_acl, info.write_acl, "")
            return g.public_write
        return write_granted(write_acl, ctx.principal)
    if perm == Permission.READ_ACP and key is None and ctx.principal is not None:
        owner_id = acl.owner_of(bucket.account)["ID"]
        g = acl.Grants.of_bucket(system, info.read_acl, info.write_acl, owner_id)
        p = ctx.principal
        return p.project in g.acp_readers or p.name in g.acp_readers
    return False


# Object operations a caller may be let into by the object's own ACL, and the
# permission the handler then checks there.
_OBJECT_ACP_OPS = frozenset({"GetObjectAcl", "PutObjectAcl"})


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
    said = verdict(ctx, bucket, action, key)
    owner = is_owner(ctx, bucket)
    if said == "Deny" and not (owner and action in policy.POLICY_ACTIONS):
        raise denied()
    if owner:
        if role_grants(ctx.principal, _owner_right(perm, op)):
            return True
        raise denied()
    if op in OWNER_ONLY:
        raise denied()
    acl_perm = Permission.WRITE if op in INITIATOR_OPS else perm
    if said == "Allow" or _acl_grants(ctx, bucket, acl_perm, key):
        return True
    if perm == Permission.READ and key is not None and op in (None, *_OBJECT_ACL_OPS):
        return False
    if key is not None and op in _OBJECT_ACP_OPS:
        return False
    raise denied()


def may_list(ctx: S3Context) -> bool:
    """May the caller list the request's bucket (and so learn which keys exist)?"""
    bucket = ctx.bucket
    if bucket is None:
        return False
    said = verdict(ctx, bucket, "s3:ListBucket")
    if said == "Deny":
        return False
    if is_owner(ctx, bucket):
        return role_grants(ctx.principal, Right.READ)
    return said == "Allow" or _acl_grants(ctx, bucket, Permission.READ, None)


def hide_missing(ctx: S3Context, err: S3Error) -> S3Error:
    """``err`` (NoSuchKey and kin) for a caller who may list the bucket, else AccessDenied."""
    return err if may_list(ctx) else denied()


def check_acl_change(
    ctx: S3Context,
    grants: acl.Grants,
    action: str,
    key: str | None,
    *,
    owners: set[str] | None = None,
) -> None:
    """An ACL that lets anyone besides the owner in needs the right to manage access.

    The owning project's ``admin`` has it; another project has it only through
    a policy Allow of the ACL action (which only an admin can have written).
    A private ACL (or bucket-owner-*) needs nothing more than the write.
    """
    bucket = ctx.bucket
    assert bucket is not None
    mine = {acl.owner_of(bucket.account)["ID"], *(owners or set())}
    if not grants.shares_beyond(mine):
        return
    said = verdict(ctx, bucket, action, key)
    if said == "Deny":
        raise denied()
    if is_owner(ctx, bucket):
        if role_grants(ctx.principal, Right.MANAGE):
            return
        raise denied()
    if said == "Allow":
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
        assert ctx.principal is not None
        grants = acl.header_grants(ctx, ctx.principal.project)
        if grants is not None and grants.shares and not role_grants(ctx.principal, Right.MANAGE):
            raise denied()
        return
    ctx.bucket = await namespace.find_bucket(ctx, ctx.bucket_name)
    check_expected_owner(ctx, ctx.bucket)
    await _existing_tag_facts(ctx, ctx.bucket)
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
    if op.name in _ACL_CARRYING_WRITES:
        owner_id = acl.owner_of(ctx.bucket.account)["ID"]
        grants = acl.header_grants(ctx, owner_id)
        if grants is not None:
            writer = {ctx.principal.project} if ctx.principal is not None else set()
            check_acl_change(ctx, grants, "s3:PutObjectAcl", key, owners=writer)
        await object_owners.note_writer(ctx)  # the writer may own it: listings then look


async def _existing_tag_facts(ctx: S3Context, bucket: Bucket) -> None:
    """``s3:ExistingObjectTag/<key>``: the object's tags, read only when the policy asks."""
    text = policy.text_of(bucket.system) or ""
    if ctx.s3.op.scope != "object" or ctx.s3.key is None or "existingobjecttag" not in text.lower():
        return
    from s3compat import meta, versioning

    try:
        info = await versioning.head_for_request(ctx)
    except S3Error:
        return
    tags = meta.decode_tags(info.system.get(meta.TAGS))
    ctx.extra["policy_facts"] = {f"s3:existingobjecttag/{k.lower()}": v for k, v in tags}


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
    return verdict(ctx, ctx.bucket, action, ctx.s3.key) == "Deny"


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
    bucket = ctx.bucket
    assert bucket is not None
    if not acl.object_acl_allows(ctx, stored_acl, bucket.system, bucket.account):
        raise denied()
