"""The nftables script: networks kept apart always, outbound NAT when asked."""

from __future__ import annotations

from compute_glue.networks.nat import ruleset

BRIDGES = ["stb0123456789", "stbabcdefabcd"]
SUBNETS = [("10.0.0.0/24", "stb0123456789"), ("10.0.1.0/24", "stbabcdefabcd")]


def test_ruleset_replaces_the_table_and_keeps_networks_apart() -> None:
    text = ruleset("st", BRIDGES, SUBNETS, nat=True)
    lines = text.splitlines()
    # Declare-then-delete-then-define: one atomic replacement whether the table exists or not
    # (the ip table is the one earlier versions made).
    assert lines[:5] == [
        "table ip stratus_st",
        "delete table ip stratus_st",
        "table inet stratus_st",
        "delete table inet stratus_st",
        "table inet stratus_st {",
    ]
    assert '    ip saddr 10.0.0.0/24 oifname != "stb0123456789" masquerade' in lines
    assert '    ip saddr 10.0.1.0/24 oifname != "stbabcdefabcd" masquerade' in lines
    assert '    iifname "stb*" oifname "stb*" drop' in lines
    assert '    iifname "stb0123456789" oifname "stb0123456789" accept' in lines


def test_without_nat_the_networks_are_still_kept_apart() -> None:
    text = ruleset("st", BRIDGES, SUBNETS, nat=False)
    assert "masquerade" not in text and "postrouting" not in text
    assert '    iifname "stb*" oifname "stb*" drop' in text.splitlines()
    assert "masquerade" not in ruleset("st", [], [], nat=True)


def test_metadata_requests_are_redirected_only_from_their_own_bridge_and_subnet() -> None:
    meta = [("stb0123456789", "10.0.0.0/24", "10.0.0.1")]
    lines = ruleset("st", BRIDGES, SUBNETS, nat=False, metadata=meta, metadata_port=4242)
    lines = lines.splitlines()
    assert (
        '    iifname "stb0123456789" ip saddr 10.0.0.0/24 ip daddr 169.254.169.254 tcp dport 80 '
        "dnat ip to 10.0.0.1:4242"
    ) in lines
    assert "prerouting" not in ruleset("st", BRIDGES, SUBNETS, nat=False, metadata=meta)


def test_port_security_pins_each_tap_to_its_mac_and_addresses() -> None:
    ports = [("stt0123456789", "fa:16:3e:00:00:01", ["10.0.0.5"])]
    lines = ruleset("st", BRIDGES, SUBNETS, nat=False, ports=ports).splitlines()
    at = lines.index("table bridge stratus_st {")
    assert lines[at - 2 : at] == ["table bridge stratus_st", "delete table bridge stratus_st"]
    assert '    iifname "stt0123456789" ether saddr != fa:16:3e:00:00:01 drop' in lines
    assert (
        '    iifname "stt0123456789" ether type ip ip saddr != { 10.0.0.5, 0.0.0.0 } drop' in lines
    )
    assert (
        '    iifname "stt0123456789" ether type arp arp saddr ip != { 10.0.0.5, 0.0.0.0 } drop'
        in lines
    )
    # No plugged port: the bridge table is only removed.
    assert "table bridge stratus_st {" not in ruleset("st", BRIDGES, SUBNETS, nat=False)
