from __future__ import annotations

import pytest

from s3compat import acl
from s3compat.errors import S3Error
from stratus.identity import Principal


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


def _reads(stored: str | None, who: Principal | None, *, ignore: bool = False) -> bool:
    return acl.ObjectAcl.parse(stored, "alpha").permits(who, "READ", ignore_public=ignore)


def test_object_acl_reads() -> None:
    someone = Principal("p", "u", ("member",))
    assert _reads("public-read", None)
    assert not _reads("public-read", None, ignore=True)  # IgnorePublicAcls
    assert not _reads("authenticated-read", None)
    assert _reads("authenticated-read", someone)
    assert not _reads("private", someone)
    assert not _reads(None, someone)
    granted = '{"g":[["id","alpha","FULL_CONTROL"],["id","p","READ"]]}'
    assert _reads(granted, someone)
    parsed = acl.ObjectAcl.parse(granted, "alpha")
    assert not parsed.permits(someone, "READ_ACP", ignore_public=False)
    acl_only = Principal("alpha", "carol", ("acl-only",))  # the owner's grant is not hers
    assert not parsed.permits(acl_only, "READ", ignore_public=False)
    assert parsed.permits(Principal("alpha", "ada", ("admin",)), "READ", ignore_public=False)
    written = acl.ObjectAcl.parse('{"o":"p","c":"bucket-owner-read"}', "alpha")
    assert written.owner == "p"
    assert written.grants == [("id", "p", "FULL_CONTROL"), ("id", "alpha", "READ")]


def test_canned_grants_as_aws_lists_them() -> None:
    assert acl.canned_grants("public-read-write", "o", "o") == [
        ("id", "o", "FULL_CONTROL"),
        ("uri", acl.ALL_USERS, "READ"),
        ("uri", acl.ALL_USERS, "WRITE"),
    ]
    assert acl.canned_grants("bucket-owner-full-control", "w", "o")[1] == (
        "id",
        "o",
        "FULL_CONTROL",
    )
    assert len(acl.canned_grants("bucket-owner-full-control", "o", "o")) == 1


def test_grant_lists_as_flags() -> None:
    g = acl.Grants.from_list(
        [
            ("id", "alpha", "FULL_CONTROL"),
            ("id", "beta", "READ_ACP"),
            ("uri", acl.AUTH_USERS, "READ"),
        ],
        "alpha",
    )
    assert g.acp_readers == ["beta"] and g.auth_read and g.public and g.canned == "custom"
    assert g.swift_acls() == ("*:*", "")
    owner_only = acl.Grants.from_list([("id", "alpha", "FULL_CONTROL")], "alpha")
    assert owner_only.owner_only("alpha", canned_ok=()) and not owner_only.shares
