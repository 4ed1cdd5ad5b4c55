from __future__ import annotations

from types import SimpleNamespace

import pytest

from s3compat import acl
from s3compat.errors import S3Error


@pytest.mark.parametrize(
    "canned,read,write",
    [
        ("private", "", ""),
        ("public-read", ".r:*,.rlistings", ""),
        ("public-read-write", ".r:*,.rlistings", "*:*"),
        ("authenticated-read", "*:*", ""),
        ("bucket-owner-full-control", "", ""),
    ],
)
def test_canned_acls_as_swift_acls(canned: str, read: str, write: str) -> None:
    g = acl.Grants.from_canned(canned)
    assert g.swift_acls() == (read, write)
    back = acl.Grants.from_swift(canned, read, write)
    assert (back.public_read, back.public_write, back.auth_read) == (
        g.public_read,
        g.public_write,
        g.auth_read,
    )


def test_unknown_canned_acl() -> None:
    with pytest.raises(S3Error):
        acl.Grants.from_canned("world-writable")


def test_swift_acls_seen_as_grants() -> None:
    g = acl.Grants.from_swift(None, ".r:*,.rlistings,beta:bob", "gamma")
    assert g.public_read and g.readers == ["beta:bob"] and g.writers == ["gamma"]
    owner = {"ID": "alpha", "DisplayName": "alpha"}
    perms = sorted(x["Permission"] for x in g.xml_grants(owner))
    assert perms == ["FULL_CONTROL", "READ", "READ", "WRITE"]


def test_canned_names_of_grant_sets() -> None:
    assert acl._canned_name(acl.Grants(public_read=True)) == "public-read"
    assert acl._canned_name(acl.Grants(auth_read=True)) == "authenticated-read"
    assert acl._canned_name(acl.Grants()) == "private"
    assert acl._canned_name(acl.Grants(readers=["x:y"])) == "custom"


def test_object_acl_reads() -> None:
    someone = SimpleNamespace(project="p", user="u")
    assert acl.object_acl_allows_read("public-read", None)
    assert not acl.object_acl_allows_read("authenticated-read", None)
    assert acl.object_acl_allows_read("authenticated-read", someone)
    assert not acl.object_acl_allows_read("private", someone)
    assert not acl.object_acl_allows_read(None, someone)
