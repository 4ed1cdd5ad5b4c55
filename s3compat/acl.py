"""Bucket and object ACLs: canned ACLs and simple grants, shared with Swift.

A bucket's ACL *is* its container's Swift ACL pair (``read-acl`` /
``write-acl``), so what S3 grants the native API honours and the other way
round: ``public-read`` is ``.r:*,.rlistings``, ``authenticated-read`` is
``*:*``, a grant to a canonical user ``project:user`` is that Swift item.
The canned name is kept beside it (``s3-acl``) so GetBucketAcl can answer
in S3's terms, and grants sent as headers or XML are kept as sent
(``s3-acl-grants``) so they are returned exactly, READ_ACP and WRITE_ACP
included; ``public-read-write`` also lets anonymous callers write, which
Swift's ACLs cannot say. A Swift ACL changed later wins over the kept
grants (they no longer describe it).

Object ACLs are kept with the object (``s3-acl``): a canned name while the
bucket owner owns the object, else ``{"o": owner, "c": canned}`` or
``{"o": owner, "g": grants}``. The owner is the writing project when
another project writes under ObjectWriter (or BucketOwnerPreferred without
``bucket-owner-full-control``); under BucketOwnerEnforced ACLs are refused
(AccessControlListNotSupported) and grant nothing.

Canonical user IDs are ``<project>`` for an account's owner and
``<project>:<user>`` for a user.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy.acl import Acl
from s3compat import access_state, namespace, system_text, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error
from stratus.identity import Principal

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore

ACL_KEY = "s3-acl"
GRANTS_KEY = "s3-acl-grants"
MAX_GRANTS = 100  # AWS's limit
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
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTH_USERS, LOG_DELIVERY)
PUBLIC_GROUPS = (ALL_USERS, AUTH_USERS)
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PUBLIC_READ = ".r:*,.rlistings"
PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP")
FULL = "FULL_CONTROL"
# A grant: ("id", canonical id, permission) or ("uri", group URI, permission).
Grant = tuple[str, str, str]
_HEADER_PERMS = {
    "x-amz-grant-read": "READ",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write-acp": "WRITE_ACP",
    "x-amz-grant-full-control": FULL,
}


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
    acp_readers: list[str] = field(default_factory=list)  # READ_ACP (or FULL_CONTROL)
    acp_writers: list[str] = field(default_factory=list)
    exact: list[Grant] | None = None  # the grants as sent (None: a canned ACL)

    @classmethod
    def from_list(cls, grants: list[Grant], owner_id: str) -> Grants:
        """Grants sent as headers or XML; the owner's own grants change nothing."""
        g = cls(canned="custom", exact=list(grants))
        for kind, value, perm in grants:
            reads, writes = perm in ("READ", FULL), perm in ("WRITE", FULL)
            if kind == "uri" and value == ALL_USERS:
                g.public_read |= reads
                g.public_write |= writes
            elif kind == "uri" and value == AUTH_USERS:
                g.auth_read |= reads
                g.auth_write |= writes
            elif kind == "id" and value != owner_id:
                for wanted, names in (
                    (reads, g.readers),
                    (writes, g.writers),
                    (perm in ("READ_ACP", FULL), g.acp_readers),
                    (perm in ("WRITE_ACP", FULL), g.acp_writers),
                ):
                    if wanted and value not in names:
                        names.append(value)
        g.canned = _canned_name(g)
        return g

    def shares_beyond(self, owners: set[str]) -> bool:
        """Does this ACL let anyone in besides ``owners`` (canonical ids)?"""
        if self.exact is None:
            return self.shares
        return any(kind == "uri" or v not in owners for kind, v, _ in self.exact)

    @property
    def public(self) -> bool:
        """Grants to AllUsers or AuthenticatedUsers (what Block Public Access calls public)."""
        if self.exact is not None:
            return any(kind == "uri" and v in PUBLIC_GROUPS for kind, v, _ in self.exact)
        return self.public_read or self.public_write or self.auth_read or self.auth_write

    def owner_only(self, owner_id: str, *, canned_ok: tuple[str, ...]) -> bool:
        """Does this ACL give full control to the bucket owner and nothing to anyone else?"""
        if self.exact is None:
            return self.canned in canned_ok
        return bool(self.exact) and all(
            kind == "id" and v == owner_id and p == FULL for kind, v, p in self.exact
        )

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
            or self.acp_readers
            or self.acp_writers
        )

    def swift_acls(self) -> tuple[str, str]:
        """(read-acl, write-acl) in Swift's syntax."""
        read = ([PUBLIC_READ] if self.public_read else []) + (["*:*"] if self.auth_read else [])
        write = ["*:*"] if self.public_write or self.auth_write else []
        return ",".join(read + self.readers), ",".join(write + self.writers)

    @classmethod
    def of_bucket(
        cls, system: Mapping[str, str], read_acl: str, write_acl: str, owner_id: str
    ) -> Grants:
        """A bucket's ACL: the grants as sent while they still describe its Swift ACLs."""
        kept = system_text.text_of(system, GRANTS_KEY)
        if kept:
            g = cls.from_list(_decode_grants(kept), owner_id)
            if g.swift_acls() == (read_acl, write_acl):
                return g
        return cls.from_swift(system.get(ACL_KEY), read_acl, write_acl)

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
        if self.exact is not None:
            return [xml_grant(g) for g in self.exact]
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


