"""Address rules, interface names and MACs of networks, without touching the host."""

from __future__ import annotations

import ipaddress

import pytest

from compute_glue.errors import BadRequest, Conflict
from compute_glue.networks.model import (
    IFNAMSIZ,
    Subnet,
    allocate,
    bridge_name,
    check_mac,
    check_pools,
    default_pools,
    parse_cidr,
    random_mac,
    tap_name,
)

NET = ipaddress.IPv4Network("10.1.2.0/24")


def test_interface_names_fit_ifnamsiz_and_differ_by_kind() -> None:
    ident = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert bridge_name("stra", ident) == "strab0f1e2d3c4b"
    assert tap_name("st", ident) == "stt0f1e2d3c4b"
    assert len(bridge_name("abcd", ident)) <= IFNAMSIZ


def test_default_pools_go_around_the_gateway() -> None:
    gw = ipaddress.IPv4Address("10.1.2.1")
    assert default_pools(NET, gw) == [{"start": "10.1.2.2", "end": "10.1.2.254"}]
    mid = ipaddress.IPv4Address("10.1.2.100")
    assert default_pools(NET, mid) == [
        {"start": "10.1.2.1", "end": "10.1.2.99"},
        {"start": "10.1.2.101", "end": "10.1.2.254"},
    ]
    assert default_pools(NET, None) == [{"start": "10.1.2.1", "end": "10.1.2.254"}]


def test_pools_are_checked() -> None:
    gw = ipaddress.IPv4Address("10.1.2.1")
    ok = check_pools(NET, [{"start": "10.1.2.50", "end": "10.1.2.60"},
                           {"start": "10.1.2.10", "end": "10.1.2.20"}], gw)  # fmt: skip
    assert [p["start"] for p in ok] == ["10.1.2.10", "10.1.2.50"]
    with pytest.raises(Conflict):
        check_pools(NET, [{"start": "10.1.2.1", "end": "10.1.2.5"}], gw)
    for bad in (
        [{"start": "10.1.2.10", "end": "10.1.2.5"}],
        [{"start": "10.1.2.10", "end": "10.1.3.5"}],
        [{"start": "10.1.2.0", "end": "10.1.2.5"}],
        [{"start": "10.1.2.10", "end": "10.1.2.20"}, {"start": "10.1.2.15", "end": "10.1.2.30"}],
        [],
        "x",
    ):
        with pytest.raises(BadRequest):
            check_pools(NET, bad, gw)


def test_allocate_takes_the_lowest_free_address_then_runs_out() -> None:
    sub = Subnet("s", "n", "p", "10.1.2.0/24", "10.1.2.1",
                 [{"start": "10.1.2.10", "end": "10.1.2.11"}])  # fmt: skip
    assert allocate(sub, set()) == "10.1.2.10"
    assert allocate(sub, {"10.1.2.10"}) == "10.1.2.11"
    with pytest.raises(Conflict):
        allocate(sub, {"10.1.2.10", "10.1.2.11"})


@pytest.mark.parametrize("cidr", ["10.1.2.3/24", "::1/64", "10.0.0.0/7", "10.0.0.0/31", 5, "x"])
def test_bad_cidrs(cidr) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequest):
        parse_cidr(cidr)


def test_macs() -> None:
    mac = random_mac()
    assert mac.startswith("fa:16:3e:") and check_mac(mac.upper()) == mac
    for bad in ("01:00:5e:00:00:01", "00:00:00:00:00:00", "fa:16:3e:00:00", 7):
        with pytest.raises(BadRequest):
            check_mac(bad)
