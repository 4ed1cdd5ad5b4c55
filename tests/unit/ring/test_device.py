from __future__ import annotations

import pytest

from ring import Device, RingBuilderError
from ring.device import validate_device


def _dev(**kw) -> Device:
    base = dict(id=1, region=1, zone=2, ip="10.0.0.1", port=6200, device="sdb", weight=100)
    base.update(kw)
    return Device(**base)


def test_valid_device_is_normalised() -> None:
    dev = validate_device(_dev(ip="FE80::1", weight=3))
    assert dev.ip == "fe80::1"
    assert dev.weight == 3.0 and isinstance(dev.weight, float)
    assert dev.label == "r1z2-[fe80::1]:6200/sdb"
    assert Device.from_dict(dev.to_dict()) == dev


@pytest.mark.parametrize(
    "bad",
    [
        {"id": -1},
        {"id": 0xFFFF},
        {"region": -1},
        {"zone": 1.5},
        {"port": 0},
        {"port": 70000},
        {"ip": ""},
        {"ip": "not a host!"},
        {"ip": "256.1.1.1"},
        {"ip": "01.2.3.4"},
        {"ip": "10.0.1"},
        {"device": "../etc"},
        {"device": "a/b"},
        {"device": ""},
        {"weight": -1},
        {"weight": float("nan")},
        {"weight": float("inf")},
        {"weight": True},
        {"meta": "x" * 5000},
    ],
)
def test_invalid_fields_are_refused(bad: dict) -> None:
    with pytest.raises(RingBuilderError):
        validate_device(_dev(**bad))


def test_host_names_are_accepted() -> None:
    assert validate_device(_dev(ip="Storage-1.example.com")).ip == "storage-1.example.com"


def test_from_dict_reports_missing_fields() -> None:
    with pytest.raises(RingBuilderError, match="weight"):
        Device.from_dict({"id": 1, "region": 1, "zone": 1, "ip": "h", "port": 1, "device": "d"})
    with pytest.raises(RingBuilderError):
        Device.from_dict([1, 2])