def xml_grant(grant: Grant) -> dict[str, Any]:
    kind, value, perm = grant
    if kind == "uri":
        return _grant({"URI": value}, perm, "Group")
    return _grant({"ID": value, "DisplayName": value}, perm)


def canned_grants(name: str, owner_id: str, bucket_owner: str) -> list[Grant]:
    """A canned ACL as the grants AWS gives it (``owner_id``: the resource's owner)."""
    out: list[Grant] = [("id", owner_id, FULL)]
    if name in ("public-read", "public-read-write"):
        out.append(("uri", ALL_USERS, "READ"))
    if name == "public-read-write":
        out.append(("uri", ALL_USERS, "WRITE"))
    if name == "authenticated-read":
        out.append(("uri", AUTH_USERS, "READ"))
    if name == "log-delivery-write":
        out += [("uri", LOG_DELIVERY, "WRITE"), ("uri", LOG_DELIVERY, "READ_ACP")]
    if name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner != owner_id:
        out.append(("id", bucket_owner, "READ" if name == "bucket-owner-read" else FULL))
    return out


def acl_document(owner: dict[str, str], grants: list[dict[str, Any]]) -> web.Response:
    return xml_response(
        "AccessControlPolicy", {"Owner": owner, "AccessControlList": {"Grant": grants}}
    )


def _check_id(ctx: S3Context, ident: str) -> str:
    """A canonical user id: ``project`` or ``project:user`` of a project that exists."""
    ident = ident.strip()
    project = ident.partition(":")[0]
    bad = not project or any(c in ident for c in ",\n\r/ ") or ident.startswith(".")
    if not bad:
        try:
            ctx.identity.get_project(project)
        except Exception:  # NotFound, or a name the identity store refuses
            bad = True
    if bad:
        raise S3Error("InvalidArgument", "Invalid id", extra={"ArgumentName": "CanonicalUser/ID"})
    return ident


def _grantee(ctx: S3Context, kind: str, value: str, perm: str) -> Grant:
    if kind == "emailaddress":
        raise S3Error("UnresolvableGrantByEmailAddress", extra={"EmailAddress": value})
    if kind == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", extra={"ArgumentName": "uri"})
        return ("uri", value, perm)
    if kind == "id":
        return ("id", _check_id(ctx, value), perm)
    raise S3Error("InvalidArgument", f"Unsupported grantee {kind}={value}")


def _grants_from_headers(ctx: S3Context) -> list[Grant] | None:
    """x-amz-grant-*: ``id="..."``, ``uri="..."`` or ``emailAddress="..."`` items."""
    if not any(n in ctx.headers for n in _HEADER_PERMS):
        return None
    out: list[Grant] = []
    for header, perm in _HEADER_PERMS.items():
        for item in ctx.headers.get(header, "").split(","):
            kind, _, value = item.strip().partition("=")
            value = value.strip().strip('"')
            if not kind.strip() and not value:
                continue
            out.append(_grantee(ctx, kind.strip().lower(), value, perm))
    return out


