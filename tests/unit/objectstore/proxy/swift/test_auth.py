"""Authorization policy: owners, roles, reseller admins, ACL grants, the token cache."""

from __future__ import annotations

import pytest

from objectstore.proxy.models import ContainerInfo
from objectstore.proxy.swift import auth
from objectstore.proxy.swift.errors import SwiftError
from stratus.identity import Principal

MEMBER = Principal("proj", "alice", ("member",), 2000.0)
READER = Principal("proj", "rita", ("reader",), 2000.0)
ADMIN = Principal("admin", "admin", ("admin",), 2000.0)
OTHER = Principal("other", "bob", ("member",), 2000.0)


def _info(read: str = "", write: str = "") -> ContainerInfo:
    return ContainerInfo("c", 0, 0, system={"read-acl": read, "write-acl": write})


def _status(fn, *args, **kw) -> int:
    with pytest.raises(SwiftError) as err:
        fn(*args, **kw)
    return err.value.status


def test_owner_access() -> None:
    acc = auth.owner_access(MEMBER, "AUTH_proj")
    assert acc is not None and acc.owner and acc.writer
    acc = auth.owner_access(READER, "AUTH_proj")
    assert acc is not None and acc.owner and not acc.writer
    assert auth.owner_access(OTHER, "AUTH_proj") is None
    assert auth.owner_access(None, "AUTH_proj") is None
    assert auth.owner_access(MEMBER, "proj") is None  # not a reseller-prefixed account
    acc = auth.owner_access(ADMIN, "AUTH_anyone")
    assert acc is not None and acc.writer


def test_check_owner() -> None:
    reader = auth.owner_access(READER, "AUTH_proj")
    assert auth.check_owner(reader, READER, "GET") is reader
    assert _status(auth.check_owner, reader, READER, "PUT") == 403
    assert _status(auth.check_owner, None, None, "GET") == 401
    assert _status(auth.check_owner, None, OTHER, "GET") == 403


def test_acl_access_reads() -> None:
    info = _info(read="other:*")
    assert not auth.acl_access(OTHER, info, "GET", obj=True, referer=None).writer
    assert auth.acl_access(OTHER, info, "GET", obj=False, referer=None)  # listing by a grant
    assert _status(auth.acl_access, None, info, "GET", obj=True, referer=None) == 401
    public = _info(read=".r:*")
    assert auth.acl_access(None, public, "GET", obj=True, referer=None)
    assert _status(auth.acl_access, None, public, "GET", obj=False, referer=None) == 401
    listed = _info(read=".r:*,.rlistings")
    assert auth.acl_access(None, listed, "HEAD", obj=False, referer=None)
    assert _status(auth.acl_access, OTHER, None, "GET", obj=True, referer=None) == 403


def test_acl_access_writes() -> None:
    info = _info(write="other:bob")
    assert auth.acl_access(OTHER, info, "PUT", obj=True, referer=None).writer
    assert _status(auth.acl_access, OTHER, info, "PUT", obj=False, referer=None) == 403
    assert _status(auth.acl_access, OTHER, _info(read="other:*"), "DELETE", obj=True, referer=None)


class FakeIdentity:
    """A stand-in store: one good token, a settable clock, counted lookups."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lookups = 0

    def clock(self) -> float:
        return self.now

    def authenticate_token(self, token: str) -> Principal | None:
        self.lookups += 1
        if token != "good" or self.now >= MEMBER.expires:
            return None
        return MEMBER


def test_token_cache() -> None:
    ident = FakeIdentity()
    cache = auth.TokenCache(ident, ttl=5.0)
    assert cache.authenticate(None) is None
    assert cache.authenticate("good") is MEMBER
    assert cache.authenticate("good") is MEMBER
    assert ident.lookups == 1
    ident.now += 6
    assert cache.authenticate("good") is MEMBER
    assert ident.lookups == 2
    assert _status(cache.authenticate, "bad") == 401
    ident.now = 1999.0
    cache.authenticate("good")
    ident.now = 2000.5  # past the token's own expiry, inside the cache ttl
    assert _status(cache.authenticate, "good") == 401
