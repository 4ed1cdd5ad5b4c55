"""Bucket and object ACLs: canned ACLs and simple grants, shared with Swift.

A bucket's ACL *is* its container's Swift ACL pair (``read-acl`` /
``write-acl``), so what S3 grants the native API honours and the other way
round: ``public-read`` is ``.r:*,.rlistings``, ``authenticated-read`` is
``*:*``, a grant to a canonical user ``project:user`` is that Swift item.
The canned name is kept beside it (``s3-acl``) so GetBucketAcl can answer
in S3's terms; ``public-read-write`` also lets anonymous callers write,
which Swift's ACLs cannot say. Object ACLs are canned only and kept with
the object (``s3-acl``).

Canonical user IDs are ``<project>`` for an account's owner and
``<project>:<user>`` for a user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy.acl import Acl
from s3compat import namespace, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error
from stratus.identity import Principal

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore

ACL_KEY = "s3-acl"
CANNED = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PUBLIC_READ = ".r:*,.rlistings"
PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP")


def owner_of(account: str) -> dict[str, str]:
    project = account.removeprefix("AUTH_")
    return {"ID": project, "DisplayName": project}


@dataclass
class Grants:
    """A bucket ACL in neutral form: who may read and who may write."""

    canned: str = "private"
    public_read: bool = False
    public_write: bool = False
    auth_read: bool = False
    auth_write: bool = False
    readers: list[str] = field(default_factory=list)  # canonical IDs
    writers: list[str] = field(default_factory=list)

    @classmethod
    def from_canned(cls, name: str) -> Grants:
        if name not in CANNED:
            raise S3Error("InvalidArgument", f"Invalid canned ACL {name!r}")
        return cls(
            canned=name,
            public_read=name in ("public-read", "public-read-write"),
            public_write=name == "public-read-write",
            auth_read=name == "authenticated-read",
        )

    @property
    def shares(self) -> bool:
        """Does this ACL let anyone besides the owning project in?"""
        return bool(
            self.public_read
            or self.public_write
            or self.auth_read
            or self.auth_write
            or self.readers
            or self.writers
        )

    def swift_acls(self) -> tuple[str, str]:
        """(read-acl, write-acl) in Swift's syntax."""
        read = ([PUBLIC_READ] if self.public_read else []) + (["*:*"] if self.auth_read else [])
        write = ["*:*"] if self.public_write or self.auth_write else []
        return ",".join(read + self.readers), ",".join(write + self.writers)

    @classmethod
    def from_swift(cls, canned: str | None, read_acl: str, write_acl: str) -> Grants:
        read, write = Acl.parse(read_acl), Acl.parse(write_acl)
        g = cls(canned=canned or "custom")
        g.public_read = read.referrer_allowed(None)
        g.public_write = canned == "public-read-write"
        for item in read.groups:
            if item == "*:*":
                g.auth_read = True
            elif not item.startswith("."):
                g.readers.append(item)
        for item in write.groups:
            if item == "*:*":
                g.auth_write = not g.public_write
            elif not item.startswith("."):
                g.writers.append(item)
        return g

    def xml_grants(self, owner: dict[str, str]) -> list[dict[str, Any]]:
        out = [_grant({"ID": owner["ID"], "DisplayName": owner["DisplayName"]}, "FULL_CONTROL")]
        if self.public_read:
            out.append(_grant({"URI": ALL_USERS}, "READ", "Group"))
        if self.public_write:
            out.append(_grant({"URI": ALL_USERS}, "WRITE", "Group"))
        if self.auth_read:
            out.append(_grant({"URI": AUTH_USERS}, "READ", "Group"))
        if self.auth_write:
            out.append(_grant({"URI": AUTH_USERS}, "WRITE", "Group"))
        out += [_grant({"ID": r, "DisplayName": r}, "READ") for r in self.readers]
        out += [_grant({"ID": w, "DisplayName": w}, "WRITE") for w in self.writers]
        return out


def _grant(who: dict[str, str], perm: str, kind: str = "CanonicalUser") -> dict[str, Any]:
    return {"Grantee": {"@xmlns:xsi": XSI, "@xsi:type": kind, **who}, "Permission": perm}


def acl_document(owner: dict[str, str], grants: list[dict[str, Any]]) -> web.Response:
    return xml_response(
        "AccessControlPolicy", {"Owner": owner, "AccessControlList": {"Grant": grants}}
    )


def _check_id(ident: str) -> str:
    ident = ident.strip()
    if not ident or any(c in ident for c in ",\n\r") or ident.startswith("."):
        raise S3Error("InvalidArgument", f"Invalid canonical user id {ident!r}")
    return ident


def _grants_from_headers(ctx: S3Context) -> Grants | None:
    """x-amz-grant-read / -write / -full-control: ``id="..."`` or ``uri="..."`` items."""
    names = ("x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-full-control")
    if not any(n in ctx.headers for n in names):
        return None
    g = Grants(canned="custom")
    for header in names:
        for item in ctx.headers.get(header, "").split(","):
            kind, _, value = item.strip().partition("=")
            value = value.strip().strip('"')
            if not value:
                continue
            reads = header != "x-amz-grant-write"
            writes = header != "x-amz-grant-read"
            _apply_grantee(g, kind.strip().lower(), value, reads, writes)
    return g