async def _grants_from_body(ctx: S3Context, owner_id: str) -> Grants:
    root = await ctx.read_xml("AccessControlPolicy")
    out: list[Grant] = []
    for grant in root.findall("AccessControlList/Grant"):
        perm = xmlio.text(grant, "Permission")
        grantee = grant.find("Grantee")
        if perm not in PERMISSIONS or grantee is None:
            raise S3Error("MalformedACLError")
        xsi_type = next((v for k, v in grantee.attrib.items() if k.endswith("type")), "")
        uri, ident = xmlio.text(grantee, "URI"), xmlio.text(grantee, "ID")
        email = xmlio.text(grantee, "EmailAddress")
        if email or xsi_type == "AmazonCustomerByEmail":
            out.append(_grantee(ctx, "emailaddress", email or "", perm))
        elif uri:
            out.append(_grantee(ctx, "uri", uri.strip(), perm))
        elif ident:
            out.append(_grantee(ctx, "id", ident, perm))
        else:
            raise S3Error("MalformedACLError")
    if len(out) > MAX_GRANTS:
        raise S3Error("MalformedACLError", f"At most {MAX_GRANTS} grants")
    return Grants.from_list(out, owner_id)


def _canned_name(g: Grants) -> str:
    if g.readers or g.writers or g.auth_write or g.acp_readers or g.acp_writers:
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


def header_grants(ctx: S3Context, owner_id: str) -> Grants | None:
    """The ACL a request's headers set (x-amz-acl or x-amz-grant-*), if any."""
    canned = ctx.headers.get("x-amz-acl")
    from_headers = _grants_from_headers(ctx)
    if canned is not None and from_headers is not None:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants")
    if canned is not None:
        return Grants.from_canned(canned.strip())
    if from_headers is not None:
        return Grants.from_list(from_headers, owner_id)
    return None


async def requested_grants(ctx: S3Context, owner_id: str, *, body: bool) -> Grants | None:
    """The ACL a request sets: x-amz-acl, x-amz-grant-* headers, or (PutAcl) an XML body."""
    from_headers = header_grants(ctx, owner_id)
    if from_headers is not None:
        return from_headers
    if body:
        return await _grants_from_body(ctx, owner_id)
    return None


def _decode_grants(text: str) -> list[Grant]:
    return [(str(k), str(v), str(p)) for k, v, p in json.loads(text)]


def _encode_grants(grants: list[Grant]) -> str:
    return json.dumps([list(g) for g in grants], separators=(",", ":"))


def bucket_acl_system(g: Grants) -> dict[str, str]:
    """Container system metadata that stores a bucket ACL, for a new bucket.

    Grants longer than one metadata value are left out: :func:`store_bucket_acl`
    writes them in parts once the bucket exists (the Swift ACLs say the same meanwhile).
    """
    read, write = g.swift_acls()
    exact = _encode_grants(g.exact) if g.exact is not None else ""
    if not system_text.fits(exact):
        exact = ""
    return {"read-acl": read, "write-acl": write, ACL_KEY: g.canned, GRANTS_KEY: exact}


def needs_parts(g: Grants) -> bool:
    """Are these grants too long for :func:`bucket_acl_system` to hold?"""
    return g.exact is not None and not system_text.fits(_encode_grants(g.exact))


def bucket_grants(
    system: Mapping[str, str], read_acl: str, write_acl: str, owner_id: str
) -> Grants:
    """The bucket's ACL as S3 shows it (just the owner's full control under BucketOwnerEnforced)."""
    if access_state.acls_disabled(system):
        return Grants(exact=[("id", owner_id, FULL)])
    return Grants.of_bucket(system, read_acl, write_acl, owner_id)


