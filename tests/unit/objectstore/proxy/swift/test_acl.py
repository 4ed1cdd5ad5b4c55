"""Container ACL cleaning, parsing and evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from objectstore.proxy.acl import Acl
from objectstore.proxy.swift.acl import clean_acl


@dataclass
class Who:
    project: str
    user: str

    @property
    def account(self) -> str:
        return "AUTH_" + self.project


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("bob, sue", "bob,sue"),
        ("bob , sue", "bob,sue"),
        ("bob,,,sue", "bob,sue"),
        (".referrer : *", ".r:*"),
        (".ref:*.example.com", ".r:.example.com"),
        (".r:*, .rlistings", ".r:*,.rlistings"),
        (".r:-thief.com", ".r:-thief.com"),
        ("proj:user,proj:*", "proj:user,proj:*"),
        ("", ""),
    ],
)
def test_clean(raw: str, clean: str) -> None:
    assert clean_acl("X-Container-Read", raw) == clean


@pytest.mark.parametrize(
    "header,raw,message",
    [
        ("X-Container-Write", ".r:*", "Referrers not allowed in write ACL: '.r:*'"),
        ("X-Container-Read", ".r:", "No host/domain value after referrer"),
        ("X-Container-Read", ".r:-", "No host/domain value after referrer"),
        ("X-Container-Read", ".bad:x", "Unknown designator '.bad' in ACL"),
    ],
)
def test_clean_rejects(header: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace(".", r"\.")):
        clean_acl(header, raw)


def test_referrers() -> None:
    acl = Acl.parse(".r:*")
    assert acl.referrer_allowed(None)
    assert not acl.listings
    acl = Acl.parse(".r:.example.com,.r:-bad.example.com,.rlistings")
    assert acl.listings
    assert acl.referrer_allowed("http://www.example.com/page")
    assert not acl.referrer_allowed("http://bad.example.com/page")
    assert not acl.referrer_allowed("http://example.org/")
    assert not Acl.parse("proj:user").referrer_allowed("http://x/")


def test_grants() -> None:
    alice = Who("proj", "alice")
    assert Acl.parse("proj:alice").grants(alice)
    assert Acl.parse("proj:*").grants(alice)
    assert Acl.parse("*:alice").grants(alice)
    assert Acl.parse("*:*").grants(alice)
    assert Acl.parse("proj").grants(alice)
    assert Acl.parse("AUTH_proj").grants(alice)
    assert not Acl.parse("proj:bob,other:*,other").grants(alice)
    assert not Acl.parse(".r:*,.rlistings").grants(alice)
    assert not Acl.parse("").grants(alice)
