"""dnsmasq's command line and files: static leases only, one bridge, no DNS."""

from __future__ import annotations

from pathlib import Path

from compute_glue.networks.dhcp import DhcpHost, DhcpSubnet, _argv, _host_line, _opts_lines


def test_dnsmasq_serves_only_known_macs_on_its_bridge(tmp_path: Path) -> None:
    sub = DhcpSubnet("6f1c2d3e-aaaa-bbbb-cccc-123456789abc", "10.9.8.0/24", "10.9.8.1", 1400)
    argv = _argv("dnsmasq", tmp_path, "stb0123456789", [sub])
    assert "--interface=stb0123456789" in argv and "--bind-interfaces" in argv
    assert "--port=0" in argv and "--conf-file=/dev/null" in argv
    assert f"--dhcp-hostsfile={tmp_path / 'host'}" in argv
    assert "--dhcp-range=set:s6f1c2d3eaaaa,10.9.8.0,static,255.255.255.0,86400s" in argv
    assert _host_line(DhcpHost("fa:16:3e:00:00:01", "10.9.8.5")) == (
        "fa:16:3e:00:00:01,host-10-9-8-5,10.9.8.5\n"
    )
    opts = _opts_lines(sub).splitlines()
    assert opts == ["tag:s6f1c2d3eaaaa,option:router,10.9.8.1", "tag:s6f1c2d3eaaaa,option:mtu,1400"]