@dataclass(frozen=True)
class ObjectAcl:
    """An object's owner and grants, as kept in its ``s3-acl`` entry."""

    owner: str
    grants: list[Grant]
    bucket_owner: str = ""

    @classmethod
    def parse(cls, stored: str | None, bucket_owner: str) -> ObjectAcl:
        if not stored:
            return cls(bucket_owner, [("id", bucket_owner, FULL)], bucket_owner)
        if not stored.startswith("{"):
            name = stored if stored in CANNED else "private"
            return cls(bucket_owner, canned_grants(name, bucket_owner, bucket_owner), bucket_owner)
        doc = json.loads(stored)
        owner = str(doc.get("o") or bucket_owner)
        if "g" in doc:
            grants = [(str(k), str(v), str(p)) for k, v, p in doc["g"]]
            return cls(owner, grants, bucket_owner)
        canned = str(doc.get("c", "private"))
        return cls(owner, canned_grants(canned, owner, bucket_owner), bucket_owner)

    def permits(self, principal: Principal | None, perm: str, *, ignore_public: bool) -> bool:
        """Does a grant give ``principal`` ``perm`` (FULL_CONTROL gives every permission)?

        A grant to an owning project (the object's or the bucket's) is for its
        users with a project role: an ACL-only user needs a grant of its own.
        """
        mine: tuple[str, ...] = ()
        if principal is not None:
            owning = (self.owner, self.bucket_owner)
            if principal.can_read or principal.project not in owning:
                mine = (principal.project, principal.name)
            else:
                mine = (principal.name,)
        for kind, value, granted in self.grants:
            if granted not in (perm, FULL):
                continue
            if kind == "uri":
                if ignore_public:
                    continue
                if value == ALL_USERS or (value == AUTH_USERS and principal is not None):
                    return True
            elif value in mine:
                return True
        return False


def _stored_object_acl(g: Grants | None, owner: str, bucket_owner: str) -> str | None:
    """The ``s3-acl`` entry for an object's ACL (None: private, owned by the bucket owner)."""
    if g is None or g.exact is None:
        canned = "private" if g is None else g.canned
        if owner == bucket_owner:
            return None if canned == "private" else canned
        return json.dumps({"o": owner, "c": canned}, separators=(",", ":"))
    doc: dict[str, Any] = {"g": [list(x) for x in g.exact]}
    if owner != bucket_owner:
        doc["o"] = owner
    text = json.dumps(doc, separators=(",", ":"))
    if len(text.encode()) > 3500:
        raise S3Error("MalformedACLError", "The ACL is too large to store")
    return text


def _check_settable(ctx: S3Context, g: Grants, *, bucket_acl: bool) -> None:
    """BucketOwnerEnforced refuses ACLs; BlockPublicAcls refuses public ones."""
    bucket = ctx.bucket
    assert bucket is not None
    owner_id = owner_of(bucket.account)["ID"]
    if access_state.acls_disabled(bucket.system):
        ok = (
            ("private", "bucket-owner-full-control")
            if bucket_acl
            else ("bucket-owner-full-control",)
        )
        if not g.owner_only(owner_id, canned_ok=ok):
            raise S3Error("AccessControlListNotSupported")
    if g.public and access_state.public_access_block(bucket.system).block_public_acls:
        raise S3Error("AccessDenied")


def object_acl_for_write(ctx: S3Context) -> str | None:
    """The ``s3-acl`` entry a new object gets (PutObject, CopyObject, uploads, POST forms).

    The writing project owns what it writes into another project's bucket, as
    under AWS's ObjectWriter, unless the bucket says otherwise.
    """
    bucket = ctx.bucket
    assert bucket is not None
    bucket_owner = owner_of(bucket.account)["ID"]
    g = header_grants(ctx, bucket_owner)
    if g is not None:
        _check_settable(ctx, g, bucket_acl=False)
    mode = access_state.ownership(bucket.system)
    writer = ctx.principal.project if ctx.principal is not None else bucket_owner
    owner = bucket_owner
    if writer != bucket_owner and mode != access_state.BUCKET_OWNER_ENFORCED:
        preferred = mode == access_state.BUCKET_OWNER_PREFERRED
        if not (preferred and g is not None and g.canned == "bucket-owner-full-control"):
            owner = writer
    if mode == access_state.BUCKET_OWNER_ENFORCED:
        return None
    if g is not None and g.exact is not None:
        g = Grants.from_list(g.exact, owner)
    return _stored_object_acl(g, owner, bucket_owner)


