"""ExportSpec validation and ConnectionInfo in os-brick's shape."""

from __future__ import annotations

import pytest

from blockstore.export.base import (
    Acl,
    ConnectionInfo,
    ExportError,
    ExportSpec,
    connection_info,
    valid_iscsi_name,
)


def test_iscsi_names() -> None:
    assert valid_iscsi_name("iqn.2010-10.org.stratus:vol-1")
    assert valid_iscsi_name("iqn.1993-08.org.debian:01:abcdef")
    assert valid_iscsi_name("eui.02004567A425678D")
    assert not valid_iscsi_name("iqn.2010-13.org.stratus")
    assert not valid_iscsi_name("iqn.2010-10.Org.stratus")
    assert not valid_iscsi_name("iqn.2010-10.org.stratus:" + "x" * 300)
    assert not valid_iscsi_name("iqn.2010-10.org.stratus:with space")


def test_secrets_stay_out_of_reprs() -> None:
    acl = Acl("iqn.1993-08.org.debian:01:a", "user", "secret-0123456789")
    info = ConnectionInfo("h:3260", "iqn.2010-10.org.stratus:v", 0, "CHAP", "user", "pw-123")
    assert "secret-0123456789" not in repr(acl)
    assert "pw-123" not in repr(info)


def test_connection_info_picks_the_initiators_credentials() -> None:
    a = Acl("iqn.1993-08.org.debian:01:a", "ua", "secret-a-0123456")
    b = Acl("iqn.1993-08.org.debian:01:b", "ub", "secret-b-0123456")
    spec = ExportSpec("v1", "/v1", "iqn.2010-10.org.stratus:v1", lun=3, acls=(a, b))
    spec.validate()
    info = connection_info(spec, "10.0.0.1:3260", "iqn.1993-08.org.debian:01:b")
    assert (info.auth_username, info.auth_password, info.target_lun) == (
        "ub",
        "secret-b-0123456",
        3,
    )
    assert connection_info(spec, "p:1").auth_username == "ua"
    plain = ExportSpec("v1", "/v1", "iqn.2010-10.org.stratus:v1")
    data = connection_info(plain, "p:1").to_dict()["data"]
    assert "auth_method" not in data and data["target_portal"] == "p:1"


def test_several_portals_give_the_multipath_keys() -> None:
    spec = ExportSpec("v1", "/v1", "iqn.2010-10.org.stratus:v1", lun=2)
    data = connection_info(spec, ["10.0.0.1:3260", "10.0.1.1:3260"]).to_dict()["data"]
    assert data["target_portal"] == "10.0.0.1:3260"
    assert data["target_portals"] == ["10.0.0.1:3260", "10.0.1.1:3260"]
    assert data["target_iqns"] == ["iqn.2010-10.org.stratus:v1"] * 2
    assert data["target_luns"] == [2, 2]
    single = connection_info(spec, ["10.0.0.1:3260"]).to_dict()["data"]
    assert "target_portals" not in single
    with pytest.raises(ExportError):
        connection_info(spec, [])


def test_duplicate_initiators_are_refused() -> None:
    a = Acl("iqn.1993-08.org.debian:01:a")
    with pytest.raises(ExportError):
        ExportSpec("v1", "/v1", "iqn.2010-10.org.stratus:v1", acls=(a, a)).validate()
