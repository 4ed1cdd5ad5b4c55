"""The container ACL model both front-ends judge by."""

from __future__ import annotations

from dataclasses import dataclass

from objectstore.proxy.acl import read_granted, write_granted


@dataclass
class Who:
    project: str = "proj"
    user: str = "alice"

    @property
    def account(self) -> str:
        return "AUTH_" + self.project


def test_read_grants() -> None:
    assert read_granted("proj:alice", Who(), None, listing=True)
    assert not read_granted("proj:bob", Who(), None, listing=False)
    assert not read_granted("proj:alice", None, None, listing=False)
    assert not read_granted(None, Who(), None, listing=False)


def test_referrer_grants_list_only_with_rlistings() -> None:
    assert read_granted(".r:*", None, None, listing=False)
    assert not read_granted(".r:*", None, None, listing=True)
    assert read_granted(".r:*,.rlistings", None, None, listing=True)
    assert not read_granted(".r:.example.com", None, "http://example.org/", listing=False)


def test_write_grants_need_a_principal() -> None:
    assert write_granted("*:*", Who())
    assert not write_granted("*:*", None)
    assert not write_granted("other:*", Who())