def object_acl_allows(
    ctx: S3Context, stored: str | None, system: Mapping[str, str], account: str, perm: str = "READ"
) -> bool:
    """Does the object's ACL give the caller ``perm`` (ACLs off: never)?"""
    if access_state.acls_disabled(system):
        return False
    ignore = access_state.public_access_block(system).ignore_public_acls
    acl = ObjectAcl.parse(stored, owner_of(account)["ID"])
    return acl.permits(ctx.principal, perm, ignore_public=ignore)


async def handle_get_bucket_acl(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    info = ctx.bucket.info
    owner = owner_of(ctx.account)
    g = bucket_grants(info.system, info.read_acl, info.write_acl, owner["ID"])
    return acl_document(owner, g.xml_grants(owner))


async def handle_put_bucket_acl(ctx: S3Context) -> web.StreamResponse:
    owner = owner_of(ctx.account)
    g = await requested_grants(ctx, owner["ID"], body=True)
    assert g is not None
    _check_settable(ctx, g, bucket_acl=True)
    assert ctx.bucket is not None
    await store_bucket_acl(ctx.core, ctx.account, ctx.bucket_name, g, ctx.bucket.system)
    return empty(200)


async def store_bucket_acl(
    core: ProxyCore, account: str, bucket: str, g: Grants, system: Mapping[str, str]
) -> None:
    """Replace a bucket's ACL (PutBucketAcl, CreateBucket again in us-east-1, long grants
    of a new bucket); ``system``: the bucket's metadata as it was."""
    read, write = g.swift_acls()
    others = {"read-acl": read, "write-acl": write, ACL_KEY: g.canned}
    exact = _encode_grants(g.exact) if g.exact is not None else ""
    await system_text.write(core, account, bucket, GRANTS_KEY, exact, system, also=others)
    if g.shares:
        await namespace.claim(core, bucket, account)


def _check_object_acp(ctx: S3Context, stored: str | None, perm: str) -> None:
    """For a caller let in only by the object's ACL: READ_ACP / WRITE_ACP granted?"""
    from s3compat import access

    if not ctx.extra.get("object_acl_pending"):
        return
    assert ctx.bucket is not None
    if not object_acl_allows(ctx, stored, ctx.bucket.system, ctx.bucket.account, perm):
        raise access.denied()


async def handle_get_object_acl(ctx: S3Context) -> web.StreamResponse:
    from s3compat import versioning

    assert ctx.bucket is not None
    info = await versioning.head_for_request(ctx)
    stored = info.system.get(ACL_KEY)
    _check_object_acp(ctx, stored, "READ_ACP")
    bucket_owner = owner_of(ctx.account)["ID"]
    if access_state.acls_disabled(ctx.bucket.system):
        acl = ObjectAcl(bucket_owner, [("id", bucket_owner, FULL)], bucket_owner)
    else:
        acl = ObjectAcl.parse(stored, bucket_owner)
    owner = {"ID": acl.owner, "DisplayName": acl.owner}
    return acl_document(owner, [xml_grant(g) for g in acl.grants])


async def handle_put_object_acl(ctx: S3Context) -> web.StreamResponse:
    from s3compat import access, versioning

    assert ctx.bucket is not None
    bucket_owner = owner_of(ctx.account)["ID"]
    info = await versioning.head_for_request(ctx)
    stored = info.system.get(ACL_KEY)
    _check_object_acp(ctx, stored, "WRITE_ACP")
    current = ObjectAcl.parse(stored, bucket_owner)
    g = await requested_grants(ctx, current.owner, body=True)
    assert g is not None
    _check_settable(ctx, g, bucket_acl=False)
    access.check_acl_change(ctx, g, "s3:PutObjectAcl", ctx.key, owners={current.owner})
    system = dict(info.system)
    value = _stored_object_acl(g, current.owner, bucket_owner)
    if access_state.acls_disabled(ctx.bucket.system) or value is None:
        system.pop(ACL_KEY, None)
    else:
        system[ACL_KEY] = value
    await versioning.set_system(ctx, info, system)
    return empty(200)
