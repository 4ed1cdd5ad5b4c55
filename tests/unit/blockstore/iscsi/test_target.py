"""Targets, names and ACLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.iscsi.target import AccessDenied, Target, make_credentials, normalize_name
from blockstore.scsi import LogicalUnit

IQN = "iqn.2024-01.org.stratus.test:vol0"


@pytest.mark.parametrize(
    "name",
    ["iqn.2024-01.org.stratus:vol0", "IQN.1994-05.COM.RedHat:abc", "eui.0123456789ABCDEF",
     "naa.52004567BA64678D", "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-inq",
     "iqn.2008-11.org.linux-kvm"],
)  # fmt: skip
def test_valid_names_normalize_to_lower_case(name: str) -> None:
    assert normalize_name(name) == name.lower()


@pytest.mark.parametrize(
    "name", ["", "vol0", "iqn.24-01.x:y", "iqn.2024-01.x y", "eui.123", "iqn.2024-01.a,b",
             "iqn.2024-01." + "a" * 300]
)  # fmt: skip
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        normalize_name(name)


def test_acl_decides_who_logs_in_and_with_what() -> None:
    t = Target(IQN)
    with pytest.raises(AccessDenied):
        t.credentials_for("iqn.2024-01.test:host")
    t.set_acl("iqn.2024-01.test:HOST", chap_user="u", chap_secret="secret-123456")
    creds = t.credentials_for("iqn.2024-01.test:host")
    assert creds is not None and creds.user == "u"
    assert t.acl() == {"iqn.2024-01.test:host": True}
    t.set_acl("iqn.2024-01.test:open")
    assert t.credentials_for("iqn.2024-01.test:open") is None
    assert t.remove_acl("iqn.2024-01.test:open") and not t.remove_acl("iqn.2024-01.test:open")
    assert not t.visible_to("iqn.2024-01.test:other")


def test_any_initiator_mode_uses_the_default_credentials() -> None:
    t = Target(IQN)
    t.allow_any_initiator = True
    assert t.credentials_for("iqn.2024-01.test:anyone") is None
    t.set_default_chap("u", "secret-123456")
    creds = t.credentials_for("iqn.2024-01.test:anyone")
    assert creds is not None and creds.secret == "secret-123456"
    with pytest.raises(AccessDenied):
        t.credentials_for("not a name")


@pytest.mark.parametrize(
    "args",
    [("u", None), (None, "s"), ("u", "s", "m", None), ("u", "s", None, "m"), (None, None, "m", "x"),
     ("u", "same", "m", "same"), ("u", "s\0")],
)  # fmt: skip
def test_bad_credentials_are_refused(args: tuple) -> None:
    with pytest.raises(ValueError):
        make_credentials(*args)


def test_luns_are_checked(tmp_path: Path) -> None:
    t = Target(IQN)
    a = LogicalUnit(tmp_path / "a.img")
    b = LogicalUnit(tmp_path / "b.img")
    t.add_lun(0, a)
    t.ensure_lun(0, a)
    with pytest.raises(ValueError):
        t.add_lun(0, b)
    with pytest.raises(ValueError):
        t.add_lun(16384, b)
    t.add_lun(7, b)
    assert a.luns() == [0, 7]  # a unit answers REPORT LUNS with the target's LUN list
    assert t.remove_lun(0) is a and t.remove_lun(0) is None
    assert b.luns() == [7]
