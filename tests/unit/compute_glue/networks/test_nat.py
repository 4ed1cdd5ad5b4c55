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
