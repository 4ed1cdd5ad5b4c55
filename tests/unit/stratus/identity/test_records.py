from __future__ import annotations

import msgpack
import pytest

from stratus.identity.errors import IdentityError
from stratus.identity.records import Principal, Project, User, decode, encode


def test_round_trip_with_version_byte() -> None:
    raw = encode({"a": 1, "b": b"\x00\xff", "c": "x"})
    assert raw[0] == 1
    assert decode(raw, "thing") == {"a": 1, "b": b"\x00\xff", "c": "x"}


def test_unknown_version_and_corruption_are_errors() -> None:
    body = msgpack.packb({"a": 1})
    with pytest.raises(IdentityError, match="unknown format version 2"):
        decode(bytes([2]) + body, "user")
    with pytest.raises(IdentityError, match="empty"):
        decode(b"", "user")
    with pytest.raises(IdentityError, match="corrupt"):
        decode(bytes([1]) + b"\xc1", "user")
    with pytest.raises(IdentityError, match="not a map"):
        decode(bytes([1]) + msgpack.packb([1, 2]), "user")


def test_principal_roles() -> None:
    admin = Principal("p", "a", ("admin",))
    member = Principal("p", "m", ("member",))
    reader = Principal("p", "r", ("reader",))
    assert admin.account == "AUTH_p" and admin.name == "p:a"
    assert (admin.is_admin, admin.can_write, admin.can_read) == (True, True, True)
    assert (member.is_admin, member.can_write, member.can_read) == (False, True, True)
    assert (reader.is_admin, reader.can_write, reader.can_read) == (False, False, True)
    assert not admin.is_reseller_admin
    assert Principal("admin", "admin", ("admin",)).is_reseller_admin
    assert not Principal("admin", "bob", ("member",)).is_reseller_admin


def test_shapes() -> None:
    assert Project("p", 1.0).account == "AUTH_p"
    assert User("p", "u", "member", 1.0).spec == "p:u"
