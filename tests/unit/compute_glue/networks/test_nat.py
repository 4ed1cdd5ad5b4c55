"""The nftables script of outbound NAT."""

from __future__ import annotations

from compute_glue.networks.nat import ruleset


def test_ruleset_replaces_the_table_and_keeps_networks_apart() -> None:
    text = ruleset("st", [("10.0.0.0/24", "stb0123456789"), ("10.0.1.0/24", "stbabcdefabcd")])
    lines = text.splitlines()
    # Declare-then-delete-then-define: one atomic replacement whether the table exists or not.
    assert lines[:3] == [
        "table ip stratus_st",
        "delete table ip stratus_st",
        "table ip stratus_st {",
    ]
    assert '    ip saddr 10.0.0.0/24 oifname != "stb0123456789" masquerade' in lines
    assert '    ip saddr 10.0.1.0/24 oifname != "stbabcdefabcd" masquerade' in lines
    assert '    iifname "stb*" oifname "stb*" drop' in lines
    assert "masquerade" not in ruleset("st", [])