def _apply_grantee(g: Grants, kind: str, value: str, reads: bool, writes: bool) -> None:
    if kind == "uri" and value == ALL_USERS:
        g.public_read |= reads
        g.public_write |= writes
    elif kind == "uri" and value == AUTH_USERS:
        g.auth_read |= reads
        g.auth_write |= writes
    elif kind == "id":
        ident = _check_id(value)
        if reads:
            g.readers.append(ident)
        if writes:
            g.writers.append(ident)
    else:
        raise S3Error("InvalidArgument", f"Unsupported grantee {kind}={value}")


async def _grants_from_body(ctx: S3Context, owner_id: str) -> Grants:
    root = await ctx.read_xml("AccessControlPolicy")
    g = Grants(canned="custom")
    for grant in root.findall("AccessControlList/Grant"):
        perm = xmlio.text(grant, "Permission")
        if perm not in PERMISSIONS:
            raise S3Error("MalformedACLError")
        grantee = grant.find("Grantee")
        if grantee is None:
            raise S3Error("MalformedACLError")
        uri, ident = xmlio.text(grantee, "URI"), xmlio.text(grantee, "ID")
        reads = perm in ("READ", "FULL_CONTROL")
        writes = perm in ("WRITE", "FULL_CONTROL")
        if uri:
            _apply_grantee(g, "uri", uri, reads, writes)
        elif ident:
            if ident != owner_id:
                _apply_grantee(g, "id", ident, reads, writes)
        else:
            raise S3Error("MalformedACLError")
    g.canned = _canned_name(g)
    return g


def _canned_name(g: Grants) -> str:
    if g.readers or g.writers or g.auth_write:
        return "custom"
    if g.public_read and g.public_write:
        return "public-read-write"
    if g.public_read and not g.auth_read:
        return "public-read"
    if g.auth_read and not g.public_read and not g.public_write:
        return "authenticated-read"
    if not (g.public_read or g.public_write or g.auth_read):
        return "private"
    return "custom"


def header_grants(ctx: S3Context) -> Grants | None:
    """The ACL a request's headers set (x-amz-acl or x-amz-grant-*), if any."""
    canned = ctx.headers.get("x-amz-acl")
    from_headers = _grants_from_headers(ctx)
    if canned is not None and from_headers is not None:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants")
    if canned is not None:
        return Grants.from_canned(canned.strip())
    if from_headers is not None:
        from_headers.canned = _canned_name(from_headers)
        return from_headers
    return None


async def requested_grants(ctx: S3Context, owner_id: str, *, body: bool) -> Grants | None:
    """The ACL a request sets: x-amz-acl, x-amz-grant-* headers, or (PutAcl) an XML body."""
    from_headers = header_grants(ctx)
    if from_headers is not None:
        return from_headers
    if body:
        return await _grants_from_body(ctx, owner_id)
    return None


def bucket_acl_system(g: Grants) -> dict[str, str]:
    """Container system metadata that stores a bucket ACL."""
    read, write = g.swift_acls()
    return {"read-acl": read, "write-acl": write, ACL_KEY: g.canned}


def object_acl_allows_read(stored: str | None, principal: Principal | None) -> bool:
    if stored in ("public-read", "public-read-write"):
        return True
    return stored == "authenticated-read" and principal is not None


async def handle_get_bucket_acl(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    info = ctx.bucket.info
    g = Grants.from_swift(info.system.get(ACL_KEY), info.read_acl, info.write_acl)
    owner = owner_of(ctx.account)
    return acl_document(owner, g.xml_grants(owner))


async def handle_put_bucket_acl(ctx: S3Context) -> web.StreamResponse:
    owner = owner_of(ctx.account)
    g = await requested_grants(ctx, owner["ID"], body=True)
    assert g is not None
    await store_bucket_acl(ctx.core, ctx.account, ctx.bucket_name, g)
    return empty(200)


async def store_bucket_acl(core: ProxyCore, account: str, bucket: str, g: Grants) -> None:
    """Replace a bucket's ACL (PutBucketAcl, and CreateBucket again in us-east-1)."""
    await core.post_container(account, bucket, system=bucket_acl_system(g))
    if g.public_read or g.public_write or g.auth_read or g.readers or g.writers:
        await namespace.claim(core, bucket, account)


def _object_grants(canned: str, owner: dict[str, str]) -> list[dict[str, Any]]:
    g = Grants.from_canned(canned if canned in CANNED else "private")
    return g.xml_grants(owner)


async def handle_get_object_acl(ctx: S3Context) -> web.StreamResponse:
    from s3compat import versioning

    info = await versioning.head_for_request(ctx)
    owner = owner_of(ctx.account)
    return acl_document(owner, _object_grants(info.system.get(ACL_KEY, "private"), owner))


async def handle_put_object_acl(ctx: S3Context) -> web.StreamResponse:
    from s3compat import access, versioning

    owner = owner_of(ctx.account)
    g = await requested_grants(ctx, owner["ID"], body=True)
    assert g is not None
    if g.canned == "custom":
        raise S3Error("NotImplemented", "Object ACLs other than canned ACLs are not implemented")
    access.check_acl_change(ctx, g, "s3:PutObjectAcl", ctx.key)
    info = await versioning.head_for_request(ctx)
    system = dict(info.system)
    system[ACL_KEY] = g.canned
    await versioning.set_system(ctx, info, system)
    return empty(200)
